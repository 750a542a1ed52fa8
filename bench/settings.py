"""What a benchmark run does: how many runs, which latencies, which tuning.

`full` is what `make bench` runs; `quick` is a smoke run with fewer repetitions; `smoke`
shrinks every latency and sleep so that the test suite can walk every code path in
seconds. Only `full` and `quick` numbers belong in docs/benchmarks.md.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from eni_failover.config import Probing, Tuning


@dataclass(frozen=True)
class Drawn:
    """The EC2 latencies of one run, in seconds."""

    detach: float
    attach: float
    force: float


@dataclass(frozen=True)
class Latencies:
    """Simulated EC2 latencies: a nominal value each, spread uniformly by +/- `jitter`.

    A fixed detach of exactly 2 s polled every 0.5 s is seen almost the moment it ends,
    which flatters any fixed-interval poller; real latencies vary, so each run draws its
    own. Every way of moving the interface gets the same draws for the same run number.
    """

    detach: float = 2.0
    attach: float = 1.0
    force: float = 0.5
    jitter: float = 0.25  # fraction of the nominal value

    def nominal(self) -> Drawn:
        return Drawn(detach=self.detach, attach=self.attach, force=self.force)

    def draw(self, seed: int, run: int) -> Drawn:
        rng = random.Random(f"{seed}:{run}")  # noqa: S311 - a reproducible spread, not security

        def spread(value: float) -> float:
            return value * (1.0 + rng.uniform(-self.jitter, self.jitter))

        return Drawn(
            detach=spread(self.detach), attach=spread(self.attach), force=spread(self.force)
        )

    def describe(self) -> str:
        spread = f" (each +/- {self.jitter:.0%}, uniform, drawn per run)" if self.jitter else ""
        return (
            f"detach {self.detach:g} s, attach {self.attach:g} s, forced detach "
            f"{self.force:g} s{spread}"
        )


@dataclass(frozen=True)
class BenchSettings:
    runs: int = 10
    # A detach that hangs on a healthy-looking primary waits the whole detach grace (10 s
    # by default) before Force; fewer runs keep `make bench` within its few minutes.
    hung_runs: int = 2
    # The waiter sleeps 20 s between polls, so its runs go side by side, as one batch.
    waiter_runs: int = 3
    sleep_runs: int = 5
    latencies: Latencies = field(default_factory=Latencies)
    # The project's production tuning; the runs change only the poll interval.
    tuning: Tuning = field(default_factory=Tuning)
    short_poll_seconds: float = 0.1
    # Other tools' ways: botocore's default waiter, keepalived-style sleep(5), no wait.
    waiter_delay_seconds: int | None = None  # None: the waiter's own default (20 s)
    fixed_sleep_seconds: float = 5.0
    # How long the no-wait loop spins on a detach that never finishes before we stop it;
    # done before the sleep(5) runs beside it attach, so its spinning cannot slow them.
    give_up_seconds: float = 4.0
    # Section 5: this many of the one deployment's configured pairs fail at once.
    scale_pairs: int = 50
    scale_configured: int = 200
    # Section 5's measurement against its target runs with time this many times slower:
    # every EC2 latency, the poll interval and every wait of the function and of the shared
    # looks, and the buckets' refill (same sizes). The event is the same in EC2's terms,
    # while this machine, one process playing every sandbox and the endpoint, gets that much
    # longer for the CPU each request costs it. Times are reported divided by it. 40x:
    # at 20x the moves' start (lease, registration, the first shared look, fifty moves at
    # once) still took twice as long in the event's seconds as at 40x, which is this
    # machine's CPU showing through, not EC2.
    scale_slowed: int = 40
    # Section 8: this many unrelated instances stop with a pair's primary (the 500).
    noise_wave: int = 500
    # The prober's tuning for the service-stop runs and the soak: the stack's defaults.
    probing: Probing = field(default_factory=Probing)
    # Section 7: runs per move kind and per way the service stops (refused, hung).
    service_runs: int = 10
    # Section 7's soak: a healthy probed pair behind a network that loses `soak_lost` of
    # the probes and answers `soak_slow` of them at `soak_slow_share` of the timeout.
    soak_seconds: float = 600.0
    soak_lost: float = 0.1
    soak_slow: float = 0.1
    soak_slow_share: float = 0.8
    cold_repetitions: int = 5
    rtt_samples: int = 40
    seed: int = 5
    label: str = "full"

    @classmethod
    def full(cls, runs: int = 10) -> BenchSettings:
        return cls(runs=runs)

    @classmethod
    def quick(cls) -> BenchSettings:
        return cls(
            runs=3,
            hung_runs=1,
            waiter_runs=1,
            sleep_runs=2,
            scale_pairs=20,
            scale_configured=80,
            service_runs=3,
            soak_seconds=120.0,
            cold_repetitions=2,
            rtt_samples=20,
            label="quick",
        )

    @classmethod
    def smoke(cls) -> BenchSettings:
        """Near-zero latencies for tests: every path runs, no number means anything."""
        return cls(
            runs=2,
            hung_runs=1,
            waiter_runs=1,
            sleep_runs=1,
            latencies=Latencies(detach=0.12, attach=0.06, force=0.04, jitter=0.25),
            tuning=Tuning(poll_interval_seconds=0.03, detach_grace_seconds=0.5),
            short_poll_seconds=0.01,
            waiter_delay_seconds=1,  # botocore takes whole seconds
            fixed_sleep_seconds=0.2,
            # Well past the slowest detach drawn (0.12 s + 0.25 s jitter): a no-wait loop
            # spinning over HTTP on a loaded CI machine once gave up at 0.4 s before it.
            give_up_seconds=2.0,
            scale_pairs=2,
            scale_configured=10,
            scale_slowed=1,
            noise_wave=20,
            # Below the 1 s a deployment accepts: built, not validated; whatever else the
            # stack's probing has (its other fields) keeps its default. The timeout stays
            # half a second: the stand-in services are Python threads, and on a busy 2-core
            # CI machine a 0.1 s timeout saw the standby "not answer" and refuse the move.
            probing=Probing().model_copy(
                update={"interval_seconds": 0.6, "timeout_seconds": 0.5, "failures": 3}
            ),
            service_runs=1,
            soak_seconds=3.0,
            cold_repetitions=1,
            rtt_samples=5,
            label="smoke",
        )

    def with_runs(self, runs: int) -> BenchSettings:
        return replace(self, runs=runs)
