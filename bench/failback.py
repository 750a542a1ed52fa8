"""`python -m bench.failback`: from "primary repaired" to "interface back on the primary",
with the defaults (failback=auto, failbackAfterSeconds 300, the sweep once a minute).

Part measured, part modelled, and the report says which. Waiting out a real five-minute
hold-down per run would make `make bench` take an hour while measuring nothing but a timer,
so the function's clock is shifted ahead a minute at a time instead, and the real sweep runs
on the emulated AWS (with the bench's EC2 latencies) at each of those minutes: which sweep
fails back is measured (the hold-down's logic), and so is the wall time of that sweep's
invocation (describe, lease, decision, swap, notification). The total adds what the schedule
decides: the wait for the first sweep after the repair (0 to 60 s, EventBridge's minute) and
the hold-down itself. "Repaired" means EC2 reports the primary's status checks ok.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.lab import Lab, alarm_event, median, open_lab, simulator, worst
from bench.settings import BenchSettings
from eni_failover.clients import AwsClients
from eni_failover.config import (
    DEFAULT_FAILBACK_AFTER_SECONDS,
    FailbackPolicy,
    FailoverConfig,
)
from eni_failover.contract import SWEEP_REQUEST
from eni_failover_emulator.clock import ShiftedClock
from eni_failover_emulator.deployment import FakeLambdaContext, LocalDeployment
from eni_failover_emulator.endpoint import REGION

SWEEP_PERIOD_SECONDS = 60.0
DEFAULT_OUT = Path("docs/failback-benchmark.md")


@dataclass(frozen=True)
class FailbackRun:
    sweeps_until_failback: int  # sweeps, a minute apart, from the first after the repair
    held_seconds: float  # function-clock time from the first healthy sweep to the failback
    move_seconds: float  # the failback sweep's invocation, wall time


def run_once(lab: Lab, settings: BenchSettings, run: int) -> FailbackRun:
    lab.fresh_account()
    topology, plain = lab.new_pair("failback")
    pair = plain.model_copy(update={"failback": FailbackPolicy.AUTO})
    clock = ShiftedClock()
    deployment = LocalDeployment.create(
        FailoverConfig(pairs=(pair,), tuning=settings.tuning),
        resources=lab.resources,
        clients=AwsClients(region=REGION, max_attempts=settings.tuning.api_max_attempts),
        clock=clock,
    )
    with simulator(settings.latencies.draw(settings.seed, run)) as sim:
        sim.set_status(topology.primary_instance_id, instance="impaired")
        deployment.invoke(alarm_event(pair), FakeLambdaContext())
        if lab.where(topology.interface_id)[0] != topology.standby_instance_id:
            raise RuntimeError("the failover before the failback did not happen")
        # Repaired as an impaired instance is: stopped and started. The detach from it was
        # forced, and failback waits for that restart (its later LaunchTime).
        ec2 = lab.harness.ec2
        ec2.stop_instances(InstanceIds=[topology.primary_instance_id])
        sim.settle()
        ec2.start_instances(InstanceIds=[topology.primary_instance_id])
        sim.set_status(topology.primary_instance_id, instance="ok")
        first = clock.now()
        for sweep in range(1, 20):
            started = time.monotonic()
            answer = deployment.invoke(SWEEP_REQUEST, FakeLambdaContext())
            took = time.monotonic() - started
            if answer["outcomes"]:
                [outcome] = answer["outcomes"]
                if outcome["outcome"] != "swapped":
                    raise RuntimeError(f"the failback did not swap: {outcome['summary']}")
                if lab.where(topology.interface_id)[0] != topology.primary_instance_id:
                    raise RuntimeError("the failback left the interface elsewhere")
                held = (clock.now() - first).total_seconds() - took
                return FailbackRun(sweep, held, took)
            clock.ahead += timedelta(seconds=SWEEP_PERIOD_SECONDS)
    raise RuntimeError("no failback after 19 sweeps")


def report(settings: BenchSettings, runs: list[FailbackRun]) -> str:
    hold = DEFAULT_FAILBACK_AFTER_SECONDS
    moves = [r.move_seconds for r in runs]
    sweeps = sorted({r.sweeps_until_failback for r in runs})
    best = hold + min(moves)
    typical = SWEEP_PERIOD_SECONDS / 2 + hold + median(moves)
    slowest = SWEEP_PERIOD_SECONDS + hold + worst(moves)
    return "\n".join(
        [
            "# Failback benchmark: primary repaired to interface back on the primary",
            "",
            f"Defaults: failback=auto, failbackAfterSeconds {hold}, the sweep every "
            f"{SWEEP_PERIOD_SECONDS:.0f} s. EC2 latencies: {settings.latencies.describe()}. "
            f"{len(runs)} runs ({settings.label}).",
            "",
            "Measured on the emulated AWS: the sweep that fails back (the "
            f"{', '.join(str(s) for s in sweeps)}th after the repair, a minute apart: the "
            f"window opens at the first and completes {hold} s later) and that sweep's "
            "invocation, wall time (describe, lease, decision, swap, notification). Modelled: "
            "the wait for the first sweep after the repair (0 to 60 s, uniform) and the "
            "hold-down itself, whose five minutes were not waited out (the function's clock "
            "was moved ahead a minute per sweep).",
            "",
            "| | Seconds |",
            "| --- | --- |",
            f"| Failback sweep's invocation (measured), median | {median(moves):.2f} |",
            f"| Failback sweep's invocation (measured), worst | {worst(moves):.2f} |",
            f"| Repaired to back on the primary, best (repair just before a sweep) | {best:.1f} |",
            f"| Repaired to back on the primary, typical (half a minute to the first sweep) "
            f"| {typical:.1f} |",
            f"| Repaired to back on the primary, worst (repair just after a sweep) | "
            f"{slowest:.1f} |",
            "",
            "EC2 itself takes a minute or two after a repair to report the status checks ok "
            "(they run every minute); that time comes before this clock starts. A probed pair "
            "also needs the prober's result for the primary's own address to answer at every "
            "sweep of the window.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failback", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 runs, a smoke run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report to write")
    args = parser.parse_args(argv)
    settings = BenchSettings.quick() if args.quick else BenchSettings.full()
    runs = []
    with open_lab() as lab:
        for run in range(settings.runs):
            result = run_once(lab, settings, run)
            print(
                f"  run {run + 1}: failback at sweep {result.sweeps_until_failback}, "
                f"invocation {result.move_seconds:.2f} s",
                file=sys.stderr,
                flush=True,
            )
            runs.append(result)
    text = report(settings, runs)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
