"""The probe quorum's decision: send, alone, wait or degraded, from the other's saved view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eni_failover.config import ConfigError, FailoverConfig, Pair, ProberSettings, Probing
from eni_failover.probe import Verdict
from eni_failover.prober import LEASE_ID, lease_id_for
from eni_failover.quorum import (
    ANSWERING,
    FAILED,
    FAILING,
    LATENCY_MARGIN_SECONDS,
    Answer,
    Bounds,
    View,
    decide,
    pair_state,
)

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
BOUNDS = Bounds(grace_seconds=4.0, stale_seconds=15.0)


def view(state: str | None, *, age: float = 1.0, vantage: str = "subnet-b") -> View:
    pairs = {"web": state} if state else {}
    return View(vantage=vantage, saved_at=NOW - timedelta(seconds=age), pairs=pairs)


def answer(
    other: View | None, *, failing_for: float = 6.0, others: dict[str, View | None] | None = None
) -> Answer:
    return decide(
        pair="web",
        vantage="subnet-a",
        failing_since=NOW - timedelta(seconds=failing_for),
        others=others if others is not None else {"subnet-b": other},
        now=NOW,
        bounds=BOUNDS,
    ).answer


def test_both_see_the_failure_send() -> None:
    assert answer(view(FAILED)) is Answer.SEND


def test_a_missing_view_does_not_veto() -> None:
    # The other never saved a view: its function is not running (or its zone is down)
    assert answer(None) is Answer.ALONE


def test_a_stale_view_does_not_veto_even_if_it_said_answering() -> None:
    # Its last word, older than the bound, was "answering": it cannot probe now
    assert answer(view(ANSWERING, age=BOUNDS.stale_seconds + 0.1)) is Answer.ALONE
    assert answer(view(FAILING, age=BOUNDS.stale_seconds + 0.1)) is Answer.ALONE


def test_a_view_just_inside_the_bound_still_counts() -> None:
    assert answer(view(ANSWERING, age=BOUNDS.stale_seconds - 0.1)) is Answer.DEGRADED


def test_a_view_without_the_pair_does_not_veto() -> None:
    # The other does not probe this pair yet (a tagged pair it has not discovered)
    assert answer(view(None)) is Answer.ALONE


def test_the_other_still_counting_failures_waits() -> None:
    assert answer(view(FAILING)) is Answer.WAIT


def test_the_other_answering_within_the_grace_waits() -> None:
    # Its probes run on their own phase: it may not have probed since our failures began
    assert answer(view(ANSWERING), failing_for=BOUNDS.grace_seconds - 0.1) is Answer.WAIT


def test_the_other_answering_beyond_the_grace_is_degraded() -> None:
    decision = decide(
        pair="web",
        vantage="subnet-a",
        failing_since=NOW - timedelta(seconds=BOUNDS.grace_seconds + 0.1),
        others={"subnet-b": view(ANSWERING)},
        now=NOW,
        bounds=BOUNDS,
    )
    assert decision.answer is Answer.DEGRADED
    assert decision.why == (
        "detection degraded: subnet-a sees web failing, subnet-b sees it answering"
    )


def test_with_three_vantages_every_one_that_can_probe_must_confirm() -> None:
    confirmed, stale = view(FAILED, vantage="subnet-b"), view(ANSWERING, age=60, vantage="c")
    assert answer(None, others={"subnet-b": confirmed, "c": stale}) is Answer.SEND
    pending = view(FAILING, vantage="c")
    assert answer(None, others={"subnet-b": confirmed, "c": pending}) is Answer.WAIT


@pytest.mark.parametrize(
    ("verdict", "state"),
    [
        (Verdict.HEALTHY, ANSWERING),
        (Verdict.FAILING, FAILING),
        (Verdict.FAILED, FAILED),
        (Verdict.STILL_FAILED, FAILED),
    ],
)
def test_what_a_vantage_tells_the_others(verdict: Verdict, state: str) -> None:
    assert pair_state(verdict) == state


def test_the_grace_covers_a_round_a_timeout_and_the_write() -> None:
    # Another vantage's first failed probe can come an interval plus a timeout after ours
    bounds = Bounds.for_probing(Probing(interval_seconds=2.0, timeout_seconds=1.0))
    assert bounds.grace_seconds == 3.0 + LATENCY_MARGIN_SECONDS
    assert bounds.stale_seconds > 2 * 5.0  # two lost heartbeats are tolerated


ENVIRONMENT = {
    "FAILOVER_ACCOUNT_ID": "123456789012",
    "AWS_REGION": "us-east-1",
    "TRIGGER_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:trigger",
    "STATE_TABLE_NAME": "state",
    "POWERTOOLS_METRICS_NAMESPACE": "EniFailover",
}
FAILOVER = FailoverConfig(
    pairs=(
        Pair(
            name="web",
            primary_instance_id="i-0123456789abcdef0",
            standby_instance_id="i-0fedcba9876543210",
            interface_ids=("eni-0123456789abcdef0",),
            probe="tcp:443",
        ),
    )
)


def test_the_prober_reads_its_vantage_from_the_environment() -> None:
    settings = ProberSettings.from_environment(
        ENVIRONMENT | {"PROBER_VANTAGE": "subnet-b", "PROBER_VANTAGES": "subnet-a,subnet-b"},
        failover=FAILOVER,
    )
    assert (settings.vantage, settings.vantages) == ("subnet-b", ("subnet-a", "subnet-b"))
    # The first vantage keeps the single prober's lease (what status and check read)
    assert lease_id_for("subnet-a", settings.vantages) == LEASE_ID
    assert lease_id_for("subnet-b", settings.vantages) == f"{LEASE_ID}#subnet-b"
    # Without a quorum nothing changes
    alone = ProberSettings.from_environment(ENVIRONMENT, failover=FAILOVER)
    assert (alone.vantage, alone.vantages) == ("", ())


def test_a_vantage_not_among_the_vantages_is_refused() -> None:
    with pytest.raises(ConfigError, match="PROBER_VANTAGE 'subnet-c' is not one of"):
        ProberSettings.from_environment(
            ENVIRONMENT | {"PROBER_VANTAGE": "subnet-c", "PROBER_VANTAGES": "subnet-a,subnet-b"},
            failover=FAILOVER,
        )
