"""False failovers: a healthy probed pair behind a lossy network, then its service stops.

A pair with a floating interface (the kind with the longest goal) is probed by the prober's
real loop with the stack's default probing, exactly as in the service-stop runs
(bench.service_stop). Once the prober has seen the service answer, the primary's listener
answers from behind a lossy network (the emulator's service.Loss): of the connections reaching
it (the probes of the service address and of the primary's own), `soak_lost` are lost
(accepted, never answered: the prober waits out its timeout) and `soak_slow` are answered
at `soak_slow_share` of the timeout, drawn from a seeded generator. For `soak_seconds` the
function gets whatever SNS delivers, as in the stops. Then the service stops (its port
closes) and the interface must move, once, on the probe's trigger; its time is reported
against the interface's goal.

The benchmark fails (BenchmarkFailed) if the soak sent a single probe trigger or moved
anything, or if the failover after it did not happen exactly once. The failover's time is
reported, not asserted: one run on a shared machine can land a fraction over the goal,
which is about medians (the stops' runs give those), and failing there would throw away
every other measurement of the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.addresses import delays
from bench.lab import Lab, require
from bench.service_stop import INTERFACE, WAYS, Running, ServiceStopRun, one_run
from bench.settings import BenchSettings
from eni_failover.config import Probing
from eni_failover_emulator.service import Behaviour, Loss

# What the lossy network did with a connection, as the report names it.
SERVED = {Behaviour.HANGING: "lost", Behaviour.SLOW: "slow", Behaviour.HEALTHY: "answered"}


@dataclass(frozen=True)
class _Soaked:
    seconds: float
    service_probes: int
    served: dict[str, int]
    triggers: int
    deliveries: int
    moves: int


@dataclass(frozen=True)
class SoakResult:
    probing: Probing
    seconds: float  # how long the lossy network lasted
    lost: float  # the shares drawn per connection
    slow: float
    slow_seconds: float
    service_probes: int  # probes of the service address during the soak
    served: dict[str, int]  # what the primary's listener did with each connection
    triggers: int  # probe triggers sent during the soak
    deliveries: int  # invocations of the function during the soak
    moves: int  # EC2 calls that moved something during the soak
    failover: ServiceStopRun  # the service stopping after the soak

    @property
    def goal_seconds(self) -> float:
        return INTERFACE.goal_seconds

    def expected_triggers(self) -> float:
        """Triggers a lossy network would send in this soak by chance, had loss alone
        decided: every round's probe fails first with probability p(1-p) (it fails and the
        one before did not), and each first failure becomes a trigger only if the
        F - 1 probes that confirm it are lost too, p^(F-1)."""
        p, failures = self.lost, self.probing.failures
        rounds = self.seconds / self.probing.interval_seconds
        return rounds * p * (1 - p) * p ** (failures - 1)


def run_soak(
    lab: Lab,
    settings: BenchSettings,
    progress: Callable[[str], None],
    *,
    loss: Loss | None = None,
) -> SoakResult:
    """The soak, then the stop; `loss` replaces the settings' network (a test's)."""
    probing = settings.probing
    loss = loss or Loss(
        lost=settings.soak_lost,
        slow=settings.soak_slow,
        slow_seconds=settings.soak_slow_share * probing.timeout_seconds,
        seed=f"{settings.seed}:soak",
    )
    seen: list[_Soaked] = []

    def soak(running: Running) -> None:
        scene = running.scene
        primary = scene.services.primary
        primary.set_lossy(loss)
        before = scene.resolved.copy()
        started = time.monotonic()
        delivered = running.deliver_until(
            lambda _: time.monotonic() >= started + settings.soak_seconds,
            settings.soak_seconds + 1.0,
        )
        target = scene.prober.targets.get(scene.pair.name)
        service_ip = target.service_ip if target is not None and target.service_ip else ""
        soaked = _Soaked(
            seconds=time.monotonic() - started,
            service_probes=scene.resolved[service_ip] - before[service_ip],
            served={SERVED[k]: v for k, v in primary.served.items()},
            triggers=len(scene.triggers(lab)),
            deliveries=len(delivered),
            moves=running.moves(),
        )
        seen.append(soaked)
        progress(
            f"soak: {soaked.seconds:.0f} s behind a network losing {loss.lost:.0%} of probes "
            f"and slowing {loss.slow:.0%}: {soaked.triggers} triggers, {soaked.moves} moves, "
            f"{soaked.service_probes} probes of the service"
        )
        require(
            soaked.triggers == 0 and soaked.deliveries == 0 and soaked.moves == 0,
            f"{scene.pair.name}: a healthy pair behind a lossy network failed over: "
            f"{soaked.triggers} probe triggers, {soaked.deliveries} invocations, "
            f"{soaked.moves} moves in {soaked.seconds:.0f} s",
        )

    refused = next(way for way in WAYS if way.key == "refused")
    failover = one_run(
        lab, settings, INTERFACE, refused, number=0, found=delays(), before_the_stop=soak
    )
    progress(f"soak: then the service stopped: usable on the standby {failover.usable:.2f} s later")
    [soaked] = seen
    return SoakResult(
        probing=probing,
        seconds=soaked.seconds,
        lost=loss.lost,
        slow=loss.slow,
        slow_seconds=loss.slow_seconds,
        service_probes=soaked.service_probes,
        served=soaked.served,
        triggers=soaked.triggers,
        deliveries=soaked.deliveries,
        moves=soaked.moves,
        failover=failover,
    )
