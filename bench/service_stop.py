"""Service stops answering: from its last answer to the address usable on the standby, for
every move kind (a floating interface, a /32 route, an Elastic IP, a secondary IP); and the
soak that proves a lossy network moves nothing (bench.soak).

Measured end to end in the emulator, with the stack's default probing. Each run has a fresh
account and pair of one kind; the failover function deployed on the stack's resources
(LocalDeployment) and the prober's real loop (eni_failover.prober.Prober) probing a loopback
listener per instance (eni_failover_emulator.service.PairServices, which delivers the pair's service
address to whichever instance holds it now, as the VPC would). Where the prober probes:
the floating interface's private IP; a route's overlay IP (the host of its /32); a
secondary IP; and for an Elastic IP, which clients reach from outside the VPC where the
prober does not probe, the private IP of the instance holding it (what the prober does for
a pair of Elastic IPs only). Once the prober has seen the service answer, the primary's
service stops at a random moment within a probe interval, since a real failure lands
anywhere in the cycle: either its port closes (a crashed daemon: each probe is refused at
once) or it accepts and never answers (a hung one: each probe waits out the timeout). EC2
meanwhile calls both instances healthy.

The prober's trigger goes to the stack's trigger topic; what SNS delivered is handed to
the function as the bridge does (eni_failover_emulator.bridge.TriggerDelivery, polled every
DELIVERY_POLL_SECONDS). EC2's latencies are drawn per run as for the swap runs, and the
simulator's describe delays for routes and Elastic IPs are section 9's.

Times, all from the moment the service stopped: each failed probe (when it started, from
the trigger's evidence), the trigger sent, the handler started (detection ends here, as in
section 6), the move's first call accepted by EC2 (the detach; ReplaceRoute,
AssociateAddress, AssignPrivateIpAddresses), and the address usable on the standby: the
physical moment, as in sections 1 and 9 (an interface: attach accepted + attach latency;
an address: its call accepted + its describe delay). One invocation's loop is measured: the
lease and the handover between the scheduled invocations are not on this path.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench.addresses import KINDS, Accepted, Delays, build, cannot_show, delays, require_on_standby
from bench.lab import Lab, Witness, clear_function_metrics, require
from bench.settings import BenchSettings, Drawn
from eni_failover import prober as prober_module
from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Pair, ProberSettings, Probing
from eni_failover.prober import Prober
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_ec2sim.topology import AddressPairTopology
from eni_failover_emulator.bridge import Delivery, TriggerDelivery
from eni_failover_emulator.delivery import drain
from eni_failover_emulator.deployment import FakeLambdaContext, LocalDeployment
from eni_failover_emulator.endpoint import ACCOUNT_ID, REGION
from eni_failover_emulator.prober import InvocationClock
from eni_failover_emulator.service import Behaviour, PairServices

if TYPE_CHECKING:
    from bench.soak import SoakResult

PROBE = "http://:80/health"
METRICS_NAMESPACE = "EniFailoverBench"
# How often the stand-in for SNS's delivery to Lambda looks for a trigger.
DELIVERY_POLL_SECONDS = 0.05
# Bounds, never waits: a run that takes longer has failed.
FIRST_ANSWER_SECONDS = 30.0
TRIGGER_SECONDS = 120.0
# The prober's own calls (a publish, the describes before it) retry as in Lambda.
PROBER_MAX_ATTEMPTS = 3
# The goals, from the service's last answer to the address usable on the standby:
# a whole interface moves in two calls with EC2's latencies; the lighter kinds in one.
INTERFACE_GOAL_SECONDS = 6.0
ADDRESS_GOAL_SECONDS = 5.0


@dataclass(frozen=True)
class MoveKind:
    key: str  # as the outcome names it (eni_failover.kinds), "interface" for an interface
    title: str
    label: str  # in a sentence
    goal_seconds: float


INTERFACE = MoveKind("interface", "Interface", "interface", INTERFACE_GOAL_SECONDS)
_LABELS = {"route": "route", "elastic-ip": "Elastic IP", "private-ip": "secondary IP"}
MOVE_KINDS = (
    INTERFACE,
    *(MoveKind(k.key, k.title, _LABELS[k.key], ADDRESS_GOAL_SECONDS) for k in KINDS),
)


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

    kind: str
    way: str
    drawn: Drawn
    phase: float  # when in the probe cycle the service stopped, 0 to one interval
    failed_probes: tuple[float, ...]  # when each failed probe of the trigger started
    trigger_sent: float
    handler_started: float
    moved: float  # the move's first call accepted by EC2
    usable: float  # the address usable on the standby
    returned: float
    # An interface's detach: whether the function forced it (None for an address).
    forced: bool | None = None

    @property
    def detection(self) -> float:
        return self.handler_started

    @property
    def move(self) -> float:
        return self.usable - self.handler_started


@dataclass(frozen=True)
class ServiceStopResult:
    probing: Probing
    runs: tuple[ServiceStopRun, ...]
    seconds: float  # how long the measurement took
    started_at: datetime
    load: tuple[float, float]
    # Kinds this version cannot measure here, and why.
    skipped: dict[str, str] = field(default_factory=dict)
    delays: Delays | None = None
    # bench.soak's result, when it ran with the stops.
    soak: SoakResult | None = None

    def of(self, way: str, kind: str | None = None) -> list[ServiceStopRun]:
        return [r for r in self.runs if r.way == way and (kind is None or r.kind == kind)]

    def of_kind(self, kind: str) -> list[ServiceStopRun]:
        return [run for run in self.runs if run.kind == kind]

    def kinds(self) -> tuple[MoveKind, ...]:
        """The kinds measured, in MOVE_KINDS' order."""
        return tuple(k for k in MOVE_KINDS if self.of_kind(k.key))


def run_service_stop(
    lab: Lab,
    settings: BenchSettings,
    progress: Callable[[str], None],
    kinds: tuple[MoveKind, ...] = MOVE_KINDS,
) -> ServiceStopResult:
    started_at, started, load_before = datetime.now(UTC), time.monotonic(), os.getloadavg()[0]
    found = delays()
    runs, skipped = [], {}
    for kind in kinds:
        why = cannot_probe(lab, kind, found)
        if why is not None:
            progress(f"service stops ({kind.title}): not measured: {why}")
            skipped[kind.key] = why
            continue
        for way in WAYS:
            for number in range(settings.service_runs):
                run = one_run(lab, settings, kind, way, number=number, found=found)
                progress(
                    f"service stops ({kind.title}, {way.key}) run {number + 1}/"
                    f"{settings.service_runs}: usable {run.usable:.2f} s after the service "
                    f"stopped (detection {run.detection:.2f} s, move {run.move:.2f} s)"
                )
                runs.append(run)
    return ServiceStopResult(
        probing=settings.probing,
        runs=tuple(runs),
        seconds=time.monotonic() - started,
        started_at=started_at,
        load=(load_before, os.getloadavg()[0]),
        skipped=skipped,
        delays=found,
    )


def cannot_probe(lab: Lab, kind: MoveKind, found: Delays) -> str | None:
    """Why a service stopping cannot be measured for this kind here, or None."""
    if kind is INTERFACE:
        return None
    address_kind = next(k for k in KINDS if k.key == kind.key)
    shown = cannot_show(lab, address_kind, found)
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


@dataclass
class Scene:
    """One run's pair, function, listeners and prober, before anything fails."""

    kind: MoveKind
    topology: PairTopology | AddressPairTopology
    pair: Pair
    deployment: LocalDeployment
    services: PairServices
    prober: Prober
    stopping: threading.Event
    capture_url: str
    # Every address the prober resolved (each probe), for the soak's count.
    resolved: Counter[str] = field(default_factory=Counter)

    def close(self) -> None:
        self.stopping.set()
        self.services.close()

    def triggers(self, lab: Lab) -> list[dict[str, Any]]:
        """The probe triggers sent since the last look (each taken off the capture queue)."""
        return [
            json.loads(json.loads(body)["Message"])
            for body in drain(lab.harness.sqs, self.capture_url)
        ]


@dataclass
class Running:
    """A scene under way: the simulator's witnesses and the function's deliveries."""

    scene: Scene
    sim: FaithfulEC2
    witness: Witness
    accepted: Accepted
    delivery: TriggerDelivery
    handler_started: list[float]

    def moves(self) -> int:
        """EC2 calls that moved something: attaches and address calls accepted."""
        return len(self.witness.attaches) + sum(len(at) for at in self.accepted.at.values())

    def deliver_until(
        self, condition: Callable[[list[Delivery]], bool], seconds: float
    ) -> list[Delivery]:
        """Hand SNS's deliveries to the function until `condition` holds of all delivered
        so far, or `seconds` passed; what was delivered."""
        delivered: list[Delivery] = []
        deadline = time.monotonic() + seconds
        while not condition(delivered) and time.monotonic() < deadline:
            delivered += self.delivery.poll()
            if not condition(delivered):
                time.sleep(DELIVERY_POLL_SECONDS)
        return delivered


@dataclass
class Seen:
    """What happened after the service stopped, as the clocks read it."""

    stopped_wall: datetime
    stopped: float  # time.monotonic()
    delivered: list[Delivery]
    returned: float


def one_run(
    lab: Lab,
    settings: BenchSettings,
    kind: MoveKind,
    way: Way,
    *,
    number: int,
    found: Delays,
    before_the_stop: Callable[[Running], None] | None = None,
) -> ServiceStopRun:
    """One pair of `kind` probed until its service stops in `way`; `before_the_stop`, if
    given, runs once the prober has seen the service answer (the soak)."""
    drawn = settings.latencies.draw(settings.seed, number)
    # The moment in the probe cycle the failure lands, reproducible per run.
    rng = random.Random(f"{settings.seed}:service:{kind.key}:{way.key}:{number}")  # noqa: S311
    phase = rng.uniform(0.0, settings.probing.interval_seconds)
    scene = set_scene(lab, settings, kind, f"probed-{kind.key}-{way.key}")
    try:
        running, seen = _stop_the_service(
            lab, scene, way, drawn=drawn, found=found, phase=phase, before_the_stop=before_the_stop
        )
    finally:
        scene.close()
    return _checked(lab, running, seen, way=way, drawn=drawn, phase=phase, found=found)


def set_scene(lab: Lab, settings: BenchSettings, kind: MoveKind, prefix: str) -> Scene:
    lab.fresh_account()
    topology: PairTopology | AddressPairTopology
    if kind is INTERFACE:
        topology, plain = lab.new_pair(prefix)
        services = PairServices(
            lab.harness.ec2,
            primary_instance_id=topology.primary_instance_id,
            standby_instance_id=topology.standby_instance_id,
            interface_id=topology.interface_id,
        )
    else:
        topology, plain = build(lab, kind.key, f"{prefix}-1")
        services = PairServices(
            lab.harness.ec2,
            primary_instance_id=topology.primary_instance_id,
            standby_instance_id=topology.standby_instance_id,
            route_table_ids=topology.route_table_ids,
            allocation_ids=topology.allocation_ids,
            private_ips=topology.private_ips,
        )
    pair = plain.model_copy(update={"probe": PROBE})
    stopping = threading.Event()
    resolved: Counter[str] = Counter()

    def resolve(address: str, port: int) -> tuple[str, int]:
        resolved[address] += 1
        return services.resolve(address, port)

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
        resolve=resolve,
    )
    return Scene(
        kind=kind,
        topology=topology,
        pair=pair,
        deployment=lab.deployment((pair,), settings.tuning),
        services=services,
        prober=prober,
        stopping=stopping,
        capture_url=capture_triggers(lab),
        resolved=resolved,
    )


def _stop_the_service(
    lab: Lab,
    scene: Scene,
    way: Way,
    *,
    drawn: Drawn,
    found: Delays,
    phase: float,
    before_the_stop: Callable[[Running], None] | None,
) -> tuple[Running, Seen]:
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
        kwargs={"should_stop": scene.stopping.is_set, "deadline": time.monotonic() + 86400},
        name="bench-prober",
        daemon=True,
    )
    sim = FaithfulEC2(
        detach_seconds=drawn.detach,
        attach_seconds=drawn.attach,
        force_detach_seconds=drawn.force,
        **found.simulator_arguments(),
    )
    with sim:
        witness = Witness()
        witness.install(sim)
        running = Running(scene, sim, witness, Accepted(sim), delivery, handler_started)
        probing.start()
        try:
            require(
                wait_until(
                    lambda: service_answered(scene.prober, scene.pair.name), FIRST_ANSWER_SECONDS
                ),
                f"{scene.pair.name}: the prober never saw the service answer",
            )
            if before_the_stop is not None:
                before_the_stop(running)
            time.sleep(phase)
            stopped_wall, stopped = datetime.now(UTC), time.monotonic()
            scene.services.primary.set(way.behaviour)
            delivered = running.deliver_until(bool, TRIGGER_SECONDS)
            returned = time.monotonic()
            sim.settle()
        finally:
            scene.stopping.set()
            probing.join(timeout=30)
    return running, Seen(stopped_wall, stopped, delivered, returned)


def _checked(
    lab: Lab,
    running: Running,
    seen: Seen,
    *,
    way: Way,
    drawn: Drawn,
    phase: float,
    found: Delays,
) -> ServiceStopRun:
    """The run's times, once everything it must have done is confirmed."""
    scene = running.scene
    name, kind = scene.pair.name, scene.kind
    require(len(seen.delivered) == 1, f"{name}: no trigger reached the function")
    [done] = seen.delivered
    result = done.result
    require(result is not None, f"{name}: the function failed: {done.error}")
    assert result is not None  # for the type checker; required above
    [outcome] = result["outcomes"]
    require(
        outcome["outcome"] == "swapped" and outcome["trigger"]["kind"] == "probe",
        f"{name}: expected a move on the probe trigger, got {outcome['outcome']}: "
        f"{outcome['summary']}",
    )
    triggers = scene.triggers(lab)
    require(len(triggers) == 1, f"{name}: {len(triggers)} probe triggers, expected 1")
    notifications = scene.deployment.notifications()
    require(
        [n["attributes"].get("outcome") for n in notifications] == ["swapped"],
        f"{name}: expected one 'swapped' notification, got {notifications}",
    )
    forced: bool | None = None
    if isinstance(scene.topology, PairTopology):
        topology = scene.topology
        where, status = lab.where(topology.interface_id)
        require(
            where == topology.standby_instance_id and status == "attached",
            f"{name}: interface is on {where} ({status}), not on the standby",
        )
        attaches = running.witness.attaches_of(topology.interface_id)
        require(len(attaches) == 1, f"{name}: {len(attaches)} successful attaches, expected 1")
        detaches = running.witness.detaches_of(topology.attachment_id)
        require(bool(detaches), f"{name}: no detach was accepted")
        moved, usable = detaches[0][0], attaches[0] + drawn.attach
        forced = detaches[0][1]
    else:
        require_on_standby(lab, scene.topology, scene.pair)
        [key] = [k for k in running.accepted.at if k]
        at = running.accepted.at[key]
        require(len(at) == 1, f"{name}: {key} was moved {len(at)} times")
        moved, usable = at[0], at[0] + found.of(kind.key)
    clear_function_metrics()

    [trigger] = triggers

    def after(moment: str) -> float:
        return (datetime.fromisoformat(moment) - seen.stopped_wall).total_seconds()

    [started] = running.handler_started
    return ServiceStopRun(
        kind=kind.key,
        way=way.key,
        drawn=drawn,
        phase=phase,
        failed_probes=tuple(after(f["at"]) for f in trigger["detail"]["failures"]),
        trigger_sent=after(trigger["time"]),
        handler_started=started - seen.stopped,
        moved=moved - seen.stopped,
        usable=usable - seen.stopped,
        returned=seen.returned - seen.stopped,
        forced=forced,
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
