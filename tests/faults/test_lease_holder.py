"""Who holds a pair's lease, and when a lease is taken over before it expires.

The lease item records its holder: the function (by its Lambda request ID), or a CLI's
local run of the function's code (its host and process). An operator's request that finds
the pair busy is told who holds it, since and until when, and is never promised a retry.
A local run whose process is gone on this very host is provably never finishing: the next
move takes its lease over at once and resumes from the journal. Nothing else is taken over
before the lease expires: not the function, not a live process, not another host's.

Ctrl-C is KeyboardInterrupt raised right after EC2 took the detach, in the caller's own
thread (the in-process moto runs EC2's hooks there), as it reaches a local run mid-move.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from eni_failover.errors import PairBusy
from eni_failover.pair_record import HOLDER_CLI, HOLDER_FUNCTION, LeaseHolder, PairRecords
from eni_failover_ec2sim import CallEvent
from eni_failover_emulator.deployment import FakeLambdaContext, LocalDeployment
from tests.faults.views import ONE_SWAP, Killed, Scene, facts

THIS_HOST = "ops-laptop"
INTERRUPTED_PID = 4242
RERUN_PID = 5151
INTERRUPTED = LeaseHolder(kind=HOLDER_CLI, host=THIS_HOST, pid=INTERRUPTED_PID, user="ops")


def interrupt_after(scene: Scene, operation: str, error: BaseException) -> None:
    def interrupted(_: CallEvent) -> None:
        raise error

    scene.sim.on(operation, interrupted, times=1)


def request(action: str = "failover") -> dict[str, object]:
    return {"action": action, "pair": "nat", "force": True, "requested_by": "ops@ops-laptop"}


def run_locally(
    deployment: LocalDeployment,
    *,
    pid: int,
    host: str = THIS_HOST,
    alive: Callable[[int], bool],
) -> None:
    """Make `deployment` a CLI's local run: process `pid` of `host`; `alive` says which
    processes of this host live."""
    runtime = deployment.dispatcher.runtime
    runtime.local_run = LeaseHolder(kind=HOLDER_CLI, host=host, pid=pid, user="ops")
    runtime.this_host = THIS_HOST
    runtime.alive = alive


def records(scene: Scene) -> PairRecords:
    return PairRecords(
        scene.deployment.clients.dynamodb, scene.deployment.resources.state_table_name
    )


def only_the_interrupted_run_is_dead(pid: int) -> bool:
    return pid != INTERRUPTED_PID


def test_the_lease_names_the_function_by_its_request_id_and_since_when(scene: Scene) -> None:
    # Given a failed primary, and the function's invocation killed right after its detach
    scene.sim.set_status(scene.primary, instance="impaired")
    interrupt_after(scene, "DetachNetworkInterface", Killed("timed out"))
    before = datetime.now(UTC)
    with pytest.raises(Killed):
        scene.deployment.invoke(scene.alarm(), FakeLambdaContext(aws_request_id="req-1"))

    # When the pair's record is read
    lease = records(scene).read("nat").lease

    # Then the lease names the function and its request, when it was taken and until when
    assert lease is not None
    assert (lease.holder.kind, lease.holder.request_id) == (HOLDER_FUNCTION, "req-1")
    assert lease.since is not None
    assert before <= lease.since <= datetime.now(UTC) < lease.expires_at
    assert lease.holder.describe() == "the function (request req-1)"


def test_an_operator_finding_the_function_moving_is_told_who_and_never_promised_a_retry(
    scene: Scene,
) -> None:
    # Given the function's invocation holds the pair's lease (killed after its detach, its
    # lease not yet expired)
    scene.sim.set_status(scene.primary, instance="impaired")
    interrupt_after(scene, "DetachNetworkInterface", Killed("timed out"))
    with pytest.raises(Killed):
        scene.deployment.invoke(scene.alarm(), FakeLambdaContext(aws_request_id="req-1"))
    # And an operator's local run on the same host that believes every process dead: the
    # function is never provably gone, whatever this host's processes say
    scene.retune(lease_wait_seconds=0.2)
    run_locally(scene.deployment, pid=RERUN_PID, alive=lambda _pid: False)

    # When the operator asks for a failover
    busy = scene.deliver(request(), FakeLambdaContext())

    # Then nothing moved beyond the function's detach, and the lease is still the function's
    assert isinstance(busy.error, PairBusy), busy
    assert scene.moves == Counter(DetachNetworkInterface=1)
    lease = records(scene).read("nat").lease
    assert lease is not None
    assert lease.holder.request_id == "req-1"
    # And the operator is told who holds it, since and until when, and that the CLI's
    # request is not retried
    said = str(busy.error)
    assert "pair nat is being moved by the function (request req-1) since " in said
    assert f"lease until {lease.expires_at.isoformat(timespec='seconds')}" in said
    assert "a request from the CLI is never retried" in said
    assert "will be retried" not in said


def test_a_local_run_whose_process_is_gone_is_taken_over_at_once_and_the_move_resumed(
    scene: Scene,
) -> None:
    # Given an operator's local run of a failover, interrupted (Ctrl-C) right after EC2
    # took its detach: its lease and journal stay behind
    run_locally(scene.deployment, pid=INTERRUPTED_PID, alive=lambda _pid: True)
    interrupt_after(scene, "DetachNetworkInterface", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        scene.deployment.invoke(request(), FakeLambdaContext())
    left = records(scene).read("nat")
    assert left.lease is not None
    assert replace(left.lease.holder, request_id=None) == INTERRUPTED
    assert left.journal_trigger_id is not None
    assert scene.notifications() == []
    # And a rerun in a new process on the same host, which waits for no lease at all: only
    # taking the lease over lets it move, and the interrupted run's process is gone
    scene.retune(lease_wait_seconds=0)
    run_locally(scene.deployment, pid=RERUN_PID, alive=only_the_interrupted_run_is_dead)

    # When the operator runs the command again
    rerun = scene.deliver(request(), FakeLambdaContext())

    # Then it took the lease over and finished the move: the interface is on the standby,
    # after one detach (the interrupted run's) and one attach
    assert rerun.error is None, rerun
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    # And its outcome says it resumed a move, taken over from the interrupted run
    [notification] = scene.notifications()
    told = facts(notification)
    assert (told["outcome"], told["resumed"]) == ("swapped", True)
    assert any(
        f"taken over from a CLI run (ops on host {THIS_HOST}, process {INTERRUPTED_PID})" in note
        for note in told["notes"]
    ), told["notes"]
    # And the lease was given back
    assert records(scene).read("nat").lease is None


@pytest.mark.parametrize(
    ("holder_host", "alive"),
    [
        pytest.param(THIS_HOST, lambda _pid: True, id="its-process-lives"),
        pytest.param("another-host", lambda _pid: False, id="of-another-host"),
    ],
)
def test_a_local_run_not_provably_gone_keeps_its_lease(
    scene: Scene, holder_host: str, alive: Callable[[int], bool]
) -> None:
    # Given an operator's local run interrupted right after its detach, on `holder_host`
    run_locally(scene.deployment, pid=INTERRUPTED_PID, host=holder_host, alive=alive)
    interrupt_after(scene, "DetachNetworkInterface", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        scene.deployment.invoke(request(), FakeLambdaContext())
    # And another run on this host whose liveness check says so of that process: alive, or
    # (another host's pid meaning nothing here) dead
    scene.retune(lease_wait_seconds=0.2)
    run_locally(scene.deployment, pid=RERUN_PID, alive=alive)

    # When it asks for the failover
    busy = scene.deliver(request(), FakeLambdaContext())

    # Then it is refused and moved nothing: the lease stays with the run that may be moving
    assert isinstance(busy.error, PairBusy), busy
    assert scene.moves == Counter(DetachNetworkInterface=1)
    lease = records(scene).read("nat").lease
    assert lease is not None
    assert lease.holder.pid == INTERRUPTED_PID
    # And it is told whose run holds it and what to do, never promised a retry
    said = str(busy.error)
    assert f"a CLI run (ops on host {holder_host}, process {INTERRUPTED_PID}) since " in said
    assert "a request from the CLI is never retried" in said
    assert "once its process has exited" in said
