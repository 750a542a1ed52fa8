"""What `status` and `check` flag: a failed primary that still holds the interface, the pair's
lease holder and its expiry; and `failover --fence` on a pair that has no fence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from eni_failover.pair_record import LeaseHolder, PairRecords
from eni_failover_cli.errors import ExitCode
from tests.cli.conftest import PAIR, RunningSandbox


def stopped(sandbox: RunningSandbox) -> str:
    primary = sandbox.sandbox.topology.primary_instance_id
    sandbox.sandbox.clients.ec2.stop_instances(InstanceIds=[primary])
    sandbox.sandbox.sim.settle()
    return "stopped"


def impaired(sandbox: RunningSandbox) -> str:
    primary = sandbox.sandbox.topology.primary_instance_id
    sandbox.sandbox.sim.set_status(primary, instance="impaired")
    return "impaired (system ok, instance impaired"


@pytest.mark.parametrize("fail", [stopped, impaired], ids=["stopped", "impaired"])
def test_status_and_check_flag_a_failed_primary_that_still_holds_the_interface(
    sandbox: RunningSandbox, fail: Callable[[RunningSandbox], str]
) -> None:
    topology = sandbox.sandbox.topology
    eni, primary = topology.interface_id, topology.primary_instance_id
    # Given automatic failover is paused (planned work), and the primary then fails with
    # the interface still on it
    assert sandbox.run("pause", PAIR, "--reason", "patching").code == 0
    how = fail(sandbox)
    assert sandbox.where() == primary

    # When the operator looks at the pair
    status = sandbox.run("status", PAIR)
    # Then status flags the failed primary that still holds the interface, and what to do
    assert status.code == 0, status.err
    assert f"Pair {PAIR}: interface on the primary; the primary has FAILED" in status.out
    assert f"FAILED ({how}" in status.out
    assert (
        f"still holds {eni}: nothing serves through it; `eni-failover failover {PAIR}` "
        "moves it to the standby"
    ) in status.out
    assert sandbox.run("status", PAIR, "--json").json()["pairs"][0]["failed_primary_holds"] == [eni]

    # When they ask whether the pair is ready
    check = sandbox.run("check", PAIR)
    # Then it is NOT READY, its location line saying why
    assert check.code == ExitCode.NOT_READY, check.out
    assert f"Pair {PAIR}: NOT READY" in check.out
    assert "READY\n" not in check.out.replace("NOT READY", "")
    [location] = [line for line in check.out.splitlines() if " location " in line]
    assert location.lstrip().startswith("FAIL"), location
    assert f"the primary {primary} (" in location
    assert f"has FAILED and still holds {eni}" in location


def test_status_shows_who_holds_the_lease_and_until_when(sandbox: RunningSandbox) -> None:
    # Given the function holds the pair's lease (a move under way)
    records = PairRecords(sandbox.sandbox.clients.dynamodb, sandbox.table)
    taken = records.try_acquire(
        PAIR,
        owner="req-9:manual:req-9",
        now=datetime.now(UTC),
        hold_seconds=60,
        holder=LeaseHolder(request_id="req-9"),
    )
    assert taken is not None

    # When the operator looks at the pair
    status = sandbox.run("status", PAIR)
    # Then the lease row says who holds it, since and until when
    assert status.code == 0, status.err
    [row] = [line for line in status.out.splitlines() if line.lstrip().startswith("lease ")]
    assert "HELD" in row
    assert "by the function (request req-9) since " in row
    assert ", until " in row
    assert "(in " in row
    assert "a move is under way" in row
    lease = sandbox.run("status", PAIR, "--json").json()["pairs"][0]["lease"]
    assert (lease["holder"], lease["request_id"], lease["holder_gone"]) == (
        "function",
        "req-9",
        False,
    )


def test_a_pair_without_a_lease_shows_no_lease_row(sandbox: RunningSandbox) -> None:
    status = sandbox.run("status", PAIR)
    assert status.code == 0, status.err
    assert not [line for line in status.out.splitlines() if line.lstrip().startswith("lease ")]
    assert "SERVED BY NO INSTANCE" not in status.out
    assert "FAILED" not in status.out


@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)], ids=["move", "dry-run"])
def test_fence_on_a_pair_whose_fence_is_none_is_refused_before_anything_moves(
    sandbox: RunningSandbox, dry_run: tuple[str, ...]
) -> None:
    topology = sandbox.sandbox.topology
    # Given the sandbox's pair has no fence (fence=none)
    # When the operator asks for a failover with --fence
    ran = sandbox.run("failover", PAIR, "--force", "--fence", *dry_run)
    # Then it is refused as a wrong argument, saying why and what to do instead
    assert ran.code == 2, ran.err  # ExitCode.USAGE, as argparse's own
    assert f"pair {PAIR} has no fence (its `fence` setting is none)" in ran.err
    assert "nothing moved" in ran.err
    assert f"stop or isolate the primary {topology.primary_instance_id} yourself" in ran.err
    # And nothing moved or was announced
    assert sandbox.where() == topology.primary_instance_id
    assert sandbox.subjects() == []
