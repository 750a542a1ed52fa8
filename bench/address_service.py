"""The service stops answering, per address kind: from its last answer to the address usable
on the standby.

Section 7's measurement (bench.service_stop) for a pair of addresses instead of an
interface: the prober's real loop probes the pair's service address (an overlay IP, the
host of its /32 route; or its first secondary IP) and each instance's own, each mapped to a
loopback listener per instance by emulator.service.PairServices, which delivers the service
address to whichever instance the route points at or whose interface holds the IP, as the
VPC would. Once the prober has seen the service answer, the primary's port closes at a
random moment within a probe interval; the prober's trigger goes through the stack's
trigger topic to the function (the bridge's delivery), which moves the address.

The end is the address usable on the standby, as in section 9: EC2's acceptance of the
move's call plus the describe delay the simulator models. An Elastic IP is reached from
outside the VPC, where the prober does not probe, so it has no run here.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.addresses import Accepted, Delays, Kind, build, cannot_show, require_on_standby
from bench.lab import Lab, clear_function_metrics, require
from bench.service_stop import (
    DELIVERY_POLL_SECONDS,
    FIRST_ANSWER_SECONDS,
    METRICS_NAMESPACE,
    PROBE,
    PROBER_MAX_ATTEMPTS,
    TRIGGER_SECONDS,
    capture_triggers,
    service_answered,
    wait_until,
)
from bench.settings import BenchSettings
from ec2sim import FaithfulEC2
from emulator.bridge import Delivery, TriggerDelivery
from emulator.delivery import drain
from emulator.deployment import FakeLambdaContext
from emulator.endpoint import ACCOUNT_ID, REGION
from emulator.prober import InvocationClock
from emulator.service import Behaviour, PairServices
from eni_failover import prober as prober_module
from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Pair, ProberSettings
from eni_failover.prober import Prober

ELASTIC_IP_UNPROBED = (
    "an Elastic IP is reached from outside the VPC, where the prober does not probe (it "
    "probes a pair of Elastic IPs only on the instances' own addresses)"
)


@dataclass(frozen=True)
class AddressStopRun:
    """One run; every time is seconds after the service stopped answering."""

    phase: float  # when in the probe cycle the service stopped
    failed_probes: tuple[float, ...]
    trigger_sent: float
    handler_started: float
    usable: float  # the address usable on the standby

    @property
    def move(self) -> float:
        return self.usable - self.handler_started


@dataclass(frozen=True)
class AddressStopResult:
    kind: Kind
    runs: tuple[AddressStopRun, ...]
    skipped: str | None = None


def cannot_probe(lab: Lab, kind: Kind, found: Delays) -> str | None:
    """Why a service stopping cannot be measured for this kind here, or None."""
    if kind.key == "elastic-ip":
        return ELASTIC_IP_UNPROBED
    shown = cannot_show(lab, kind, found)
    if shown is not None:
        return shown
    lab.fresh_account()
    _, plain = build(lab, kind.key, f"probe-check-{kind.key}")
    pair = plain.model_copy(update={"probe": PROBE})
    try:
        targets = prober_module.find_targets(lab.harness, [pair])
    except (IndexError, KeyError):
        targets = {}
    target = targets.get(pair.name)
    if target is None or target.service_ip is None:
        return (
            "the prober of this version probes a pair only at its floating interface, and a "
            "pair of addresses has none"
        )
    return None


def run_address_stops(
    lab: Lab,
    settings: BenchSettings,
    kinds: tuple[Kind, ...],
    found: Delays,
    progress: Callable[[str], None],
) -> tuple[AddressStopResult, ...]:
    results = []
    for kind in kinds:
        skipped = cannot_probe(lab, kind, found)
        runs = []
        if skipped is None:
            for number in range(settings.runs):
                run = _one_run(lab, settings, kind, number=number, found=found)
                progress(
                    f"service stops ({kind.title}) run {number + 1}/{settings.runs}: usable "
                    f"{run.usable:.2f} s after the service stopped (detection "
                    f"{run.handler_started:.2f} s, move {run.move:.2f} s)"
                )
                runs.append(run)
        else:
            progress(f"service stops ({kind.title}): not measured: {skipped}")
        results.append(AddressStopResult(kind, tuple(runs), skipped))
    return tuple(results)


def _one_run(
    lab: Lab, settings: BenchSettings, kind: Kind, *, number: int, found: Delays
) -> AddressStopRun:
    rng = random.Random(f"{settings.seed}:address-service:{kind.key}:{number}")  # noqa: S311
    phase = rng.uniform(0.0, settings.probing.interval_seconds)
    lab.fresh_account()
    topology, plain = build(lab, kind.key, f"probed-{kind.key}-{number + 1}")
    pair = plain.model_copy(update={"probe": PROBE})
    services = PairServices(
        lab.harness.ec2,
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        route_table_ids=topology.route_table_ids,
        allocation_ids=topology.allocation_ids,
        private_ips=topology.private_ips,
    )
    stopping = threading.Event()
    prober = _prober(lab, settings, pair, services, stopping)
    deployment = lab.deployment((pair,), settings.tuning)
    capture_url = capture_triggers(lab, "bench-address-probe-triggers")
    handler_started: list[float] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        handler_started.append(time.monotonic())
        return deployment.invoke(event, FakeLambdaContext())

    delivery = TriggerDelivery(
        lab.harness.sqs,
        queue_url=lab.resources.trigger_delivery_queue_url,
        subscription_arn=lab.resources.trigger_subscription_arn,
        invoke=invoke,
    )
    probing = threading.Thread(
        target=prober.run,
        kwargs={"should_stop": stopping.is_set, "deadline": time.monotonic() + 600},
        name="bench-address-prober",
        daemon=True,
    )
    try:
        with FaithfulEC2(**found.simulator_arguments()) as sim:
            accepted = Accepted(sim)
            probing.start()
            try:
                require(
                    wait_until(lambda: service_answered(prober, pair.name), FIRST_ANSWER_SECONDS),
                    f"{pair.name}: the prober never saw the service answer",
                )
                time.sleep(phase)
                stopped_wall, stopped = datetime.now(UTC), time.monotonic()
                services.primary.set(Behaviour.DOWN)
                delivered = _delivered(delivery, stopped)
                sim.settle()
            finally:
                stopping.set()
                probing.join(timeout=30)
    finally:
        services.close()

    name = pair.name
    _require_moved(name, delivered)
    require_on_standby(lab, topology, pair)
    [key] = [k for k in accepted.at if k]
    at = accepted.at[key]
    require(len(at) == 1, f"{name}: {key} was moved {len(at)} times")
    triggers = [
        json.loads(json.loads(body)["Message"]) for body in drain(lab.harness.sqs, capture_url)
    ]
    require(len(triggers) == 1, f"{name}: {len(triggers)} probe triggers, expected 1")
    clear_function_metrics()
    [trigger] = triggers

    def after(moment: str) -> float:
        return (datetime.fromisoformat(moment) - stopped_wall).total_seconds()

    [started] = handler_started
    return AddressStopRun(
        phase=phase,
        failed_probes=tuple(after(f["at"]) for f in trigger["detail"]["failures"]),
        trigger_sent=after(trigger["time"]),
        handler_started=started - stopped,
        usable=at[0] - stopped + found.of(kind.key),
    )


def _delivered(delivery: TriggerDelivery, stopped: float) -> list[Delivery]:
    """What SNS delivered to the function, once something was (bounded)."""
    delivered: list[Delivery] = []
    while not delivered and time.monotonic() < stopped + TRIGGER_SECONDS:
        delivered = delivery.poll()
        if not delivered:
            time.sleep(DELIVERY_POLL_SECONDS)
    return delivered


def _require_moved(name: str, delivered: list[Delivery]) -> None:
    """One delivery, whose invocation moved the pair on the probe's trigger."""
    require(len(delivered) == 1, f"{name}: no trigger reached the function")
    [done] = delivered
    require(done.result is not None, f"{name}: the function failed: {done.error}")
    assert done.result is not None  # for the type checker; required above
    [outcome] = done.result["outcomes"]
    require(
        outcome["outcome"] == "swapped" and outcome["trigger"]["kind"] == "probe",
        f"{name}: expected a move on the probe trigger, got {outcome['outcome']}: "
        f"{outcome['summary']}",
    )


def _prober(
    lab: Lab, settings: BenchSettings, pair: Pair, services: PairServices, stopping: threading.Event
) -> Prober:
    """The prober's real loop for this one pair, reaching it through `services`."""
    # An instance, not its dump: the smoke settings' short interval is below what a
    # deployment accepts, and a model given as an instance is not validated again.
    failover = FailoverConfig(pairs=(pair,), tuning=settings.tuning, probing=settings.probing)
    return Prober(
        settings=ProberSettings(
            failover=failover,
            trigger_topic_arn=lab.resources.trigger_topic_arn,
            state_table_name=lab.resources.state_table_name,
            metrics_namespace=METRICS_NAMESPACE,
            account_id=ACCOUNT_ID,
            region=REGION,
        ),
        clients=AwsClients(region=REGION, max_attempts=PROBER_MAX_ATTEMPTS),
        clock=InvocationClock(stopping),
        resolve=services.resolve,
    )
