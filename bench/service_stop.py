"""Service stops answering: from its last answer to the interface attached on the standby.

Measured end to end in the emulator, with the stack's default probing. Each run has a fresh
account and pair; the failover function deployed on the stack's resources (LocalDeployment)
and the prober's real loop (eni_failover.prober.Prober) probing a loopback listener per
instance (emulator.service.PairServices). Once the prober has seen the service answer, the
primary's service stops at a random moment within a probe interval, since a real failure
lands anywhere in the cycle: either its port closes (a crashed daemon: each probe is
refused at once) or it accepts and never answers (a hung one: each probe waits out the
timeout). EC2 meanwhile calls both instances healthy, so the detach is a normal one.

The prober's trigger goes to the stack's trigger topic; what SNS delivered is handed to
the function as the bridge does (emulator.bridge.TriggerDelivery, polled every
DELIVERY_POLL_SECONDS). EC2's latencies are drawn per run as for the swap runs.

Times, all from the moment the service stopped: each failed probe (when it started, from
the trigger's evidence), the trigger sent, the handler started (detection ends here, as in
section 6), the detach accepted, and attached on the standby: the physical moment, attach
accepted + attach latency, as in section 1 (the move is handler started -> attached).
One invocation's loop is measured: the lease and the handover between the scheduled
invocations are not on this path.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.lab import Lab, Witness, clear_function_metrics, require, simulator
from bench.settings import BenchSettings, Drawn
from ec2sim import PairTopology
from emulator.bridge import Delivery, TriggerDelivery
from emulator.delivery import drain
from emulator.deployment import FakeLambdaContext, LocalDeployment
from emulator.endpoint import ACCOUNT_ID, REGION
from emulator.prober import InvocationClock
from emulator.service import Behaviour, PairServices
from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Pair, ProberSettings, Probing
from eni_failover.prober import Prober

PROBE = "http://:80/health"
METRICS_NAMESPACE = "EniFailoverBench"
# How often the stand-in for SNS's delivery to Lambda looks for a trigger.
DELIVERY_POLL_SECONDS = 0.05
# Bounds, never waits: a run that takes longer has failed.
FIRST_ANSWER_SECONDS = 30.0
TRIGGER_SECONDS = 120.0
# The prober's own calls (a publish, the describes before it) retry as in Lambda.
PROBER_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Way:
    """How the service stops answering."""

    key: str
    title: str
    behaviour: Behaviour


WAYS = (
    Way("refused", "Port closed (a crashed daemon): refused at once", Behaviour.DOWN),
    Way("hung", "Accepts, never answers (a hung process): each probe times out", Behaviour.HANGING),
)


@dataclass(frozen=True)
class ServiceStopRun:
    """One run; every time is seconds after the service stopped answering."""

    way: str
    drawn: Drawn
    phase: float  # when in the probe cycle the service stopped, 0 to one interval
    failed_probes: tuple[float, ...]  # when each failed probe of the trigger started
    trigger_sent: float
    handler_started: float
    detach_requested: float
    attached: float
    returned: float

    @property
    def detection(self) -> float:
        return self.handler_started

    @property
    def move(self) -> float:
        return self.attached - self.handler_started


@dataclass(frozen=True)
class ServiceStopResult:
    probing: Probing
    runs: tuple[ServiceStopRun, ...]
    seconds: float  # how long the measurement took
    started_at: datetime
    load: tuple[float, float]

    def of(self, way: str) -> list[ServiceStopRun]:
        return [run for run in self.runs if run.way == way]


def run_service_stop(
    lab: Lab, settings: BenchSettings, progress: Callable[[str], None]
) -> ServiceStopResult:
    started_at, started, load_before = datetime.now(UTC), time.monotonic(), os.getloadavg()[0]
    runs = []
    for way in WAYS:
        for number in range(settings.runs):
            run = _one_run(lab, settings, way, number)
            progress(
                f"service stops ({way.key}) run {number + 1}/{settings.runs}: attached "
                f"{run.attached:.2f} s after the service stopped (detection "
                f"{run.detection:.2f} s, move {run.move:.2f} s)"
            )
            runs.append(run)
    return ServiceStopResult(
        probing=settings.probing,
        runs=tuple(runs),
        seconds=time.monotonic() - started,
        started_at=started_at,
        load=(load_before, os.getloadavg()[0]),
    )


@dataclass
class _Scene:
    """One run's pair, function, listeners and prober, before anything fails."""

    topology: PairTopology
    pair: Pair
    deployment: LocalDeployment
    services: PairServices
    prober: Prober
    stopping: threading.Event
    capture_url: str

    def close(self) -> None:
        self.stopping.set()
        self.services.close()


@dataclass
class _Seen:
    """What happened after the service stopped, as the clocks read it."""

    stopped_wall: datetime
    stopped: float  # time.monotonic()
    delivered: list[Delivery]
    handler_started: list[float]
    returned: float
    witness: Witness


def _one_run(lab: Lab, settings: BenchSettings, way: Way, number: int) -> ServiceStopRun:
    drawn = settings.latencies.draw(settings.seed, number)
    # The moment in the probe cycle the failure lands, reproducible per run.
    rng = random.Random(f"{settings.seed}:service:{number}")  # noqa: S311 - not security
    phase = rng.uniform(0.0, settings.probing.interval_seconds)
    scene = _set_scene(lab, settings, way)
    try:
        seen = _stop_the_service(lab, scene, way, drawn, phase)
    finally:
        scene.close()
    return _checked(lab, scene, seen, way=way, drawn=drawn, phase=phase)


def _set_scene(lab: Lab, settings: BenchSettings, way: Way) -> _Scene:
    lab.fresh_account()
    topology, plain = lab.new_pair(f"probed-{way.key}")
    pair = plain.model_copy(update={"probe": PROBE})
    services = PairServices(
        lab.harness.ec2,
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        interface_id=topology.interface_id,
    )
    stopping = threading.Event()
    # An instance, not its dump: the smoke settings' short interval is below what a
    # deployment accepts, and a model given as an instance is not validated again.
    failover = FailoverConfig(pairs=(pair,), tuning=settings.tuning, probing=settings.probing)
    prober = Prober(
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
    return _Scene(
        topology=topology,
        pair=pair,
        deployment=lab.deployment((pair,), settings.tuning),
        services=services,
        prober=prober,
        stopping=stopping,
        capture_url=capture_triggers(lab),
    )


def _stop_the_service(lab: Lab, scene: _Scene, way: Way, drawn: Drawn, phase: float) -> _Seen:
    handler_started: list[float] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        handler_started.append(time.monotonic())
        return scene.deployment.invoke(event, FakeLambdaContext())

    delivery = TriggerDelivery(
        lab.harness.sqs,
        queue_url=lab.resources.trigger_delivery_queue_url,
        subscription_arn=lab.resources.trigger_subscription_arn,
        invoke=invoke,
    )
    probing = threading.Thread(
        target=scene.prober.run,
        kwargs={"should_stop": scene.stopping.is_set, "deadline": time.monotonic() + 600},
        name="bench-prober",
        daemon=True,
    )
    witness = Witness()
    with simulator(drawn) as sim:
        witness.install(sim)
        probing.start()
        try:
            require(
                wait_until(
                    lambda: service_answered(scene.prober, scene.pair.name), FIRST_ANSWER_SECONDS
                ),
                f"{scene.pair.name}: the prober never saw the service answer",
            )
            time.sleep(phase)
            stopped_wall, stopped = datetime.now(UTC), time.monotonic()
            scene.services.primary.set(way.behaviour)
            delivered: list[Delivery] = []
            while not delivered and time.monotonic() < stopped + TRIGGER_SECONDS:
                delivered = delivery.poll()
                if not delivered:
                    time.sleep(DELIVERY_POLL_SECONDS)
            returned = time.monotonic()
            sim.settle()
        finally:
            scene.stopping.set()
            probing.join(timeout=30)
    return _Seen(stopped_wall, stopped, delivered, handler_started, returned, witness)


def _checked(
    lab: Lab, scene: _Scene, seen: _Seen, *, way: Way, drawn: Drawn, phase: float
) -> ServiceStopRun:
    """The run's times, once everything it must have done is confirmed."""
    name, topology = scene.pair.name, scene.topology
    require(len(seen.delivered) == 1, f"{name}: no trigger reached the function")
    [done] = seen.delivered
    result = done.result
    require(result is not None, f"{name}: the function failed: {done.error}")
    assert result is not None  # for the type checker; required above
    [outcome] = result["outcomes"]
    require(
        outcome["outcome"] == "swapped" and outcome["trigger"]["kind"] == "probe",
        f"{name}: expected a swap on the probe trigger, got {outcome['outcome']}: "
        f"{outcome['summary']}",
    )
    where, status = lab.where(topology.interface_id)
    require(
        where == topology.standby_instance_id and status == "attached",
        f"{name}: interface is on {where} ({status}), not on the standby",
    )
    attaches = seen.witness.attaches_of(topology.interface_id)
    require(len(attaches) == 1, f"{name}: {len(attaches)} successful attaches, expected 1")
    detaches = seen.witness.detaches_of(topology.attachment_id)
    require(bool(detaches), f"{name}: no detach was accepted")
    triggers = [
        json.loads(json.loads(body)["Message"])
        for body in drain(lab.harness.sqs, scene.capture_url)
    ]
    require(len(triggers) == 1, f"{name}: {len(triggers)} probe triggers, expected 1")
    notifications = scene.deployment.notifications()
    require(
        [n["attributes"].get("outcome") for n in notifications] == ["swapped"],
        f"{name}: expected one 'swapped' notification, got {notifications}",
    )
    clear_function_metrics()

    [trigger] = triggers

    def after(moment: str) -> float:
        return (datetime.fromisoformat(moment) - seen.stopped_wall).total_seconds()

    [started] = seen.handler_started
    return ServiceStopRun(
        way=way.key,
        drawn=drawn,
        phase=phase,
        failed_probes=tuple(after(f["at"]) for f in trigger["detail"]["failures"]),
        trigger_sent=after(trigger["time"]),
        handler_started=started - seen.stopped,
        detach_requested=detaches[0][0] - seen.stopped,
        attached=attaches[0] + drawn.attach - seen.stopped,
        returned=seen.returned - seen.stopped,
    )


def service_answered(prober: Prober, pair: str) -> bool:
    last = prober.last.get(pair)
    return last is not None and last.service.ok


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(DELIVERY_POLL_SECONDS)
    return condition()


def capture_triggers(lab: Lab, queue_name: str = "bench-probe-triggers") -> str:
    """A queue on the trigger topic: what the prober published, beside the function's own."""
    sqs = lab.harness.sqs
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = lab.resources.trigger_topic_arn
    lab.harness.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    # moto sets up each SNS-to-SQS delivery on the first publish (about 0.1 s); pay for it
    # here, not on the prober's trigger.
    lab.harness.sns.publish(TopicArn=topic, Message="warm-up")
    drain(sqs, url)
    drain(sqs, lab.resources.trigger_delivery_queue_url)
    return url
