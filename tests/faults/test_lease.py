"""Two different triggers for one pair: the per-pair lease lets only one of them move it.

One failure often sends two triggers: the status-check alarm and the EC2 state-change
event. They have different IDs, so idempotency (keyed on the trigger) lets both through;
only the pair's lease stands between two invocations moving the same interface at once.
Each invocation runs in its own execution environment (a thread here), against the same
EC2, state table and topics.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from eni_failover.errors import FailoverIncomplete, PairBusy
from eni_failover.pair_record import PairRecords
from eni_failover_ec2sim import CallEvent
from eni_failover_emulator.clock import ShiftedClock
from eni_failover_emulator.deployment import FakeLambdaContext, LocalDeployment
from tests.faults.views import ONE_SWAP, Delivery, Scene, facts, outcome_of, trigger_id_of
from tests.support import sns_event, state_change_message

# Far longer than a move on the simulator (well under a second), so the trigger that
# finds the pair busy waits the move out instead of giving up.
WAITS_OUT_A_MOVE = 5.0
# Four polls of the lease: the move it waits on is held until the wait is over.
GIVES_UP_SOON = 0.2
HOLD_LIMIT = 10.0  # seconds; a test that has gone wrong fails rather than hangs


def primary_failed_and_stopped(scene: Scene) -> tuple[dict[str, Any], dict[str, Any]]:
    """The primary fails its status checks and is stopped: its two triggers, as SNS
    delivers them (the alarm, and the state-change event EventBridge forwards)."""
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.ec2.stop_instances(InstanceIds=[scene.primary])
    stopped = sns_event(state_change_message(instance_id=scene.primary, state="stopped"))
    return scene.alarm(), stopped


def by_trigger(notifications: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each notification's facts, under the kind of trigger it answers (one each)."""
    told = [facts(n) for n in notifications]
    kinds = [f["trigger"]["kind"] for f in told]
    assert len(set(kinds)) == len(kinds), f"more than one notification per trigger: {kinds}"
    return dict(zip(kinds, told, strict=True))


def test_alarm_and_state_change_at_once_move_the_pair_once_and_each_tells_the_truth(
    scene: Scene,
) -> None:
    # Given a primary that failed and stopped, so that both its alarm and its state-change
    # event reach the function; each in its own execution environment, with a lease wait
    # long enough to wait out the other's move
    scene.retune(lease_wait_seconds=WAITS_OUT_A_MOVE)
    triggers = primary_failed_and_stopped(scene)
    environments = [scene.environment() for _ in triggers]
    start = threading.Barrier(len(triggers))

    def deliver_at_once(environment: LocalDeployment, event: dict[str, Any]) -> Delivery:
        start.wait(timeout=HOLD_LIMIT)
        return scene.runtime.deliver(environment, event, FakeLambdaContext())

    # When both triggers arrive at the same moment
    with ThreadPoolExecutor(max_workers=len(triggers)) as pool:
        deliveries = list(pool.map(deliver_at_once, environments, triggers))

    # Then both invocations ended normally, and the interface is on the standby
    assert [d.error for d in deliveries] == [None, None]
    assert scene.interface().instance_id == scene.standby
    # And EC2 carried out one detach and one attach
    assert scene.moves == ONE_SWAP
    # And each trigger got one notification: one made the move, the other found it made
    told = by_trigger(scene.notifications())
    assert set(told) == {"alarm", "state-change"}
    [swapped] = [f for f in told.values() if f["outcome"] == "swapped"]
    [found] = [f for f in told.values() if f["outcome"] == "already-in-place"]
    assert [s["step"] for s in swapped["steps"]] == [
        "detach requested",
        "detached",
        "attach requested",
        "attached",
    ]
    assert found["steps"] == []
    for outcome in (swapped, found):
        [interface] = outcome["interfaces"]
        assert interface["attached_to"] == scene.standby
    # And the one that waited looked only once the move was over, never mid-move
    assert datetime.fromisoformat(found["started_at"]) >= datetime.fromisoformat(
        swapped["finished_at"]
    )
    # And what each invocation returned agrees with what its trigger's notification says
    returned = {
        outcome["trigger"]["kind"]: outcome["outcome"]
        for d in deliveries
        if d.report is not None
        for outcome in d.report["outcomes"]
    }
    assert returned == {kind: f["outcome"] for kind, f in told.items()}


def test_trigger_that_cannot_get_the_lease_in_time_is_retried_and_finds_the_move_made(
    scene: Scene,
) -> None:
    # Given a primary that failed and stopped, and a lease wait shorter than the move
    scene.retune(lease_wait_seconds=GIVES_UP_SOON)
    alarm, stopped = primary_failed_and_stopped(scene)
    # And the alarm's invocation held mid-move, right after EC2 took its detach
    detaching, carry_on = threading.Event(), threading.Event()

    def hold(_: CallEvent) -> None:
        detaching.set()
        carry_on.wait(timeout=HOLD_LIMIT)

    scene.sim.on("DetachNetworkInterface", hold, times=1)
    context = FakeLambdaContext()
    with ThreadPoolExecutor(max_workers=1) as pool:
        moving = pool.submit(scene.runtime.deliver, scene.environment(), alarm, FakeLambdaContext())
        try:
            assert detaching.wait(timeout=HOLD_LIMIT)

            # When the state-change event arrives while that move is under way
            busy = scene.deliver(stopped, context)
            told_while_busy = scene.notifications()
        finally:
            carry_on.set()
        moved = moving.result(timeout=HOLD_LIMIT)

    # Then it gave up after its lease wait with PairBusy, which makes Lambda retry it,
    # and told no one anything
    assert isinstance(busy.error, PairBusy), busy
    assert told_while_busy == []
    # And the alarm's invocation made the move and said so
    assert moved.error is None
    assert [outcome_of(n) for n in scene.notifications()] == ["swapped"]
    assert scene.interface().instance_id == scene.standby

    # When Lambda retries the state-change event (its asynchronous retry keeps the
    # request ID)
    retried = scene.deliver(stopped, context)

    # Then the retry finds the interface on the standby and says so: nothing moved again
    assert retried.error is None
    [notification] = scene.notifications()
    found = facts(notification)
    assert (found["outcome"], found["trigger"]["kind"]) == ("already-in-place", "state-change")
    [interface] = found["interfaces"]
    assert interface["attached_to"] == scene.standby
    assert scene.moves == ONE_SWAP


def test_a_move_whose_lease_passed_to_another_invocation_writes_no_journal_and_moves_nothing(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the alarm's invocation has observed the failed primary and decided to move,
    # and stalls just before it writes its journal, for longer than its lease (a sandbox
    # frozen, a long GC pause: its lease expires while it still believes it holds it)
    alarm, _ = primary_failed_and_stopped(scene)
    # Past the alarm invocation's lease: its remaining time plus the reserve.
    clock = ShiftedClock(timedelta(minutes=2))
    later = LocalDeployment.create(
        scene.deployment.settings.failover,
        clients=scene.deployment.clients,
        resources=scene.deployment.resources,
        clock=clock,
    )
    stopped = sns_event(
        state_change_message(instance_id=scene.primary, state="stopped", at=clock.now())
    )
    journal = PairRecords.write_journal
    meanwhile: list[Delivery] = []
    stalls = threading.Event()

    def stalled(records: PairRecords, pair_name: str, **kwargs: Any) -> None:
        if not stalls.is_set():
            stalls.set()
            # While it stalls, the state-change event's invocation takes the expired lease
            # and makes the move, in an execution environment of its own
            with ThreadPoolExecutor(max_workers=1) as pool:
                meanwhile.append(
                    pool.submit(scene.runtime.deliver, later, stopped).result(timeout=HOLD_LIMIT)
                )
        journal(records, pair_name, **kwargs)

    monkeypatch.setattr(PairRecords, "write_journal", stalled)

    # When the stalled invocation carries on
    stale = scene.deliver(alarm)

    # Then the move was made once, by the invocation that held the lease
    [moved] = meanwhile
    assert moved.error is None
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    # And the pair's record has that move, and no journal: the mover cleared its own when
    # the move was done, and the stalled one wrote none after it
    record = PairRecords(
        scene.deployment.clients.dynamodb, scene.deployment.resources.state_table_name
    ).read("nat")
    assert record.last_move_trigger_id == trigger_id_of(stopped)
    assert (record.journal_trigger_id, record.journal) == (None, ())
    # And the stalled one said it lost the pair and moved nothing, and Lambda retries it
    told = by_trigger(scene.notifications())
    assert told["state-change"]["outcome"] == "swapped"
    assert told["alarm"]["outcome"] == "failed"
    assert "passed to another invocation" in told["alarm"]["error"]
    assert told["alarm"]["steps"] == []
    assert isinstance(stale.error, FailoverIncomplete)
