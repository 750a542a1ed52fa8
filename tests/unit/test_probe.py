"""The health probe against real listeners on the loopback, and the hysteresis after it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from eni_failover.probe import ProbeKind, ProbeResult, ProbeSpec, ProbeTracker, Verdict, run_probe
from eni_failover_emulator.service import Behaviour, Loss, ServiceListener, service_listener

TIMEOUT = 0.5
PRIVATE_IP = "10.0.1.50"  # never connected to: resolve() maps it to the listener


@pytest.fixture
def service() -> Iterator[ServiceListener]:
    with service_listener(slow_seconds=TIMEOUT * 2) as listener:
        yield listener


def probe(text: str, service: ServiceListener) -> ProbeResult:
    return run_probe(
        ProbeSpec.parse(text),
        PRIVATE_IP,
        timeout_seconds=TIMEOUT,
        resolve=lambda _address, _port: service.address,
    )


class TestSpec:
    @pytest.mark.parametrize(
        ("text", "kind", "port", "path", "host"),
        [
            ("tcp:443", ProbeKind.TCP, 443, "/", None),
            ("http://:8080/health", ProbeKind.HTTP, 8080, "/health", None),
            ("https://:8443/", ProbeKind.HTTPS, 8443, "/", None),
            ("https://example.com/ping", ProbeKind.HTTPS, 443, "/ping", "example.com"),
            ("tcp:example.com:80", ProbeKind.TCP, 80, "/", "example.com"),
        ],
    )
    def test_forms(
        self, text: str, kind: ProbeKind, port: int, path: str, host: str | None
    ) -> None:
        spec = ProbeSpec.parse(text)
        assert (spec.kind, spec.port, spec.path, spec.host) == (kind, port, path, host)
        assert ProbeSpec.parse(str(spec)) == spec

    @pytest.mark.parametrize("text", ["tcp:0", "tcp:70000", "udp:53", "http:/x", "443", ""])
    def test_bad_forms_name_what_is_expected(self, text: str) -> None:
        with pytest.raises(ValueError, match=r"is not a probe: 'tcp:PORT'|a port is 1 to 65535"):
            ProbeSpec.parse(text)


class TestProbe:
    def test_healthy_http_answer(self, service: ServiceListener) -> None:
        result = probe("http://:80/health", service)
        assert result.ok, result.error
        assert result.target == f"{PRIVATE_IP}:80"
        assert result.latency_seconds < TIMEOUT

    def test_refused(self, service: ServiceListener) -> None:
        service.set(Behaviour.DOWN)
        for form in ("tcp:443", "http://:80/"):
            result = probe(form, service)
            assert not result.ok
            assert result.error == "connection refused"

    def test_no_answer_is_a_timeout(self, service: ServiceListener) -> None:
        service.set(Behaviour.HANGING)
        result = probe("http://:80/", service)
        assert not result.ok
        assert result.error == f"no answer within {TIMEOUT:g} s"
        assert result.latency_seconds < TIMEOUT * 2

    def test_an_answer_slower_than_the_timeout_fails(self, service: ServiceListener) -> None:
        service.set(Behaviour.SLOW)
        result = probe("http://:80/", service)
        assert not result.ok
        assert result.error is not None
        assert "within" in result.error or "more than" in result.error

    def test_http_5xx_fails(self, service: ServiceListener) -> None:
        service.set(Behaviour.ERROR)
        result = probe("http://:80/", service)
        assert not result.ok
        assert result.error == "HTTP 503 Service Unavailable"

    def test_tls_failure(self, service: ServiceListener) -> None:
        # A plain-HTTP service probed over HTTPS: the handshake fails
        result = probe("https://:443/", service)
        assert not result.ok
        assert result.error is not None
        assert result.error.startswith("TLS failed")

    def test_tcp_only_asks_for_a_connection(self, service: ServiceListener) -> None:
        service.set(Behaviour.ERROR)
        assert probe("tcp:443", service).ok


def failed(n: int = 0) -> ProbeResult:
    return ProbeResult(
        target="10.0.1.50:443",
        ok=False,
        at=datetime(2026, 11, 29, 10, 0, n, tzinfo=UTC),
        latency_seconds=1.0,
        error="no answer within 1 s",
    )


ANSWERED = ProbeResult(
    target="10.0.1.50:443", ok=True, at=datetime(2026, 11, 29, tzinfo=UTC), latency_seconds=0.01
)


class TestHysteresis:
    def test_one_failure_never_triggers(self) -> None:
        tracker = ProbeTracker(failures_needed=3)
        assert tracker.observe(failed()) is Verdict.FAILING
        assert tracker.observe(ANSWERED) is Verdict.HEALTHY
        assert tracker.observe(failed()) is Verdict.FAILING

    def test_k_in_a_row_trigger_once_per_episode(self) -> None:
        tracker = ProbeTracker(failures_needed=3)
        verdicts = []
        for n in range(6):
            verdicts.append(tracker.observe(failed(n)))
            if verdicts[-1] is Verdict.FAILED:
                tracker.open_episode()  # the trigger was published
        assert verdicts == [
            Verdict.FAILING,
            Verdict.FAILING,
            Verdict.FAILED,
            Verdict.STILL_FAILED,
            Verdict.STILL_FAILED,
            Verdict.STILL_FAILED,
        ]
        # The evidence is the last K failures, not the whole outage
        assert [r.at.second for r in tracker.failed_in_a_row] == [3, 4, 5]

    def test_until_the_trigger_is_published_every_failed_round_is_a_failure_to_tell(
        self,
    ) -> None:
        # Given K failures in a row, and a trigger that could not be published
        tracker = ProbeTracker(failures_needed=2)
        assert [tracker.observe(failed()) for _ in range(2)][-1] is Verdict.FAILED
        # Then the episode is not open, and the next failed round asks for the trigger again
        assert not tracker.episode_open
        assert tracker.observe(failed()) is Verdict.FAILED
        # And once it is published, the episode is open until an answer
        tracker.open_episode()
        assert tracker.observe(failed()) is Verdict.STILL_FAILED
        assert tracker.observe(ANSWERED) is Verdict.HEALTHY
        assert not tracker.episode_open

    def test_an_answer_resets_the_count_and_starts_a_new_episode(self) -> None:
        tracker = ProbeTracker(failures_needed=2)
        assert [tracker.observe(failed()) for _ in range(2)][-1] is Verdict.FAILED
        tracker.open_episode()
        assert tracker.observe(ANSWERED) is Verdict.HEALTHY
        assert tracker.observe(failed()) is Verdict.FAILING
        assert tracker.observe(failed()) is Verdict.FAILED


class TestLossyNetwork:
    """The emulator service's lossy behaviour, which the benchmark's soak probes for minutes."""

    TIMEOUT, PROBES = 0.3, 12

    def probed(self, loss: Loss) -> tuple[list[ProbeResult], dict[Behaviour, int]]:
        """Twelve probes, one after another, of a healthy service behind `loss`."""
        with service_listener() as service:
            service.set_lossy(loss)
            results = [
                run_probe(
                    ProbeSpec.parse("http://:80/health"),
                    PRIVATE_IP,
                    timeout_seconds=self.TIMEOUT,
                    resolve=lambda _address, _port: service.address,
                )
                for _ in range(self.PROBES)
            ]
            return results, dict(service.served)

    def test_some_probes_are_lost_some_answer_late_inside_the_timeout_drawn_per_seed(
        self,
    ) -> None:
        # Given a healthy service behind a network that loses 30% and delays 30%
        loss = Loss(lost=0.3, slow=0.3, slow_seconds=0.2, seed="soak")
        # When it is probed twelve times
        results, served = self.probed(loss)
        # Then each lost probe got no answer within the timeout, as a hung one
        lost = [r for r in results if not r.ok]
        assert {r.error for r in lost} == {f"no answer within {self.TIMEOUT:g} s"}
        # And each slow one was answered late, yet inside the timeout
        slow = [r for r in results if r.ok and r.latency_seconds >= loss.slow_seconds]
        # And the listener counts what it did, which adds up to the probes
        healthy = self.PROBES - len(lost) - len(slow)
        assert served == {Behaviour.HANGING: len(lost), Behaviour.SLOW: len(slow)} | (
            {Behaviour.HEALTHY: healthy} if healthy else {}
        )
        assert lost
        assert slow
        assert healthy
        # And the same seed loses the same probes
        again, _ = self.probed(loss)
        assert [r.ok for r in again] == [r.ok for r in results]

    def test_shares_must_fit(self) -> None:
        with pytest.raises(ValueError, match="add up to at most 1"):
            Loss(lost=0.6, slow=0.5, slow_seconds=0.1)
