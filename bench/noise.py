"""Noise: 500 unrelated instances stop in the same moment as a pair's primary (a Spot
interruption or a scale-in wave), and the pair's failover should not wait for them.

The stack is synthesized for the pairs (its state-change rules list their primaries) and
its rules are applied as EventBridge applies them (eni_failover_emulator.events.forwarded, moto's
pattern matching): every event of the wave is put at once from a pool of threads, the
pair's own among them, last. The pair's time is from the wave's start until the function
has the interface on the standby, against the same failure alone.

A stack of tagged pairs (discovery=tags) cannot list its primaries: its one rule forwards
the whole wave to the function. That run counts what reaches the function, the EC2
requests it makes for them and the function time they take here; in Lambda they compete
for the function's reserved executions (section notes), which this process cannot show.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.lab import Lab, median, require, simulator
from bench.settings import BenchSettings
from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Pair
from eni_failover_cdk.settings import default_reserved_concurrency
from eni_failover_emulator.deployment import LocalDeployment
from eni_failover_emulator.events import state_change_message
from eni_failover_emulator.template import deploy, synthesize

# From the issue: 500 unrelated stop events (BenchSettings.noise_wave) must not delay a
# pair by more than a second.
TARGET_DELAY_SECONDS = 1.0
# EventBridge delivers a wave's events in parallel; this many at a time here.
DELIVERY_THREADS = 16
# Runs of each kind (alone, with the wave): a new pair each.
RUNS = 3


@dataclass(frozen=True)
class NoiseResult:
    wave: int
    runs: int
    alone: tuple[float, ...]  # seconds until on the standby, the failure alone
    with_wave: tuple[float, ...]  # the same, the wave's events put with it
    reached: int  # events of the wave the configured stack's rules forwarded
    # EC2 requests of the runs alone and of those with the wave (configured stack): the
    # pairs' moves and the benchmark's own stop and check, the same in both but for the wave.
    alone_ec2_requests: int
    wave_ec2_requests: int
    state_rules: int  # state-change rules of the configured stack
    # The stack of tagged pairs: what the wave costs there.
    tagged_reached: int
    tagged_ec2_requests: int
    tagged_function_seconds: float  # the invocations' time, summed, in this process
    tagged_reservation: int  # the default reserved executions of that stack

    @property
    def delay(self) -> float:
        return median(list(self.with_wave)) - median(list(self.alone))

    @property
    def met(self) -> bool:
        return self.delay <= TARGET_DELAY_SECONDS


def stranger(n: int) -> str:
    return f"i-0feed{n:012x}"


def run_noise(lab: Lab, settings: BenchSettings, progress: Callable[[str], None]) -> NoiseResult:
    runs, wave = min(settings.runs, RUNS), settings.noise_wave
    lab.fresh_account()
    with simulator(settings.latencies.nominal()) as sim, tempfile.TemporaryDirectory() as out:
        pairs = [lab.new_pair("noise", sim=sim)[1] for _ in range(2 * runs)]
        progress(f"noise: synthesizing a stack of {len(pairs)} pairs, and one with tags")
        configured = _deployed(lab, pairs, Path(out) / "configured", settings, tags=False)
        tagged = _deployed(lab, pairs, Path(out) / "tagged", settings, tags=True)
        state_rules = sum(
            1 for p in configured.resources.trigger_patterns if p.get("source") == ["aws.ec2"]
        )
        sim.reset_counts()
        alone = [_failover(lab, configured, pair, wave=0)[0] for pair in pairs[:runs]]
        alone_requests = sum(sim.calls.values())
        progress(f"noise: alone {', '.join(f'{s:.2f}' for s in alone)} s")
        sim.reset_counts()
        with_wave = []
        reached = 0
        for pair in pairs[runs:]:
            took, forwarded = _failover(lab, configured, pair, wave=wave)
            with_wave.append(took)
            reached += forwarded
        wave_requests = sum(sim.calls.values())
        progress(f"noise: with {wave} stops {', '.join(f'{s:.2f}' for s in with_wave)} s")
        sim.reset_counts()
        tagged_reached, tagged_seconds = _wave_only(tagged, wave)
        tagged_requests = sum(sim.calls.values())
        progress(f"noise: tagged stack, {tagged_reached} invocations, {tagged_seconds:.1f} s")
    result = NoiseResult(
        wave=wave,
        runs=runs,
        alone=tuple(alone),
        with_wave=tuple(with_wave),
        reached=reached - len(with_wave),  # the pair's own event is not noise
        alone_ec2_requests=alone_requests,
        wave_ec2_requests=wave_requests,
        state_rules=state_rules,
        tagged_reached=tagged_reached,
        tagged_ec2_requests=tagged_requests,
        tagged_function_seconds=tagged_seconds,
        tagged_reservation=default_reserved_concurrency(len(pairs) + max(len(pairs), 20)),
    )
    require(result.reached == 0, f"{result.reached} unrelated events reached the function")
    return result


def _deployed(
    lab: Lab, pairs: list[Pair], outdir: Path, settings: BenchSettings, *, tags: bool
) -> LocalDeployment:
    context: dict[str, Any] = {
        "notifyEmail": "ops@example.com",
        "pairs": [
            {
                "name": p.name,
                "primaryInstanceId": p.primary_instance_id,
                "standbyInstanceId": p.standby_instance_id,
                "eniIds": list(p.interface_ids),
            }
            for p in pairs
        ],
    }
    if tags:
        context["discovery"] = "tags"
    template = synthesize(context, outdir)
    prefix = "noise-tagged" if tags else "noise"
    resources = deploy(template, lab.harness, prefix=prefix)
    named = tuple(p.model_copy(update={"alarm_name": f"{prefix}-{p.name}"}) for p in pairs)
    config = FailoverConfig(pairs=named, tuning=settings.tuning, discover_tags=tags)
    clients = AwsClients(region="us-east-1", max_attempts=settings.tuning.api_max_attempts)
    return LocalDeployment.create(config, resources=resources, clients=clients)


def _failover(lab: Lab, deployment: LocalDeployment, pair: Pair, *, wave: int) -> tuple[float, int]:
    """Seconds from the wave's start until the pair's interface is on its standby, and how
    many of the events put reached the function."""
    lab.harness.ec2.stop_instances(InstanceIds=[pair.primary_instance_id])
    events = [state_change_message(instance_id=stranger(n), state="stopped") for n in range(wave)]
    events.append(state_change_message(instance_id=pair.primary_instance_id, state="stopping"))
    started = time.monotonic()
    finished: dict[str, float] = {}

    def put(event: dict[str, Any]) -> list[dict[str, Any]]:
        reports = deployment.put_event(event)
        if event["detail"]["instance-id"] == pair.primary_instance_id:
            finished["at"] = time.monotonic()
        return reports

    with ThreadPoolExecutor(max_workers=DELIVERY_THREADS) as pool:
        futures: list[Future[list[dict[str, Any]]]] = [pool.submit(put, e) for e in events]
        reports = [f.result() for f in futures]
    mine = reports[-1]
    outcomes = [o["outcome"] for r in mine for o in r["outcomes"]]
    require(outcomes == ["swapped"], f"pair {pair.name}: {outcomes}")
    where, _ = lab.where(pair.interface_ids[0])
    require(where == pair.standby_instance_id, f"pair {pair.name}: interface on {where}")
    return finished["at"] - started, sum(len(r) for r in reports)


def _wave_only(deployment: LocalDeployment, wave: int) -> tuple[int, float]:
    """The wave put to the stack of tagged pairs, one event after another: how many
    invocations it made, and their time summed."""
    reached, spent = 0, 0.0
    for n in range(wave):
        started = time.monotonic()
        reports = deployment.put_event(
            state_change_message(instance_id=stranger(n), state="stopped")
        )
        spent += time.monotonic() - started
        require(all(r["outcomes"] == [] for r in reports), "a stranger's stop moved something")
        reached += len(reports)
    return reached, spent
