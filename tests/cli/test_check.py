"""`eni-failover check`: the function's own verdict, each check with its reason."""

from __future__ import annotations

from tests.cli.conftest import PAIR, RunningSandbox


def test_a_healthy_pair_is_ready(sandbox: RunningSandbox) -> None:
    # Given a healthy pair
    # When the operator checks it
    ran = sandbox.run("check", PAIR)
    # Then every check passes, including EC2's DryRun of the detach and the attach
    assert ran.code == 0, ran.err
    assert f"Pair {PAIR}: READY" in ran.out
    assert "FAIL" not in ran.out
    interface = sandbox.sandbox.topology.interface_id
    assert f"PASS  detach permission ({interface})  DetachNetworkInterface would be allowed" in (
        ran.out
    )
    assert f"PASS  attach permission ({interface})  AttachNetworkInterface would be allowed" in (
        ran.out
    )
    assert "with its own permissions" in ran.out
    # And an operator's check announces nothing (only the schedule does, on a change)
    assert sandbox.subjects() == []


def test_an_impaired_standby_makes_the_pair_not_ready(sandbox: RunningSandbox) -> None:
    standby = sandbox.sandbox.topology.standby_instance_id
    sandbox.sandbox.sim.set_status(standby, system="impaired")
    ran = sandbox.run("check")
    assert ran.code == 2
    assert f"Pair {PAIR}: NOT READY" in ran.out
    assert "FAIL  standby" in ran.out
    assert "impaired status check" in ran.out


def test_check_as_json(sandbox: RunningSandbox) -> None:
    sandbox.run("pause", PAIR, "--by", "carol")
    ran = sandbox.run("--json", "check")
    assert ran.code == 2
    result = ran.json()
    assert result["ready"] is False
    [pair] = result["pairs"]
    assert pair["verdict"] == "NOT READY: automation"
    [automation] = [c for c in pair["checks"] if c["check"] == "automation"]
    assert automation["ok"] is False
    assert automation["detail"].startswith("paused by carol at ")


def test_an_inconclusive_dry_run_is_shown_and_leaves_the_pair_ready(
    sandbox: RunningSandbox,
) -> None:
    # Given EC2 answering the detach's DryRun with a state error (not a permission answer)
    sandbox.sandbox.sim.fail("DetachNetworkInterface", "IncorrectState")
    interface = sandbox.sandbox.topology.interface_id

    # When the operator checks the pair
    ran = sandbox.run("check", PAIR)

    # Then the check is INCONCLUSIVE, not FAIL, the pair is ready, and the output says why
    assert ran.code == 0, ran.err
    assert f"Pair {PAIR}: READY, 1 check(s) INCONCLUSIVE" in ran.out
    assert f"INCONCLUSIVE  detach permission ({interface})" in ran.out
    assert "EC2 answered the DryRun with IncorrectState" in ran.out
    assert "unproven, not missing" in ran.out
    assert "FAIL " not in ran.out
