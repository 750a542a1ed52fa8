"""Run every measurement on one emulated AWS, in an order that keeps them apart."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from bench import comparators
from bench.cold_start import ColdStartResult, run_cold_start
from bench.comparators import WayResult
from bench.detection import DetectionPath, detection_paths
from bench.lab import Lab, open_lab, simulator
from bench.noise import NoiseResult, run_noise
from bench.scale import ScaleResult, run_scale
from bench.service_stop import ServiceStopResult, run_service_stop
from bench.settings import BenchSettings
from bench.soak import run_soak
from bench.swap_time import ScenarioResult, run_scenario, scenarios

PACKAGES = ("boto3", "botocore", "moto", "aws-lambda-powertools", "pydantic")
WARM_UP_CALLS = 5


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    system: str
    python: str
    packages: dict[str, str]


@dataclass(frozen=True)
class Results:
    settings: BenchSettings
    machine: Machine
    started_at: datetime
    seconds: float
    # The machine's 1-minute load average when the run started and when it ended.
    load: tuple[float, float]
    round_trips: tuple[float, ...]
    swaps: tuple[ScenarioResult, ...]
    ways: tuple[WayResult, ...]
    cold: ColdStartResult
    scale: ScaleResult
    detection: tuple[DetectionPath, ...]
    service: ServiceStopResult
    noise: NoiseResult

    def swap(self, key: str) -> ScenarioResult:
        return next(s for s in self.swaps if s.scenario.key == key)

    def way(self, key: str, *, hung: bool = False) -> WayResult | None:
        return next((w for w in self.ways if w.way.key == key and w.hung == hung), None)


def machine() -> Machine:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return Machine(
        cpu=cpu,
        cores=os.cpu_count() or 1,
        system=f"{platform.system()} {platform.release()}",
        python=f"{platform.python_implementation()} {platform.python_version()}",
        packages={name: importlib.metadata.version(name) for name in PACKAGES},
    )


def run_all(
    settings: BenchSettings, progress: Callable[[str], None], shared: Lab | None = None
) -> Results:
    """Every measurement, on the `shared` lab if given (a test's), else on one of its own."""
    started_at = datetime.now(UTC)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with open_lab() if shared is None else nullcontext(shared) as lab:
        round_trips = _round_trips(lab, settings)
        progress(
            f"round trip (DescribeNetworkInterfaces): median "
            f"{sorted(round_trips)[len(round_trips) // 2] * 1000:.1f} ms"
        )
        round_trip = sorted(round_trips)[len(round_trips) // 2]
        swaps = tuple(
            run_scenario(lab, settings, scenario, round_trip, progress)
            for scenario in scenarios(settings)
        )
        ways = _ways(lab, settings, progress)
        cold = run_cold_start(lab, settings, progress)
        scale = run_scale(lab, settings, progress)
        service = _service(lab, settings, progress)
        noise = run_noise(lab, settings, progress)
    return Results(
        settings=settings,
        machine=machine(),
        started_at=started_at,
        seconds=time.monotonic() - started,
        load=(load_before, os.getloadavg()[0]),
        round_trips=tuple(round_trips),
        swaps=swaps,
        ways=ways,
        cold=cold,
        scale=scale,
        detection=detection_paths(),
        service=service,
        noise=noise,
    )


def run_scale_only(settings: BenchSettings, progress: Callable[[str], None]) -> ScaleResult:
    """Only the scale runs (`python -m bench --only scale`), on their own lab."""
    with open_lab() as lab:
        return run_scale(lab, settings, progress)


def run_noise_only(settings: BenchSettings, progress: Callable[[str], None]) -> NoiseResult:
    """Only the wave of unrelated stops (`python -m bench --only noise`), on its own lab."""
    with open_lab() as lab:
        return run_noise(lab, settings, progress)


def run_service_only(settings: BenchSettings, progress: Callable[[str], None]) -> ServiceStopResult:
    """Only the service-stop runs and the soak (`python -m bench --only service`), on their
    own lab."""
    with open_lab() as lab:
        return _service(lab, settings, progress)


def _service(
    lab: Lab, settings: BenchSettings, progress: Callable[[str], None]
) -> ServiceStopResult:
    """Section 7: the service stopping for every move kind, then the soak (it raises
    BenchmarkFailed if a lossy network made a trigger or a move)."""
    stops = run_service_stop(lab, settings, progress)
    return replace(stops, soak=run_soak(lab, settings, progress))


def _round_trips(lab: Lab, settings: BenchSettings) -> list[float]:
    lab.fresh_account()
    topology, _ = lab.new_pair("rtt")
    with simulator(settings.latencies.nominal()):
        lab.round_trips(topology.interface_id, WARM_UP_CALLS)  # connection set up, caches warm
        return lab.round_trips(topology.interface_id, settings.rtt_samples)


def _ways(
    lab: Lab, settings: BenchSettings, progress: Callable[[str], None]
) -> tuple[WayResult, ...]:
    ways = comparators.ways(settings)
    paired = comparators.run_paired(lab, settings, ways["no-wait"], settings.runs, progress)
    together = comparators.run_side_by_side(
        lab,
        settings,
        [
            (ways["waiter"], settings.waiter_runs, False),
            (ways["sleep"], settings.sleep_runs, False),
            (ways["sleep"], 1, True),
            (ways["no-wait"], 1, True),
        ],
        progress,
    )
    return (paired, *together)
