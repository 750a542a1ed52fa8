"""`status` shows the last probe result and its age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eni_failover_cli.status import _probe_rows, _probe_text


def result(ok: bool) -> dict[str, object]:
    return {
        "target": "10.0.1.50:443",
        "ok": ok,
        "latency_seconds": 0.012,
        "error": None if ok else "connection refused",
    }


def test_an_answering_service_with_its_latency_and_age() -> None:
    saved = datetime.now(UTC) - timedelta(seconds=7)
    state, detail = _probe_text({"probe": "tcp:443", "saved_at": saved, "service": result(True)})
    assert state == "answering"
    assert detail.startswith("tcp:443: 10.0.1.50:443 in 12 ms, ")
    assert detail.endswith(" s ago")


def test_a_failing_service_says_why() -> None:
    saved = datetime.now(UTC) - timedelta(seconds=3)
    state, detail = _probe_text({"probe": "tcp:443", "saved_at": saved, "service": result(False)})
    assert state == "NOT ANSWERING"
    assert "10.0.1.50:443: connection refused" in detail


def test_an_old_result_is_stale() -> None:
    saved = datetime.now(UTC) - timedelta(minutes=10)
    state, _ = _probe_text({"probe": "tcp:443", "saved_at": saved, "service": result(True)})
    assert state == "STALE"


def test_no_result_yet() -> None:
    state, detail = _probe_text({"probe": "tcp:443", "saved_at": None, "service": None})
    assert (state, detail) == ("no result", "tcp:443: the prober has not reported yet")


def test_a_failure_one_vantage_sees_alone_is_shown_as_detection_degraded() -> None:
    # Given the probe quorum's second vantage sees the service failing and the first does not
    saved = datetime.now(UTC) - timedelta(seconds=2)
    sentence = "detection degraded: subnet-b sees web failing, subnet-a sees it answering"
    probe = {"probe": "tcp:443", "saved_at": saved, "service": result(True), "degraded": [sentence]}
    # Then status shows the probe result, and under it the degraded detection, in its words
    rows = _probe_rows(probe)
    assert rows[0][:2] == ("probe", "answering")
    assert rows[1:] == [("detection", "DEGRADED", sentence)]
    # And without a quorum (or nothing degraded) there is the probe row only
    assert len(_probe_rows({**probe, "degraded": []})) == 1
