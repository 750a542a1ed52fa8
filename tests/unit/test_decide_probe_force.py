"""When a probe proved the move, the detach is forced from the start (issue 20).

A probe trigger whose evidence holds the full count of failed service probes and shows the
standby's own service answering the same probe proves the primary's service dead and the
standby's alive: a graceful detach would only wait on the guest of a service that is gone.
Nothing else forces the detach of a running, healthy-looking primary.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from eni_failover import decide
from eni_failover.config import Probing
from eni_failover.probe import ProbeResult
from eni_failover.triggers import ProbeEvidence, Trigger, TriggerKind
from tests.unit.test_decide import (
    NOW,
    PAIR,
    PRIMARY,
    STANDBY,
    instance,
    interface,
    plan,
    state,
    trigger,
)

FAILURES_NEEDED = Probing().failures
PROBED = PAIR.model_copy(update={"probe": "tcp:443"})
# The primary as EC2 sees it when only its service failed: running, every check ok.
HEALTHY = state(primary=instance(PRIMARY))


def answer(ok: bool, seconds_ago: float = 1.0) -> ProbeResult:
    return ProbeResult(
        target="10.0.1.50:443",
        ok=ok,
        at=NOW - timedelta(seconds=seconds_ago),
        latency_seconds=0.01 if ok else 1.0,
        error=None if ok else "connection refused",
    )


def probe_trigger(
    *, failures: int = FAILURES_NEEDED, standby: ProbeResult | None = None, answered: int = 0
) -> Trigger:
    """The prober's trigger: `failures` failed probes of the service (the last `answered`
    of them turned into answers), and the standby's answer to the same probe."""
    seen = tuple(answer(False, 2.0 * (failures - n)) for n in range(failures))
    seen = seen[: failures - answered] + tuple(answer(True) for _ in range(answered))
    return Trigger(
        trigger_id="probe:nat:1",
        kind=TriggerKind.PROBE,
        source="prober",
        instance_id=None,
        state="failed",
        is_failure=True,
        reason=f"{failures} probes (tcp:443) in a row failed",
        occurred_at=seen[0].at,
        account_id="123456789012",
        region="us-east-1",
        pair_name=PAIR.name,
        evidence=ProbeEvidence(probe="tcp:443", failures=seen, standby=standby),
    )


def probe_plan(probe: Trigger, **kwargs: object) -> decide.Plan:
    return plan(
        HEALTHY,
        pair=PROBED,
        trigger=probe,
        probe_failures_needed=FAILURES_NEEDED,
        **kwargs,
    )


def test_a_probe_that_proved_the_service_dead_here_and_alive_there_forces_the_detach() -> None:
    # Given the full count of failed probes of a primary EC2 calls healthy, and the
    # standby's own service answering the same probe
    result = probe_plan(probe_trigger(standby=answer(True)))
    # Then the interface moves with a forced detach from the start, saying why
    assert isinstance(result, decide.Move)
    assert result.force_detach
    assert result.force_reason is not None
    assert "alive on the standby" in result.force_reason


def test_a_probe_through_the_pair_has_no_standby_evidence_and_detaches_gracefully() -> None:
    # Given a probe through the pair (a NAT's forwarding): the standby cannot be probed
    result = probe_plan(probe_trigger(standby=None))
    # Then the move goes ahead, with a normal detach
    assert isinstance(result, decide.Move)
    assert not result.force_detach
    assert result.force_reason is None


def test_a_probe_whose_standby_failed_too_moves_nothing() -> None:
    result = probe_plan(probe_trigger(standby=answer(False)))
    assert isinstance(result, decide.Refuse)
    assert "detection degraded" in " ".join(result.reasons)


@pytest.mark.parametrize(
    ("failures", "answered"),
    [(FAILURES_NEEDED - 1, 0), (FAILURES_NEEDED, 1)],
    ids=["fewer failures than the count", "an answer among them"],
)
def test_evidence_short_of_the_full_count_of_failures_detaches_gracefully(
    failures: int, answered: int
) -> None:
    # Given a trigger whose evidence does not hold the configured count of failed probes
    result = probe_plan(probe_trigger(failures=failures, standby=answer(True), answered=answered))
    # Then the move is not refused for it, but nothing proves the service dead: no force
    assert isinstance(result, decide.Move)
    assert not result.force_detach


def test_a_service_alarm_on_a_healthy_primary_detaches_gracefully() -> None:
    alarm = trigger(kind=TriggerKind.SERVICE_ALARM)
    result = plan(HEALTHY, trigger=alarm, alarm_now="ALARM", probe_failures_needed=3)
    assert isinstance(result, decide.Move)
    assert not result.force_detach


def test_a_status_check_alarm_on_a_running_primary_detaches_gracefully() -> None:
    # Checks still initializing: not impaired, not healthy
    current = state(primary=instance(PRIMARY, instance_status="insufficient-data"))
    result = plan(current, probe_failures_needed=3)
    assert isinstance(result, decide.Move)
    assert not result.force_detach


def test_an_operators_forced_failover_of_a_healthy_primary_detaches_gracefully() -> None:
    manual = trigger(kind=TriggerKind.MANUAL)
    result = plan(HEALTHY, trigger=manual, force=True, probe_failures_needed=3)
    assert isinstance(result, decide.Move)
    assert result.overridden
    assert not result.force_detach


def test_a_failback_detaches_from_the_standby_gracefully() -> None:
    current = state(primary=instance(PRIMARY), eni=interface(on=STANDBY))
    result = plan(
        current,
        trigger=trigger(kind=TriggerKind.MANUAL),
        direction=decide.Direction.TO_PRIMARY,
        probe_failures_needed=3,
    )
    assert isinstance(result, decide.Move)
    assert not result.force_detach


def test_an_impaired_primary_is_still_forced_and_says_so() -> None:
    result = plan(state())  # the status-check alarm, the primary impaired
    assert isinstance(result, decide.Move)
    assert result.force_detach
    assert result.force_reason == "the source is stopped or impaired"


@pytest.mark.parametrize(
    ("standby", "proved"),
    [(answer(True), True), (answer(False), False), (None, False)],
    ids=["standby answers", "standby fails", "standby unprobed"],
)
def test_only_the_standbys_own_answer_proves_the_move(
    standby: ProbeResult | None, proved: bool
) -> None:
    probe = probe_trigger(standby=standby)
    assert decide.probe_proved_the_move(probe, failures_needed=FAILURES_NEEDED) is proved
