"""Swap time: from the handler receiving the trigger to the interface attached on the standby.

Each run deploys the real function (LocalDeployment: the Dispatcher with idempotency, the
lease, the decision, the swap, the notification) for a fresh pair and invokes it with the
SNS event of the pair's status-check alarm. The simulator says when EC2 accepted the detach
and the attach, so "attached" is the physical moment (attach accepted + attach latency),
not the moment the handler noticed; both are reported, with the handler's return.

The floor is what no implementation can beat on this endpoint: the EC2 latencies that apply
plus two round trips at the median measured in the same run: one to read where the
interface is attached, half of one for the detach to reach EC2 and half of one for the
attach, even for a client that knew the instant the detach finished.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.lab import (
    CallCounter,
    Lab,
    Witness,
    alarm_event,
    clear_function_metrics,
    require,
    simulator,
)
from bench.settings import BenchSettings, Drawn
from eni_failover.config import Tuning
from eni_failover_emulator.deployment import FakeLambdaContext

# Round trips in the floor: describe (find the attachment), then half a round trip each for
# the detach and the attach to reach EC2.
FLOOR_ROUND_TRIPS = 2.0
# Sequential calls a careful mover makes: describe -> detach -> describe (sees "available")
# -> attach. Each call beyond these costs the project one round trip.
CAREFUL_SEQUENTIAL_CALLS = 4


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    # The primary's instance status check is impaired (what the alarm reports), so the
    # project detaches with Force at once; otherwise the primary looks healthy and only a
    # drill lets the alarm move it, with a normal detach.
    source_failed: bool
    # The normal detach never completes; only a detach with Force=True does.
    detach_hangs: bool
    poll_seconds: float
    runs: int

    def effective_detach(self, drawn: Drawn, tuning: Tuning) -> float:
        """The part of the floor spent detaching, given what the project knows."""
        if self.source_failed:
            return drawn.force
        if self.detach_hangs:
            # Nobody can tell a hung detach from a slow one before the grace has passed.
            return tuning.detach_grace_seconds + drawn.force
        return drawn.detach

    def floor_round_trips(self) -> float:
        # A hung detach on a healthy-looking primary needs a second, forced detach call.
        return FLOOR_ROUND_TRIPS + (1 if self.detach_hangs and not self.source_failed else 0)


@dataclass(frozen=True)
class SwapRun:
    drawn: Drawn
    floor: float  # every time below is seconds after the handler received the trigger
    detach_requested: float
    detach_done: float
    attach_requested: float
    attached: float
    confirmed: float  # the handler saw the attachment "attached"
    returned: float  # outcome published, lease released, idempotency record saved
    forced: bool
    calls: Counter[str]
    attempts: Counter[str]
    # Calls made one after another on the way to the attach: before the first detach was
    # sent, and between the detach finishing and the attach being sent.
    calls_before_detach: int
    calls_after_detached: int

    @property
    def overshoot(self) -> float:
        return self.attached - self.floor


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    tuning: Tuning
    runs: tuple[SwapRun, ...]

    def values(self, pick: Callable[[SwapRun], float]) -> list[float]:
        return [pick(run) for run in self.runs]


def scenarios(settings: BenchSettings) -> tuple[Scenario, ...]:
    default_poll = settings.tuning.poll_interval_seconds
    short_poll = settings.short_poll_seconds
    return (
        Scenario(
            "drill",
            "Healthy-looking primary (a drill): normal detach",
            source_failed=False,
            detach_hangs=False,
            poll_seconds=default_poll,
            runs=settings.runs,
        ),
        Scenario(
            "failed",
            "Failed primary (status check impaired), detach hangs until Force",
            source_failed=True,
            detach_hangs=True,
            poll_seconds=default_poll,
            runs=settings.runs,
        ),
        Scenario(
            "hung",
            "Healthy-looking primary, detach hangs: Force after the detach grace",
            source_failed=False,
            detach_hangs=True,
            poll_seconds=default_poll,
            runs=settings.hung_runs,
        ),
        Scenario(
            "drill-fast",
            "Healthy-looking primary (a drill): normal detach",
            source_failed=False,
            detach_hangs=False,
            poll_seconds=short_poll,
            runs=settings.runs,
        ),
        Scenario(
            "failed-fast",
            "Failed primary (status check impaired), detach hangs until Force",
            source_failed=True,
            detach_hangs=True,
            poll_seconds=short_poll,
            runs=settings.runs,
        ),
    )


def tuning_for(settings: BenchSettings, poll_seconds: float) -> Tuning:
    return Tuning.model_validate(
        {**settings.tuning.model_dump(), "poll_interval_seconds": poll_seconds}
    )


def run_scenario(
    lab: Lab,
    settings: BenchSettings,
    scenario: Scenario,
    round_trip: float,
    progress: Callable[[str], None],
) -> ScenarioResult:
    tuning = tuning_for(settings, scenario.poll_seconds)
    runs = []
    for number in range(scenario.runs):
        drawn = settings.latencies.draw(settings.seed, number)
        run = _one_run(lab, scenario, tuning, drawn, round_trip)
        progress(
            f"swap {scenario.key} (poll {scenario.poll_seconds:g} s) run {number + 1}/"
            f"{scenario.runs}: attached after {run.attached:.3f} s, floor {run.floor:.3f} s"
        )
        runs.append(run)
    return ScenarioResult(scenario=scenario, tuning=tuning, runs=tuple(runs))


def _one_run(
    lab: Lab, scenario: Scenario, tuning: Tuning, drawn: Drawn, round_trip: float
) -> SwapRun:
    lab.fresh_account()
    topology, pair = lab.new_pair(scenario.key)
    counter = CallCounter()
    deployment = lab.deployment((pair,), tuning, counter)
    if not scenario.source_failed:
        lab.open_drill(pair)
    with simulator(drawn) as sim:
        witness = Witness()
        witness.install(sim)
        if scenario.source_failed:
            sim.set_status(topology.primary_instance_id, instance="impaired")
        if scenario.detach_hangs:
            sim.hang_detach(topology.interface_id)
        event = alarm_event(pair)

        wall_start = datetime.now(UTC)
        start = time.monotonic()
        report = deployment.invoke(event, FakeLambdaContext())
        returned = time.monotonic() - start

        calls, attempts, log = counter.calls(), counter.attempts(), counter.log()
        sim.settle()
        where, status = lab.where(topology.interface_id)

    [outcome] = report["outcomes"]
    require(
        outcome["outcome"] == "swapped",
        f"{pair.name}: expected a swap, got {outcome['outcome']}: {outcome['summary']}",
    )
    require(
        where == topology.standby_instance_id and status == "attached",
        f"{pair.name}: interface is on {where} ({status}), not on the standby",
    )
    attaches = witness.attaches_of(topology.interface_id)
    require(len(attaches) == 1, f"{pair.name}: {len(attaches)} successful attaches, expected 1")
    detaches = witness.detaches_of(topology.attachment_id)
    require(bool(detaches), f"{pair.name}: no detach was accepted")
    notifications = deployment.notifications()
    require(
        [n["attributes"].get("outcome") for n in notifications] == ["swapped"],
        f"{pair.name}: expected one 'swapped' notification, got {notifications}",
    )
    clear_function_metrics()

    first_detach_at, first_forced = detaches[0]
    forced_at = next((at for at, force in detaches if force), None)
    if scenario.detach_hangs:
        require(forced_at is not None, f"{pair.name}: a hung detach finished without Force")
    detach_done = (
        (forced_at or first_detach_at) + drawn.force
        if scenario.detach_hangs or first_forced
        else first_detach_at + drawn.detach
    )
    [attach_at] = attaches
    confirmed_step = next(s for s in outcome["steps"] if s["step"] == "attached")
    confirmed = (datetime.fromisoformat(confirmed_step["at"]) - wall_start).total_seconds()
    floor = (
        scenario.effective_detach(drawn, tuning)
        + drawn.attach
        + scenario.floor_round_trips() * round_trip
    )
    detach_sent = next(at for at, op in log if op == "ec2:DetachNetworkInterface")
    attach_sent = next(at for at, op in log if op == "ec2:AttachNetworkInterface")
    return SwapRun(
        drawn=drawn,
        floor=floor,
        detach_requested=first_detach_at - start,
        detach_done=detach_done - start,
        attach_requested=attach_at - start,
        attached=attach_at + drawn.attach - start,
        confirmed=confirmed,
        returned=returned,
        forced=forced_at is not None,
        calls=calls,
        attempts=attempts,
        calls_before_detach=sum(1 for at, _ in log if at < detach_sent),
        calls_after_detached=_calls_from_last_poll(log, attach_sent),
    )


def _calls_from_last_poll(log: list[tuple[float, str]], attach_sent: float) -> int:
    """Calls from the poll that saw the interface detached up to the attach, inclusive.

    That poll is the last DescribeNetworkInterfaces before the attach: once it has seen
    the interface available, the failover polls no more until it has attached.
    """
    polls = [at for at, op in log if op == "ec2:DescribeNetworkInterfaces" and at < attach_sent]
    since = polls[-1] if polls else attach_sent
    return sum(1 for at, _ in log if since <= at <= attach_sent)
