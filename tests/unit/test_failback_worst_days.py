"""Failback on its worst days (issue 18): after a forced detach, and to a primary whose
status checks are not ok yet. Pure decisions, tested without AWS."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eni_failover import decide
from eni_failover.pair_record import PairRecord, PlannedMove
from eni_failover.triggers import TriggerKind
from tests.unit.test_decide import NOW, PRIMARY, STANDBY, TUNING, instance, interface, state
from tests.unit.test_failback_and_fence import AFTER_AUTOMATIC, AUTO, trigger

LAUNCHED = NOW - timedelta(days=3)
DETACHED_AT = NOW - timedelta(minutes=20)
# Failed over with a forced detach from the primary, which was launched three days ago.
AFTER_FORCED_DETACH = PairRecord(
    last_move_kind=TriggerKind.ALARM.value,
    last_move_at=DETACHED_AT,
    forced_detach_instance_id=PRIMARY,
    forced_detach_at=DETACHED_AT,
    forced_detach_launch_time=LAUNCHED,
)


def failback(primary_launched: object, *, manual: bool = False) -> decide.Plan:
    return decide.plan(
        pair=AUTO,
        trigger=trigger(TriggerKind.MANUAL if manual else TriggerKind.FAILBACK),
        state=state(
            primary=instance(PRIMARY, launch_time=primary_launched), eni=interface(STANDBY)
        ),
        record=AFTER_FORCED_DETACH,
        now=NOW,
        tuning=TUNING,
        direction=decide.Direction.TO_PRIMARY,
        force=manual,
    )


@pytest.mark.parametrize("manual", [False, True], ids=["automatic", "manual --force"])
def test_failback_after_a_forced_detach_waits_for_a_stop_and_start(manual: bool) -> None:
    # Given a pair failed over with a forced detach, and a primary healthy again but never
    # restarted (the same LaunchTime as then)
    # When it would fail back
    refused = failback(LAUNCHED, manual=manual)
    # Then it waits, and says for what
    assert isinstance(refused, decide.Refuse)
    [waiting] = [p for p in refused.problems if p.check == "failback"]
    assert "forcibly detached" in waiting.reason
    assert "stopped and started" in waiting.reason
    assert f"stop and start {PRIMARY}" in waiting.reason


@pytest.mark.parametrize("manual", [False, True], ids=["automatic", "manual"])
def test_failback_after_a_forced_detach_goes_once_the_primary_was_restarted(manual: bool) -> None:
    # Given the primary started again after the forced detach (a later LaunchTime)
    # When it fails back
    moved = failback(NOW - timedelta(minutes=5), manual=manual)
    # Then it moves
    assert isinstance(moved, decide.Move)


def test_without_a_launch_time_at_the_detach_the_restart_must_follow_the_detach() -> None:
    record = PairRecord(
        last_move_kind=TriggerKind.ALARM.value,
        forced_detach_instance_id=PRIMARY,
        forced_detach_at=DETACHED_AT,
    )
    before = instance(PRIMARY, launch_time=DETACHED_AT - timedelta(minutes=1))
    after = instance(PRIMARY, launch_time=DETACHED_AT + timedelta(minutes=1))
    assert decide.forced_detach_wait(record, before) is not None
    assert decide.forced_detach_wait(record, after) is None
    assert decide.forced_detach_wait(record, instance(PRIMARY)) is not None  # unknown: wait


def test_the_failback_watch_says_it_waits_for_the_restart_and_opens_no_window() -> None:
    # Given a healthy primary never restarted since the forced detach
    failed_over = state(primary=instance(PRIMARY, launch_time=LAUNCHED), eni=interface(STANDBY))
    # When the sweep watches it
    watch = decide.failback_watch(AUTO, failed_over, AFTER_FORCED_DETACH, NOW)
    # Then there is no window, and the reason is the wait
    assert (watch.due, watch.healthy_since) == (False, None)
    assert "stopped and started" in watch.reason
    # And once restarted, the window opens
    restarted = state(primary=instance(PRIMARY, launch_time=NOW), eni=interface(STANDBY))
    opened = decide.failback_watch(AUTO, restarted, AFTER_FORCED_DETACH, NOW)
    assert opened.healthy_since == NOW


@pytest.mark.parametrize("check", ["initializing", "insufficient-data"])
@pytest.mark.parametrize("manual", [False, True], ids=["automatic", "manual --force"])
def test_failback_needs_status_checks_ok_not_merely_running(check: str, manual: bool) -> None:
    # Given a failed-over pair whose primary runs, its instance check not ok yet
    primary = instance(PRIMARY, instance_status=check)
    # When it would fail back, by the failback watch's trigger or an operator's --force
    refused = decide.plan(
        pair=AUTO,
        trigger=trigger(TriggerKind.MANUAL if manual else TriggerKind.FAILBACK),
        state=state(primary=primary, eni=interface(STANDBY)),
        record=AFTER_AUTOMATIC,
        now=NOW,
        tuning=TUNING,
        direction=decide.Direction.TO_PRIMARY,
        force=manual,
    )
    # Then the interface stays on the standby, and the reason names the checks
    assert isinstance(refused, decide.Refuse), refused
    assert any(check in reason for reason in refused.reasons), refused.reasons


def test_a_resumed_move_still_knows_where_the_interface_came_from() -> None:
    # Given a previous attempt detached the interface from the primary and died
    record = PairRecord(
        journal_trigger_id="alarm:1",
        journal=(PlannedMove(interface(STANDBY).interface_id, 3, PRIMARY, STANDBY),),
    )
    # When the retry plans the rest of the move
    resumed = decide.plan(
        pair=AUTO,
        trigger=trigger(TriggerKind.ALARM),
        state=state(eni=interface(on=None)),
        record=record,
        now=NOW,
        tuning=TUNING,
    )
    # Then the plan names the primary as where it came from: if EC2 refuses the standby, the
    # interface goes back there instead of staying attached to nothing
    assert isinstance(resumed, decide.Move)
    [move] = resumed.moves
    assert (move.from_instance_id, move.device_index) == (PRIMARY, 3)
