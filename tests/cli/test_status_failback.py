"""What `status` says about failback, the flap limit and the fence (from the pair record)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eni_failover.pair_record import PairRecord
from eni_failover_cli.outputs import PairOutputs
from eni_failover_cli.status import _failback_text, _fence_text, after_failover

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PAIR = PairOutputs(
    name="nat",
    alarm_name="a",
    rule_name="r",
    primary_instance_id="i-0123456789abcdef0",
    standby_instance_id="i-0fedcba9876543210",
    interface_ids=("eni-0123456789abcdef0",),
    failback="auto",
    failback_after_seconds=300,
    fence="isolate",
)


def test_holding_down_with_the_remaining_time_and_the_moves_against_the_limit() -> None:
    record = PairRecord(
        healthy_since=NOW - timedelta(seconds=120),
        automatic_moves=(NOW - timedelta(minutes=90), NOW - timedelta(minutes=5)),
        fence_mode="isolate",
        fenced_at=NOW - timedelta(minutes=5),
        fenced_instance_id="i-0123456789abcdef0",
        isolated_groups=("sg-0123456789abcdef0",),
    )
    policy = after_failover(PAIR, record, NOW)
    assert policy["hold_down_remaining_seconds"] == 180.0
    assert (policy["automatic_moves_last_hour"], policy["max_automatic_moves"]) == (1, 3)
    state, text = _failback_text(policy)
    assert state == "auto"
    assert "holding down" in text
    assert "180 s of 300 s left" in text
    assert "1 of 3 automatic moves in the last hour" in text
    fenced, detail = _fence_text(policy)
    assert fenced == "FENCED"
    assert "isolate on i-0123456789abcdef0" in detail
    assert "failback restores sg-0123456789abcdef0" in detail


def test_an_older_stack_reads_as_manual_and_unfenced() -> None:
    plain = PAIR.model_copy(
        update={"failback": None, "failback_after_seconds": None, "fence": None}
    )
    policy = after_failover(plain, PairRecord(), NOW)
    assert _failback_text(policy)[0] == "manual"
    assert _fence_text(policy) == ("none", "the primary is not fenced")


def test_after_a_forced_detach_status_says_failback_waits_for_a_stop_and_start() -> None:
    # Given a pair failed over with a forced detach from its primary
    record = PairRecord(
        forced_detach_instance_id="i-0123456789abcdef0",
        forced_detach_at=NOW - timedelta(minutes=20),
    )
    # When status describes its failback, automatic or manual
    for failback in ("auto", "manual"):
        policy = after_failover(PAIR.model_copy(update={"failback": failback}), record, NOW)
        _state, text = _failback_text(policy)
        # Then it says what failback waits for
        assert "failback waits for i-0123456789abcdef0 to be stopped and started" in text, text
        assert "forcibly detached" in text


def test_a_stop_fence_is_shown_fenced_only_once_the_primary_is_stopped() -> None:
    # Given a stop fence asked five minutes ago
    record = PairRecord(
        fence_mode="stop",
        fenced_at=NOW - timedelta(minutes=5),
        fenced_instance_id="i-0123456789abcdef0",
    )
    stopping = PAIR.model_copy(update={"fence": "stop"})
    # When status sees the primary still stopping, then stopped
    still, detail = _fence_text(after_failover(stopping, record, NOW, primary_state="stopping"))
    done, _ = _fence_text(after_failover(stopping, record, NOW, primary_state="stopped"))
    # Then it says "stopping" (not fenced) until EC2 shows it stopped
    assert still == "STOPPING"
    assert "not fenced until it is stopped" in detail
    assert done == "FENCED"
