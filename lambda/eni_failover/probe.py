"""One health probe of a pair's service, and the hysteresis that turns probes into a verdict.

A probe asks what a client asks: can I open a TCP connection to the service, and, for HTTP,
does it answer 2xx or 3xx in time? It is run by the prober against the floating interface's
private IP (where clients reach the service) and against each instance's own address.

No AWS here: the network call is plain sockets, and the tracker is pure, so both are tested
against listeners on the loopback.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

EXPECT_PROBE = (
    "a probe: 'tcp:PORT', 'http://:PORT/PATH' or 'https://:PORT/PATH' (the pair's own "
    "address), or with a host, such as 'tcp:HOST:PORT' or 'https://HOST/PATH', for a probe "
    "that goes through the pair (a NAT pair's forwarding)"
)

_TCP = re.compile(r"^tcp:(?:(?P<host>[A-Za-z0-9.-]+):)?(?P<port>\d{1,5})$")
_HTTP = re.compile(
    r"^(?P<scheme>https?)://(?P<host>[A-Za-z0-9.-]*)(?::(?P<port>\d{1,5}))?(?P<path>/[^\s]*)?$"
)


class ProbeKind(StrEnum):
    TCP = "tcp"
    HTTP = "http"
    HTTPS = "https"


@dataclass(frozen=True)
class ProbeSpec:
    """What to probe. Without a host, the pair's addresses; with one, a host beyond the pair."""

    kind: ProbeKind
    port: int
    path: str = "/"
    host: str | None = None

    @classmethod
    def parse(cls, text: str) -> ProbeSpec:
        """Read the `probe` setting; ValueError names the form expected."""
        tcp = _TCP.fullmatch(text)
        if tcp:
            return cls(ProbeKind.TCP, _port(tcp["port"], text), host=tcp["host"] or None)
        web = _HTTP.fullmatch(text)
        if web:
            kind = ProbeKind(web["scheme"])
            default_port = 443 if kind is ProbeKind.HTTPS else 80
            port = _port(web["port"], text) if web["port"] else default_port
            return cls(kind, port, path=web["path"] or "/", host=web["host"] or None)
        raise ValueError(f"{text!r} is not {EXPECT_PROBE}")

    @property
    def through_pair(self) -> bool:
        """The probe goes to a host beyond the pair (a NAT pair's forwarding)."""
        return self.host is not None

    def __str__(self) -> str:
        host = self.host or ""
        if self.kind is ProbeKind.TCP:
            return f"tcp:{host + ':' if host else ''}{self.port}"
        return f"{self.kind.value}://{host}:{self.port}{self.path}"


def _port(text: str, whole: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{whole!r} has port {port}; a port is 1 to 65535")
    return port


@dataclass(frozen=True)
class ProbeResult:
    target: str  # the address probed, as a client would name it
    ok: bool
    at: datetime
    latency_seconds: float
    error: str | None = None

    def describe(self) -> str:
        took = f"{self.latency_seconds * 1000:.0f} ms"
        return f"{self.target} answered in {took}" if self.ok else f"{self.target}: {self.error}"


# Where to really connect for an address and port. The emulator maps each instance's
# private IP to a listener on the loopback; in AWS it is the address itself.
Resolve = Callable[[str, int], tuple[str, int]]


def _direct(address: str, port: int) -> tuple[str, int]:
    return address, port


def run_probe(
    spec: ProbeSpec,
    address: str,
    *,
    timeout_seconds: float,
    verify_tls: bool = False,
    resolve: Resolve = _direct,
) -> ProbeResult:
    """Probe `address` (or the spec's own host) once, within `timeout_seconds` in all."""
    name = spec.host or address
    host, port = resolve(name, spec.port)
    target = f"{name}:{spec.port}"
    at = datetime.now(UTC)
    started = time.monotonic()
    try:
        if spec.kind is ProbeKind.TCP:
            with socket.create_connection((host, port), timeout=timeout_seconds):
                pass
            error = None
        else:
            error = _http(
                spec,
                name=name,
                host=host,
                port=port,
                timeout_seconds=timeout_seconds,
                verify_tls=verify_tls,
                started=started,
            )
    except TimeoutError:
        error = f"no answer within {timeout_seconds:g} s"
    except ConnectionRefusedError:
        error = "connection refused"
    except ssl.SSLError as problem:
        error = f"TLS failed: {problem.reason or problem}"
    except (OSError, http.client.HTTPException) as problem:
        error = f"{type(problem).__name__}: {problem}"
    latency = time.monotonic() - started
    if error is None and latency > timeout_seconds:
        # An answer after the timeout is a failure, however it arrived: a client gave up.
        error = f"answered after {latency:.2f} s, more than the {timeout_seconds:g} s allowed"
    return ProbeResult(target=target, ok=error is None, at=at, latency_seconds=latency, error=error)


def _http(
    spec: ProbeSpec,
    *,
    name: str,
    host: str,
    port: int,
    timeout_seconds: float,
    verify_tls: bool,
    started: float,
) -> str | None:
    connection: http.client.HTTPConnection
    if spec.kind is ProbeKind.HTTPS:
        context = ssl.create_default_context()
        if not verify_tls:
            # A private address has no certificate a public CA would sign for it; checking
            # would fail every probe. Verify only when asked (probeVerifyTls).
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(
            host, port, timeout=timeout_seconds, context=context
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout_seconds)
    try:
        connection.request(
            "GET", spec.path, headers={"Host": name, "User-Agent": "eni-failover-prober"}
        )
        # The socket timeout applies per read; the whole probe must also fit the timeout.
        if connection.sock is not None:
            connection.sock.settimeout(max(0.001, timeout_seconds - (time.monotonic() - started)))
        response = connection.getresponse()
        response.read(1024)
    finally:
        connection.close()
    if 200 <= response.status < 400:
        return None
    return f"HTTP {response.status} {response.reason}".rstrip()


class Verdict(StrEnum):
    HEALTHY = "healthy"
    FAILING = "failing"  # failed, but fewer times in a row than make a failure
    FAILED = "failed"  # this probe completed a failure: send one trigger now
    STILL_FAILED = "still-failed"  # the episode's trigger was sent already


@dataclass
class ProbeTracker:
    """Consecutive failures make a failure; one trigger per episode, until an answer.

    One lost probe never triggers; `failures_needed` in a row do, once the episode is
    opened. An answer resets the count and ends the episode, so the next failure is a new
    episode. The prober opens the episode only once its trigger is published (or none is
    due): until then every failed round says FAILED again, so a trigger that could not be
    sent is sent by a later round, or by the next invocation, which takes over the count.
    """

    failures_needed: int
    failed_in_a_row: list[ProbeResult] = field(default_factory=list)
    episode_open: bool = False
    # When this run of failures began: the episode's identity, kept while the evidence list
    # drops its oldest entries, so a trigger sent again is the same trigger.
    failing_since: datetime | None = None

    def observe(self, result: ProbeResult) -> Verdict:
        if result.ok:
            self.failed_in_a_row.clear()
            self.episode_open = False
            self.failing_since = None
            return Verdict.HEALTHY
        if self.failing_since is None:
            self.failing_since = (self.failed_in_a_row or [result])[0].at
        self.failed_in_a_row.append(result)
        # Keep only what the evidence needs; an outage of hours must not grow the list.
        del self.failed_in_a_row[: -self.failures_needed]
        if self.episode_open:
            return Verdict.STILL_FAILED
        if len(self.failed_in_a_row) >= self.failures_needed:
            return Verdict.FAILED
        return Verdict.FAILING

    def open_episode(self) -> None:
        """The failure is handled: its trigger is out. Later failures are the same episode."""
        self.episode_open = True

    @property
    def confirming(self) -> bool:
        """The service failed, and fewer times in a row than make a verdict (FAILING)."""
        return not self.episode_open and 0 < len(self.failed_in_a_row) < self.failures_needed

    @property
    def still_needed(self) -> int:
        """Failed probes in a row still missing for a verdict."""
        return max(0, self.failures_needed - len(self.failed_in_a_row))


class Started(Protocol):
    """A probe under way (a Future in the prober)."""

    def done(self) -> bool: ...


S = TypeVar("S", bound=Started)


@dataclass
class _Lane(Generic[S]):
    last_start: float | None = None
    in_flight: deque[S] = field(default_factory=deque)


class ProbeLanes(Generic[S]):
    """When each pair's next probe starts, and which finished probes count next.

    A pair whose service answers is probed every `interval_seconds`. Once a probe failed
    (its tracker FAILING), the next ones start `confirm_seconds` after the previous one
    STARTED, not after it ended: a hung service makes each wait its timeout, so the
    confirmations overlap and the verdict comes about one timeout after the first failure
    is known, not `failures` timeouts later. No more are in flight than the verdict still
    needs. Each pair has its own lane: its results count in the order its probes started,
    and a probe that has not finished holds up only the later probes of its own pair,
    never another pair's.
    """

    def __init__(self, *, interval_seconds: float, confirm_seconds: float) -> None:
        if not 0 < confirm_seconds < interval_seconds:
            raise ValueError(
                f"the confirmation spacing ({confirm_seconds:g} s) must be more than 0 and "
                f"less than the interval ({interval_seconds:g} s)"
            )
        self.interval_seconds = interval_seconds
        self.confirm_seconds = confirm_seconds
        self._lanes: dict[str, _Lane[S]] = {}

    def due_at(self, pair: str, tracker: ProbeTracker) -> float | None:
        """When the pair's next probe is due; None while enough are in flight for a verdict."""
        lane = self._lanes.get(pair)
        if lane is None or lane.last_start is None:
            return float("-inf")
        if tracker.confirming:
            if len(lane.in_flight) >= tracker.still_needed:
                return None
            return lane.last_start + self.confirm_seconds
        return lane.last_start + self.interval_seconds

    def start_due(
        self, pair: str, tracker: ProbeTracker, now: float, start: Callable[[], S]
    ) -> bool:
        """Start the pair's next probe if it is due; True if one was started."""
        due = self.due_at(pair, tracker)
        if due is None or now < due:
            return False
        lane = self._lanes.setdefault(pair, _Lane())
        lane.in_flight.append(start())
        lane.last_start = now
        return True

    def finished(self) -> list[tuple[str, S]]:
        """The probes that finished, each pair's in the order they started, taken off."""
        done = []
        for pair, lane in self._lanes.items():
            while lane.in_flight and lane.in_flight[0].done():
                done.append((pair, lane.in_flight.popleft()))
        return done

    def in_flight(self) -> list[S]:
        return [probe for lane in self._lanes.values() for probe in lane.in_flight]

    def next_due(self, trackers: Iterable[tuple[str, ProbeTracker]]) -> float:
        """The earliest time any of these pairs has a probe due (inf if none)."""
        times = [self.due_at(pair, tracker) for pair, tracker in trackers]
        return min((t for t in times if t is not None), default=float("inf"))

    def keep_only(self, pairs: Iterable[str]) -> None:
        """Forget the pairs no longer probed (their probes under way are dropped)."""
        keep = set(pairs)
        self._lanes = {p: lane for p, lane in self._lanes.items() if p in keep}
