"""Failback eligibility, the flap limit and fencing: pure decisions, tested without AWS."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from eni_failover import decide
from eni_failover.config import FailbackPolicy, FenceMode
from eni_failover.pair_record import PairRecord
from eni_failover.probe import ProbeResult
from eni_failover.triggers import Trigger, TriggerKind
from tests.unit.test_decide import NOW, PAIR, PRIMARY, STANDBY, TUNING, instance, interface, state

AUTO = PAIR.model_copy(update={"failback": FailbackPolicy.AUTO})
PROBED = AUTO.model_copy(update={"probe": "tcp:443"})
# Failed over, and the primary repaired (running, status checks ok).
FAILED_OVER = state(primary=instance(PRIMARY), eni=interface(STANDBY))
AFTER_AUTOMATIC = PairRecord(
    last_move_kind=TriggerKind.ALARM.value, last_move_at=NOW - timedelta(minutes=10)
)


def trigger(kind: TriggerKind = TriggerKind.ALARM) -> Trigger:
    return Trigger(
        trigger_id=f"{kind.value}:1",
        kind=kind,
        source="test",
        instance_id=PRIMARY,
        state="ALARM",
        is_failure=True,
        reason="test",
        occurred_at=NOW,
        account_id="123456789012",
        region="us-east-1",
    )


def probe(ok: bool = True, age: float = 5.0) -> ProbeResult:
    return ProbeResult(
        target="10.0.1.10:443",
        ok=ok,
        at=NOW - timedelta(seconds=age),
        latency_seconds=0.01,
        error=None if ok else "connection refused",
    )


# --- the failback watch --------------------------------------------------------------------


def test_a_healthy_primary_opens_the_window_and_holds_down() -> None:
    # Given a pair failed over automatically, its primary healthy again
    # When the sweep first looks
    watch = decide.failback_watch(AUTO, FAILED_OVER, AFTER_AUTOMATIC, NOW)
    # Then the window opens now, with the whole hold-down ahead
    assert (watch.due, watch.healthy_since, watch.remaining_seconds) == (False, NOW, 300.0)


def test_the_window_completes_after_the_hold_down() -> None:
    record = PairRecord(
        last_move_kind=TriggerKind.ALARM.value, healthy_since=NOW - timedelta(seconds=300)
    )
    watch = decide.failback_watch(AUTO, FAILED_OVER, record, NOW)
    assert watch.due
    assert "healthy without interruption" in watch.reason
    assert "300 s" in watch.reason


def test_one_unhealthy_observation_restarts_the_window() -> None:
    record = PairRecord(
        last_move_kind=TriggerKind.ALARM.value, healthy_since=NOW - timedelta(seconds=250)
    )
    impaired = state(eni=interface(STANDBY))  # the primary impaired again
    watch = decide.failback_watch(AUTO, impaired, record, NOW)
    assert (watch.due, watch.healthy_since) == (False, None)


def test_a_probed_primary_must_answer_its_own_probe_and_recently() -> None:
    record = PairRecord(
        last_move_kind=TriggerKind.PROBE.value, healthy_since=NOW - timedelta(seconds=400)
    )
    assert decide.failback_watch(PROBED, FAILED_OVER, record, NOW, primary_probe=probe()).due
    for bad in (None, probe(ok=False), probe(age=200)):
        watch = decide.failback_watch(PROBED, FAILED_OVER, record, NOW, primary_probe=bad)
        assert (watch.due, watch.healthy_since) == (False, None), bad


def test_no_failback_when_manual_paused_drilling_or_after_a_manual_move() -> None:
    since = NOW - timedelta(seconds=900)
    blocked = {
        "manual policy": (PAIR, AFTER_AUTOMATIC),
        "paused": (AUTO, PairRecord(last_move_kind="alarm", paused_at=NOW, healthy_since=since)),
        "drill": (
            AUTO,
            PairRecord(
                last_move_kind="alarm", drill_until=NOW + timedelta(minutes=5), healthy_since=since
            ),
        ),
        "manual move": (
            AUTO,
            PairRecord(last_move_kind="manual", manual_hold=True, healthy_since=since),
        ),
        "unknown last move": (AUTO, PairRecord(healthy_since=since)),
    }
    for name, (pair, record) in blocked.items():
        watch = decide.failback_watch(pair, FAILED_OVER, record, NOW)
        assert not watch.due, name
        assert watch.healthy_since is None, name


def test_a_pair_on_its_primary_is_not_watched() -> None:
    watch = decide.failback_watch(AUTO, state(), AFTER_AUTOMATIC, NOW)
    assert not watch.due
    assert watch.reason == "the pair is not failed over"


def test_only_the_failback_trigger_moves_back_automatically_and_only_to_a_healthy_primary() -> None:
    # An automatic trigger of any other kind never moves back towards the primary
    refused = decide.plan(
        pair=AUTO,
        trigger=trigger(TriggerKind.ALARM),
        state=FAILED_OVER,
        record=AFTER_AUTOMATIC,
        now=NOW,
        tuning=TUNING,
        direction=decide.Direction.TO_PRIMARY,
    )
    assert isinstance(refused, decide.Refuse)
    assert "only the failback watch" in refused.reasons[0]
    # The failback trigger does, to a healthy primary
    moved = decide.plan(
        pair=AUTO,
        trigger=trigger(TriggerKind.FAILBACK),
        state=FAILED_OVER,
        record=AFTER_AUTOMATIC,
        now=NOW,
        tuning=TUNING,
        direction=decide.Direction.TO_PRIMARY,
    )
    assert isinstance(moved, decide.Move)
    # And not if the primary is unhealthy when it looks
    unhealthy = state(eni=interface(STANDBY))
    refused = decide.plan(
        pair=AUTO,
        trigger=trigger(TriggerKind.FAILBACK),
        state=unhealthy,  # the primary impaired
        record=AFTER_AUTOMATIC,
        now=NOW,
        tuning=TUNING,
        direction=decide.Direction.TO_PRIMARY,
    )
    assert isinstance(refused, decide.Refuse)


# --- the flap limit ------------------------------------------------------------------------


def test_the_flap_limit_counts_automatic_moves_of_the_last_hour_only() -> None:
    moves = tuple(NOW - timedelta(minutes=m) for m in (70, 50, 30, 10))
    record = PairRecord(automatic_moves=moves)
    assert decide.recent_automatic_moves(record, NOW) == moves[1:]
    problem = decide.flap_limit_problem(PAIR, record, NOW)
    assert problem is not None
    assert problem.check == decide.FLAP_LIMIT
    assert "maxAutomaticMoves" in problem.reason
    assert "eni-failover resume nat" in problem.reason
    assert decide.flap_limit_problem(PAIR, PairRecord(automatic_moves=moves[2:]), NOW) is None


def test_past_the_flap_limit_an_automatic_failover_is_refused_a_manual_one_is_not() -> None:
    record = PairRecord(automatic_moves=tuple(NOW - timedelta(minutes=m) for m in (40, 20, 5)))
    impaired = state()
    automatic = decide.plan(
        pair=PAIR, trigger=trigger(), state=impaired, record=record, now=NOW, tuning=TUNING
    )
    assert isinstance(automatic, decide.Refuse)
    assert automatic.problems[0].check == decide.FLAP_LIMIT
    manual = decide.plan(
        pair=PAIR,
        trigger=trigger(TriggerKind.MANUAL),
        state=impaired,
        record=record,
        now=NOW,
        tuning=TUNING,
    )
    assert isinstance(manual, decide.Move)


# --- fencing -------------------------------------------------------------------------------


def fence(
    pair_fence: FenceMode = FenceMode.STOP,
    kind: TriggerKind = TriggerKind.ALARM,
    *,
    primary: Mapping[str, object] | None = None,
    record: PairRecord | None = None,
    direction: decide.Direction = decide.Direction.TO_STANDBY,
    asked: bool = False,
) -> decide.FenceDecision:
    pair = PAIR.model_copy(update={"fence": pair_fence})
    before = state(primary=instance(PRIMARY, **(primary or {"instance_status": "impaired"})))
    return decide.fence_decision(
        pair,
        trigger(kind),
        before,
        record or PairRecord(),
        NOW,
        direction=direction,
        operator_asked=asked,
    )


def test_an_impaired_primary_or_a_failed_probe_is_fenced_as_the_pair_says() -> None:
    assert fence(FenceMode.STOP).mode is FenceMode.STOP
    assert fence(FenceMode.ISOLATE).mode is FenceMode.ISOLATE
    # A failed probe on a primary EC2 calls healthy: fenced too
    healthy = {"instance_status": "ok"}
    assert fence(FenceMode.STOP, TriggerKind.PROBE, primary=healthy).mode is FenceMode.STOP


def test_never_fenced_when_the_rules_say_no() -> None:
    stopped = {"state": "stopped", "system_status": None, "instance_status": None}
    drilling = PairRecord(drill_until=NOW + timedelta(minutes=5))
    cases = {
        "fence none": fence(FenceMode.NONE),
        "stopped primary": fence(primary=stopped),
        "drill": fence(record=drilling),
        "manual without --fence": fence(kind=TriggerKind.MANUAL),
        "a failback": fence(direction=decide.Direction.TO_PRIMARY),
        "healthy primary, alarm": fence(primary={"instance_status": "ok"}),
    }
    for name, decision in cases.items():
        assert decision.mode is None, name
    assert fence(kind=TriggerKind.MANUAL, asked=True).mode is FenceMode.STOP
