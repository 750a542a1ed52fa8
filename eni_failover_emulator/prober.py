"""The prober function run in this process, as its schedule would run it in Lambda.

moto runs no Lambda without Docker, and EventBridge's schedule fires nothing in moto. This
runs the prober's real code instead: its settings and clients built as at cold start
(eni_failover.prober_handler.build, from the environment the template gives the function,
with clients pointed at the emulated endpoint), and one invocation of run_invocation every
scheduled minute, each in its own thread as Lambda would run them side by side. Each hands
over to the next through the lease in the state table, exactly as deployed.

What differs is where a probe connects: `resolve` (service.PairServices) maps the
pair's private IPs to listeners on the loopback that stand for each instance's service.
The triggers the prober sends go to the emulated trigger topic, where the bridge (or the
caller) delivers them to the failover function.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from eni_failover.clients import AwsClients
from eni_failover.config import ENV_REGION, ProberSettings
from eni_failover.probe import Resolve
from eni_failover.prober import Prober, ProberLease, lease_id_for, run_invocation
from eni_failover.prober_handler import build
from eni_failover_emulator.endpoint import REGION
from eni_failover_emulator.function import (
    RUNTIME_ENVIRONMENT,
    endpoint_environment,
    patched_environment,
)

# What rate(1 minute) means for the invocations' start times.
SCHEDULE_SECONDS = 60.0
REPORT_POLL_SECONDS = 0.1
# Far beyond any invocation's deadline: what an invocation's clock reads once the emulator
# stops, so that its loop ends and it hands over at once, as at its Lambda timeout.
_PAST_EVERY_DEADLINE = 1.0e9


class InvocationClock:
    """Wall time for one invocation, until the emulator stops and its time runs out."""

    def __init__(self, stopping: threading.Event) -> None:
        self._stopping = stopping

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic() + (_PAST_EVERY_DEADLINE if self._stopping.is_set() else 0.0)

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class LocalProber:
    """The deployed prober's code, invoked on its schedule, probing loopback listeners."""

    def __init__(
        self,
        environment: Mapping[str, str],
        *,
        name: str,
        timeout_seconds: float,
        endpoint_url: str,
        resolve: Resolve,
        schedule_seconds: float = SCHEDULE_SECONDS,
        region: str = REGION,
    ) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self.schedule_seconds = schedule_seconds
        self._endpoint_url = endpoint_url
        self._region = region
        self._resolve = resolve
        # Lambda adds AWS_REGION to every function's environment; the template cannot.
        self._environment = {**environment, ENV_REGION: region}
        self._built: tuple[ProberSettings, AwsClients] | None = None
        self._stopping = threading.Event()
        self._scheduler: threading.Thread | None = None
        self._invocations: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._running: list[Prober] = []
        self._latest: Prober | None = None
        self._sent_by_finished = 0
        self.ended: list[str] = []  # how each finished invocation ended

    @property
    def triggers_sent(self) -> int:
        """Probe triggers sent by every invocation so far."""
        with self._lock:
            return self._sent_by_finished + sum(p.triggers_sent for p in self._running)

    @property
    def settings(self) -> ProberSettings:
        return self.cold_start()[0]

    @property
    def current(self) -> Prober | None:
        """The prober of the invocation that started last (its rounds, its trackers)."""
        with self._lock:
            return self._latest

    def cold_start(self) -> tuple[ProberSettings, AwsClients]:
        """Read the settings and make the clients once, as the first invocation does."""
        with self._lock:
            if self._built is None:
                with patched_environment(
                    {
                        **endpoint_environment(self._endpoint_url, self._region),
                        **RUNTIME_ENVIRONMENT,
                        "AWS_LAMBDA_FUNCTION_NAME": self.name,
                    },
                    remove=("AWS_PROFILE",),
                ):
                    self._built = build(self._environment)
            return self._built

    def start(self) -> LocalProber:
        """Start the schedule: an invocation now, and another every `schedule_seconds`."""
        self.cold_start()
        self._scheduler = threading.Thread(
            target=self._schedule, name=f"{self.name}-schedule", daemon=True
        )
        self._scheduler.start()
        return self

    def wait_until_reported(self, timeout_seconds: float = 15.0) -> bool:
        """Wait until an invocation has saved its first results (what `status` and `check`
        read); False if none did in time."""
        settings, clients = self.cold_start()
        lease = ProberLease(
            clients.dynamodb,
            settings.state_table_name,
            lease_id_for(settings.vantage, settings.vantages),
        )
        deadline = time.monotonic() + timeout_seconds
        while not self._stopping.is_set():
            _, saved_at = lease.read_memory()
            if saved_at is not None:
                return True
            if time.monotonic() >= deadline:
                return False
            self._stopping.wait(REPORT_POLL_SECONDS)
        return False

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """End every invocation (each saves its memory and releases the lease) and stop."""
        self._stopping.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout_seconds)
        for invocation in list(self._invocations):
            invocation.join(timeout_seconds)

    def _schedule(self) -> None:
        while not self._stopping.is_set():
            invocation = threading.Thread(target=self._invoke, name=f"{self.name}", daemon=True)
            self._invocations = [t for t in self._invocations if t.is_alive()] + [invocation]
            invocation.start()
            self._stopping.wait(self.schedule_seconds)

    def _invoke(self) -> None:
        settings, clients = self.cold_start()
        clock = InvocationClock(self._stopping)
        prober = Prober(settings=settings, clients=clients, clock=clock, resolve=self._resolve)
        with self._lock:
            self._running.append(prober)
            self._latest = prober
        try:
            ended = run_invocation(
                prober,
                ProberLease(
                    clients.dynamodb,
                    settings.state_table_name,
                    lease_id_for(settings.vantage, settings.vantages),
                ),
                owner=str(uuid.uuid4()),  # the invocation's request ID
                remaining_seconds=self.timeout_seconds,
            )
        except Exception as error:  # what Lambda reports as the invocation's error
            ended = f"failed: {type(error).__name__}: {error}"
        with self._lock:
            self.ended.append(ended)
            self._running.remove(prober)
            self._sent_by_finished += prober.triggers_sent
