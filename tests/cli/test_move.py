"""`eni-failover failover|failback`: moves on purpose, made by the function, refused when unsafe."""

from __future__ import annotations

import re

from tests.cli.conftest import PAIR, RunningSandbox


def test_a_healthy_primary_is_not_failed_over_without_force(sandbox: RunningSandbox) -> None:
    topology = sandbox.sandbox.topology
    # Given both instances are healthy
    # When the operator asks for a failover
    ran = sandbox.run("failover", PAIR, "--by", "alice")
    # Then nothing moves, the command says why and exits 1
    assert ran.code == 1, ran.err
    assert f"Failover of pair {PAIR}: REFUSED" in ran.out
    assert "a manual failover of a healthy primary needs --force" in ran.out
    assert sandbox.where() == topology.primary_instance_id
    # And the refusal went to the notification topic like any outcome
    assert sandbox.subjects() == [f"ENI failover {PAIR}: failover refused"]


def test_dry_run_shows_the_plan_and_changes_nothing(sandbox: RunningSandbox) -> None:
    topology = sandbox.sandbox.topology
    ran = sandbox.run("failover", PAIR, "--force", "--dry-run")
    assert ran.code == 0, ran.err
    assert "the function would MOVE (nothing was changed)" in ran.out
    assert (
        f"{topology.interface_id} from {topology.primary_instance_id} to "
        f"{topology.standby_instance_id} at device index 1"
    ) in ran.out
    assert "checks --force overrides: source-healthy" in ran.out
    assert sandbox.where() == topology.primary_instance_id
    assert sandbox.subjects() == []
    # Without --force the plan is a refusal, and says so with exit code 1
    refused = sandbox.run("failover", PAIR, "--dry-run")
    assert refused.code == 1
    assert "the function would REFUSE" in refused.out


def test_forced_failover_then_failback(sandbox: RunningSandbox) -> None:
    topology = sandbox.sandbox.topology
    # When the operator forces a failover of the healthy primary (maintenance)
    ran = sandbox.run("failover", PAIR, "--force", "--by", "alice")
    # Then the interface moves, and the output names the overridden check and each step
    assert ran.code == 0, ran.err
    assert f"Failover of pair {PAIR}: SWAPPED" in ran.out
    assert "checks overridden by --force: source-healthy" in ran.out
    assert re.search(r"\+\s*\d+\.\d\d s\s+detach requested", ran.out)
    assert re.search(r"\+\s*\d+\.\d\d s\s+attached", ran.out)
    assert f"{topology.interface_id}: on {topology.standby_instance_id}" in ran.out
    assert sandbox.where() == topology.standby_instance_id
    # When the primary's work is done and they fail back
    back = sandbox.run("failback", PAIR, "--by", "alice", "--json")
    # Then it is on the primary again, and both moves were announced
    assert back.code == 0, back.err
    [outcome] = back.json()["outcomes"]
    assert (outcome["outcome"], outcome["direction"]) == ("swapped", "failback")
    assert outcome["trigger"]["reason"] == "failback requested by alice"
    assert sandbox.where() == topology.primary_instance_id
    assert sandbox.subjects() == [
        f"ENI failover {PAIR}: moved to standby {topology.standby_instance_id}",
        f"ENI failover {PAIR}: moved to primary {topology.primary_instance_id}",
    ]


def test_a_move_cut_short_exits_3_puts_the_interface_back_and_running_it_again_moves_it(
    sandbox: RunningSandbox,
) -> None:
    topology, sim = sandbox.sandbox.topology, sandbox.sandbox.sim
    ec2 = sandbox.sandbox.clients.ec2
    standby = topology.standby_instance_id
    # Given the standby is stopped just as the interface comes off the primary
    sim.on(
        "DetachNetworkInterface",
        lambda _: ec2.stop_instances(InstanceIds=[standby]) and None,
        times=1,
    )
    # When the operator fails over
    ran = sandbox.run("failover", PAIR, "--force")
    # Then the command says the move did not finish, how to go on, and exits 3
    assert ran.code == 3, ran.out
    assert f"the failover of {PAIR} did not finish" in ran.err
    assert "is no longer fit to take" in ran.err
    assert f"was put back on {topology.primary_instance_id}" in ran.err
    assert "it starts from where the interfaces are now" in ran.err
    # And the interface is back where it came from, not attached to nothing
    assert sandbox.where() == topology.primary_instance_id
    # When the standby is started and they run it again, the move is made
    sim.settle()
    ec2.start_instances(InstanceIds=[standby])
    sim.settle()
    again = sandbox.run("failover", PAIR, "--force")
    assert again.code == 0, again.err
    assert sandbox.where() == standby


def test_an_unknown_pair_is_refused_before_asking_the_function(sandbox: RunningSandbox) -> None:
    ran = sandbox.run("--json", "failback", "nope")
    assert ran.code == 4
    assert ran.json() == {
        "error": "no pair named 'nope' in stack EniFailover; configured: demo",
        "exit_code": 4,
    }
