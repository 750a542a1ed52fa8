"""The same move, the ways other failover tools make it, on the same simulator in the same run.

Each way is a small, faithful re-implementation of a pattern in wide use:

- waiter: detach, boto3's `network_interface_available` waiter with its default settings
  (a describe at once, then every 20 s, up to 10 times), attach. The AWS CLI's
  `aws ec2 wait network-interface-available` is the same waiter.
- sleep: detach, a fixed `sleep 5`, attach: what keepalived notify scripts commonly do.
- no wait: detach, then attach at once and again on every InvalidNetworkInterface.InUse,
  with no pause, until EC2 accepts.

None of them checks the standby or forces a detach; each uses a plain `boto3.client("ec2")`
as such a script would. The move starts when the way is called (a script has no trigger to
parse), and "attached" is the physical moment: the accepted attach plus its latency.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError, WaiterError

from bench.lab import BenchmarkFailed, CallCounter, Lab, Witness, require, simulator
from bench.settings import BenchSettings, Drawn

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

IN_USE = "InvalidNetworkInterface.InUse"


@dataclass(frozen=True)
class WayReport:
    """What a way's own code saw: attach calls EC2 refused, and why it stopped, if it did."""

    rejected: int = 0
    error: str | None = None


Move = Callable[["EC2Client", str, str], WayReport]


def _attachment(ec2: EC2Client, interface_id: str) -> dict[str, Any]:
    [interface] = ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])[
        "NetworkInterfaces"
    ]
    return dict(interface["Attachment"])


def with_waiter(delay_seconds: int | None) -> Move:
    def move(ec2: EC2Client, interface_id: str, target: str) -> WayReport:
        attachment = _attachment(ec2, interface_id)
        ec2.detach_network_interface(AttachmentId=attachment["AttachmentId"])
        waiter = ec2.get_waiter("network_interface_available")
        try:
            if delay_seconds is None:
                waiter.wait(NetworkInterfaceIds=[interface_id])
            else:
                waiter.wait(
                    NetworkInterfaceIds=[interface_id], WaiterConfig={"Delay": delay_seconds}
                )
        except WaiterError as error:
            return WayReport(error=f"waiter gave up: {error}")
        _attach_at_same_index(ec2, interface_id, target, attachment)
        return WayReport()

    return move


def with_fixed_sleep(seconds: float) -> Move:
    def move(ec2: EC2Client, interface_id: str, target: str) -> WayReport:
        attachment = _attachment(ec2, interface_id)
        ec2.detach_network_interface(AttachmentId=attachment["AttachmentId"])
        time.sleep(seconds)
        try:
            _attach_at_same_index(ec2, interface_id, target, attachment)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            return WayReport(rejected=1 if code == IN_USE else 0, error=f"attach failed: {code}")
        return WayReport()

    return move


def without_waiting(give_up_seconds: float) -> Move:
    def move(ec2: EC2Client, interface_id: str, target: str) -> WayReport:
        attachment = _attachment(ec2, interface_id)
        ec2.detach_network_interface(AttachmentId=attachment["AttachmentId"])
        rejected = 0
        # A real loop spins until killed; we stop it so a hung detach cannot hang the run.
        give_up = time.monotonic() + give_up_seconds
        while True:
            try:
                _attach_at_same_index(ec2, interface_id, target, attachment)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "Unknown")
                if code != IN_USE:
                    return WayReport(rejected=rejected, error=f"attach failed: {code}")
                rejected += 1
                if time.monotonic() > give_up:
                    return WayReport(
                        rejected=rejected,
                        error=f"still refused after {give_up_seconds:g} s; stopped",
                    )
                continue
            return WayReport(rejected=rejected)

    return move


@dataclass(frozen=True)
class Way:
    key: str
    title: str
    move: Move


def ways(settings: BenchSettings) -> dict[str, Way]:
    delay = settings.waiter_delay_seconds
    waiter_title = (
        "boto3 waiter network_interface_available, default config (20 s delay)"
        if delay is None
        else f"boto3 waiter network_interface_available, {delay} s delay"
    )
    return {
        "waiter": Way("waiter", waiter_title, with_waiter(delay)),
        "sleep": Way(
            "sleep",
            f"fixed sleep({settings.fixed_sleep_seconds:g}) after detach (keepalived notify)",
            with_fixed_sleep(settings.fixed_sleep_seconds),
        ),
        "no-wait": Way(
            "no-wait",
            "attach at once after detach, retry on InUse with no pause",
            without_waiting(settings.give_up_seconds),
        ),
    }


@dataclass(frozen=True)
class WayRun:
    drawn: Drawn
    attached: float | None  # seconds after the way was called; None: never attached
    returned: float
    moved: bool
    report: WayReport
    calls: Counter[str]


@dataclass(frozen=True)
class WayResult:
    way: Way
    runs: tuple[WayRun, ...]
    paired: bool  # each run drew its own latencies (the same draws as the project's runs)
    hung: bool  # the detach hung until forced


def run_paired(
    lab: Lab, settings: BenchSettings, way: Way, runs: int, progress: Callable[[str], None]
) -> WayResult:
    """One run after another, each with that run number's latencies."""
    results = []
    for number in range(runs):
        drawn = settings.latencies.draw(settings.seed, number)
        [run] = _batch(lab, [(way, False)], drawn)
        require(run.moved, f"{way.key} run {number + 1}: the interface did not reach the standby")
        progress(f"{way.key} run {number + 1}/{runs}: attached after {run.attached:.3f} s")
        results.append(run)
    return WayResult(way=way, runs=tuple(results), paired=True, hung=False)


def run_side_by_side(
    lab: Lab,
    settings: BenchSettings,
    plan: list[tuple[Way, int, bool]],
    progress: Callable[[str], None],
) -> list[WayResult]:
    """Runs of several ways at once on one simulator with nominal latencies.

    `plan` holds (way, runs, hung). For ways that spend their time asleep (the waiter's
    20 s delay, sleep(5)) the sleep sets a run's duration, not the machine, so running
    them together changes little but the wall-clock cost of the benchmark. A hung run
    never moves, whatever runs beside it.
    """
    jobs = [(way, hung) for way, runs, hung in plan for _ in range(runs)]
    done = _batch(lab, jobs, settings.latencies.nominal())
    results = []
    for way, _, hung in plan:
        runs = tuple(
            run
            for (job, job_hung), run in zip(jobs, done, strict=True)
            if (job, job_hung) == (way, hung)
        )
        for number, run in enumerate(runs):
            if hung:
                require(not run.moved, f"{way.key}: moved an interface whose detach never ends")
            else:
                require(
                    run.moved, f"{way.key} run {number + 1}: the interface is not on the standby"
                )
        attached = sorted(r.attached for r in runs if r.attached is not None)
        progress(
            f"{way.key}{' on a hung detach' if hung else ''}: {len(runs)} runs side by side, "
            + (
                f"median attached after {attached[len(attached) // 2]:.3f} s"
                if attached
                else f"{runs[0].report.error}"
            )
        )
        results.append(WayResult(way=way, runs=runs, paired=False, hung=hung))
    return results


def _batch(lab: Lab, jobs: list[tuple[Way, bool]], drawn: Drawn) -> list[WayRun]:
    """Each job (way, hung) moves its own fresh pair, all at the same time, in threads."""
    lab.fresh_account()
    topologies = [lab.new_pair(way.key)[0] for way, _ in jobs]
    counters = [CallCounter() for _ in jobs]
    # One client per script; made here, because boto3's default session is not safe to
    # create clients from several threads at once.
    clients = []
    for counter in counters:
        client = boto3.client("ec2")
        counter.watch(client)
        clients.append(client)
    outcomes: list[tuple[float, float, WayReport] | None] = [None] * len(jobs)

    def work(index: int) -> None:
        topology = topologies[index]
        way, _ = jobs[index]
        started = time.monotonic()
        report = way.move(clients[index], topology.interface_id, topology.standby_instance_id)
        outcomes[index] = (started, time.monotonic() - started, report)

    with simulator(drawn) as sim:
        witness = Witness()
        witness.install(sim)
        for topology, (_, hung) in zip(topologies, jobs, strict=True):
            if hung:
                sim.hang_detach(topology.interface_id)
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sim.settle()
        places = [lab.where(t.interface_id) for t in topologies]

    runs = []
    for index, topology in enumerate(topologies):
        way, _ = jobs[index]
        outcome = outcomes[index]
        if outcome is None:
            raise BenchmarkFailed(f"{way.key}: a run did not finish")
        started, returned, report = outcome
        attaches = witness.attaches_of(topology.interface_id)
        require(len(attaches) <= 1, f"{way.key}: {len(attaches)} successful attaches")
        runs.append(
            WayRun(
                drawn=drawn,
                attached=attaches[0] + drawn.attach - started if attaches else None,
                returned=returned,
                moved=places[index] == (topology.standby_instance_id, "attached"),
                report=report,
                calls=counters[index].calls(),
            )
        )
    return runs


def _attach_at_same_index(ec2: EC2Client, interface_id: str, target: str, attachment: Any) -> None:
    """The attach every comparator makes: the standby, at the index the primary used."""
    ec2.attach_network_interface(
        NetworkInterfaceId=interface_id, InstanceId=target, DeviceIndex=attachment["DeviceIndex"]
    )
