"""The readiness check's line about the prober: does it see the service on both instances?"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from eni_failover.config import Pair
from eni_failover.readiness import prober_sees

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
PAIR = Pair(
    name="web",
    primary_instance_id="i-0123456789abcdef0",
    standby_instance_id="i-0fedcba9876543210",
    interface_ids=("eni-0123456789abcdef0",),
    probe="tcp:443",
)


def answer(ok: bool, target: str) -> dict[str, Any]:
    return {
        "target": target,
        "ok": ok,
        "at": NOW.isoformat(),
        "latency_seconds": 0.004,
        "error": None if ok else "connection refused",
    }


def memory(primary_ok: bool, standby_ok: bool) -> dict[str, Any]:
    return {
        "last": {
            "web": {
                "service": answer(primary_ok, "10.0.1.50:443"),
                "primary": answer(primary_ok, "10.0.1.10:443"),
                "standby": answer(standby_ok, "10.0.1.11:443"),
            }
        }
    }


def test_both_answering_passes() -> None:
    check = prober_sees(PAIR, memory(True, True), NOW - timedelta(seconds=8), NOW)
    assert check.ok
    assert check.detail == (
        "the service answers on the primary and on the standby: primary 10.0.1.10:443 "
        "answered in 4 ms; standby 10.0.1.11:443 answered in 4 ms"
    )


def test_a_standby_that_does_not_answer_fails_the_check() -> None:
    check = prober_sees(PAIR, memory(True, False), NOW - timedelta(seconds=8), NOW)
    assert not check.ok
    assert check.detail.startswith("the service does not answer on the standby: ")
    assert "10.0.1.11:443: connection refused" in check.detail


def test_a_silent_prober_is_degraded_detection() -> None:
    check = prober_sees(PAIR, memory(True, True), NOW - timedelta(minutes=5), NOW)
    assert not check.ok
    assert check.detail == (
        "the prober last reported 300 s ago: detection is degraded. Its logs say why; if it "
        "cannot reach the AWS APIs, its subnets (probeSubnetIds) need a route to the AWS "
        "APIs: a NAT, or probeEndpoints=true (needed when that NAT is a pair being watched)"
    )


def test_a_prober_that_never_reported() -> None:
    check = prober_sees(PAIR, {}, None, NOW)
    assert not check.ok
    assert "never reported" in check.detail


def unreachable(memory: dict[str, Any], *, answered: bool = False) -> dict[str, Any]:
    """The memory of a prober whose trigger publish got no answer."""
    error = (
        "Publish failed: ConnectTimeoutError: Connect timeout on endpoint URL: "
        '"https://sns.us-east-1.amazonaws.com/"'
    )
    seen = {"at": NOW.isoformat(), "error": error, "answered": answered}
    return memory | {"aws_errors": {"send a trigger (SNS Publish)": seen}}


def test_a_prober_that_cannot_reach_an_aws_api_fails_the_check_with_the_fix() -> None:
    # Given the prober sees the service, but SNS did not answer its last publish
    check = prober_sees(PAIR, unreachable(memory(True, True)), NOW - timedelta(seconds=8), NOW)
    # Then the check fails: a trigger could not be sent; it says which call and the fix
    assert not check.ok
    assert check.detail.startswith(
        "the prober cannot reach the AWS APIs: it could not send a trigger (SNS Publish): "
        "Publish failed: ConnectTimeoutError: "
    )
    assert check.detail.endswith(
        "its subnets (probeSubnetIds) need a route to the AWS APIs: a NAT, or "
        "probeEndpoints=true (needed when that NAT is a pair being watched)"
    )


def test_an_aws_error_answer_is_not_a_missing_route() -> None:
    # Given SNS answered the prober's publish with an error (throttling, say)
    check = prober_sees(
        PAIR, unreachable(memory(True, True), answered=True), NOW - timedelta(seconds=8), NOW
    )
    # Then the check judges the probes as before
    assert check.ok
    assert check.detail.startswith("the service answers on the primary and on the standby")


def test_a_silent_prober_names_the_missing_route_as_a_cause() -> None:
    check = prober_sees(PAIR, memory(True, True), NOW - timedelta(minutes=5), NOW)
    assert not check.ok
    assert "probeEndpoints=true" in check.detail
