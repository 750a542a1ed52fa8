"""`make demo`: a failover drill on the embedded emulator, narrated as it happens.

An AWS endpoint (moto in server mode on 127.0.0.1, with the faithful EC2's latencies) gets
a VPC, a primary and a standby instance and a floating interface with an Elastic IP. The
CDK app is synthesized with those IDs and a health probe for the pair, and the functions
are given the environment the template defines. Two acts follow.

1. The primary is stopped. The EC2 state-change event travels the way it does in AWS
   (EventBridge -> trigger topic -> the SNS event Lambda receives), the real handler runs,
   and the drill shows where the interface went and the email operators get.
2. The primary is started and failed back; then the service on it stops answering while
   EC2 says all is well. The prober's real code (the emulator's prober) notices, its trigger goes
   through the trigger topic to the function (the bridge's delivery), and the interface
   moves; the timeline shows each hop from the moment the service stopped.
3. A zone outage under a pair of addresses: a primary in us-east-1a and a standby in
   us-east-1b, an overlay IP (a /32 route in two route tables) and an Elastic IP on the
   primary. us-east-1a goes into a service disruption (EC2 fails every describe naming the
   primary) and the primary's status checks fail; the status-check alarm goes through the
   trigger topic to the function, which moves both routes and the Elastic IP to the standby
   in the other zone and verifies them; the timeline shows each hop from the alarm.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Pair
from eni_failover.contract import operator_request
from eni_failover.errors import FailoverIncomplete
from eni_failover.outcome import JSON_MARKER
from eni_failover_ec2sim import FaithfulEC2, PairTopology, build_pair
from eni_failover_ec2sim.topology import AddressPairTopology, build_address_pair
from eni_failover_emulator.bridge import Delivery, TriggerDelivery, describe_delivery
from eni_failover_emulator.delivery import drain, take_lambda_events
from eni_failover_emulator.deployment import FakeLambdaContext, LocalDeployment
from eni_failover_emulator.endpoint import REGION, moto_api
from eni_failover_emulator.events import alarm_message, state_change_message
from eni_failover_emulator.prober import LocalProber
from eni_failover_emulator.service import Behaviour, PairServices
from eni_failover_emulator.template import (
    DeployedFunction,
    deploy,
    pair_context,
    probe_context,
    synthesize,
)

# Latencies in the range field reports give for a healthy region (AWS publishes none).
ATTACH_SECONDS = 1.0
DETACH_SECONDS = 2.0
FORCE_DETACH_SECONDS = 0.5
STOP_SECONDS = 1.0
PAIR_NAME = "demo"
NOTIFY_EMAIL = "ops@example.com"
# The pair's health probe: the service each instance runs, as its clients reach it.
PROBE = "http://:80/health"


@dataclass
class Narrator:
    write: Callable[[str], None]
    started: float = 0.0
    # The last seen, for the summary the drill ends with.
    where: str = ""
    subject: str = ""

    def __post_init__(self) -> None:
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        self.write(f"[{time.monotonic() - self.started:6.2f}s] {text}")

    def block(self, text: str) -> None:
        self.write("\n".join(f"           {line}" for line in text.splitlines()))

    def summarize(self) -> None:
        """The drill's last lines, above its verdict: where the interface and the Elastic IP
        ended up and what the operators were told last."""
        self.say("summary:")
        self.block(
            f"{self.where or 'where the interface is: not seen'}\n"
            f"notification subject: {self.subject or '(no notification received)'}"
        )


Handler = Callable[[dict[str, Any], FakeLambdaContext], dict[str, Any]]
# How long the service act waits for each thing it expects (bounded, never a fixed sleep).
PROBER_READY_SECONDS = 15.0
TRIGGER_SECONDS = 60.0
DELIVERY_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class _Stage:
    """What an act works with: the narrator, the emulated AWS, the pair and the stack."""

    narrator: Narrator
    clients: AwsClients
    topology: PairTopology
    deployed: DeployedFunction
    handler: Handler


@dataclass(frozen=True)
class Hop:
    """One step of the service act's timeline, in seconds after the service stopped."""

    seconds: float
    what: str


@dataclass
class ServiceAct:
    """What the second act saw: the move, the one notification, and each hop's time."""

    moved: bool
    outcome: dict[str, Any] | None
    notification: dict[str, Any] | None
    hops: tuple[Hop, ...]
    triggers_sent: int

    def hop(self, starts: str) -> Hop | None:
        return next((h for h in self.hops if h.what.startswith(starts)), None)


@dataclass
class ZoneAct:
    """What the third act saw: where each address ended, the one notification, each hop."""

    topology: AddressPairTopology
    # Each address ("rtb-... 10.9.0.10/32", the Elastic IP's public IP) -> the instance
    # whose primary interface EC2 shows it on after the move.
    where: dict[str, str | None]
    outcome: dict[str, Any] | None
    notification: dict[str, Any] | None
    hops: tuple[Hop, ...]
    # What EC2 answered a describe of the primary while its zone was disrupted.
    primary_described: str
    # Each instance's zone, as EC2 describes it once the zone is back.
    zones: dict[str, str]

    @property
    def moved(self) -> bool:
        standby = self.topology.standby_instance_id
        return (
            bool(self.where)
            and all(on == standby for on in self.where.values())
            and self.outcome is not None
            and self.outcome["outcome"] == "swapped"
        )

    def hop(self, starts: str) -> Hop | None:
        return next((h for h in self.hops if h.what.startswith(starts)), None)


@dataclass
class DrillResult:
    moved: bool
    outcome: dict[str, Any]
    notification: dict[str, Any] | None
    service: ServiceAct | None = None
    zones: ZoneAct | None = None

    @property
    def passed(self) -> bool:
        service, zones = self.service, self.zones
        return (
            self.moved
            and self.notification is not None
            and service is not None
            and service.moved
            and service.notification is not None
            and service.triggers_sent == 1
            and zones is not None
            and zones.moved
            and zones.notification is not None
        )


@contextmanager
def emulated_aws() -> Iterator[str]:
    """moto in server mode on loopback, with fake credentials, for this process and any child."""
    saved = dict(os.environ)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            # The drill launches from a made-up image; moto's sample AMIs only cost time.
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    # The emulator's HTTP server would log every request; the drill narrates instead.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    # moto keeps its accounts in this process: start empty, and leave nothing behind for
    # the next emulated account (the tests and the benchmarks open several in one process).
    moto_api(endpoint, "reset")
    try:
        yield endpoint
    finally:
        moto_api(endpoint, "reset")
        server.stop()
        os.environ.clear()
        os.environ.update(saved)


def run_drill(write: Callable[[str], None] = print) -> DrillResult:
    narrator = Narrator(write)
    with (
        emulated_aws() as endpoint,
        FaithfulEC2(
            attach_seconds=ATTACH_SECONDS,
            detach_seconds=DETACH_SECONDS,
            force_detach_seconds=FORCE_DETACH_SECONDS,
            stop_seconds=STOP_SECONDS,
        ) as sim,
    ):
        narrator.say(f"emulated AWS endpoint at {endpoint} (moto server + faithful EC2)")
        narrator.block(
            f"EC2 latencies: attach {ATTACH_SECONDS:g} s, detach {DETACH_SECONDS:g} s, "
            f"forced detach {FORCE_DETACH_SECONDS:g} s, stop {STOP_SECONDS:g} s"
        )
        clients = AwsClients(region=REGION)
        topology = build_pair(clients.ec2, name=PAIR_NAME, sim=sim)
        _describe_topology(narrator, topology)

        deployed, template = _deploy_stack(narrator, clients, topology)
        handler = _load_function(narrator, deployed)

        narrator.say("act 1: the primary stops")
        narrator.say(f"primary {topology.primary_instance_id} is stopped (StopInstances)")
        clients.ec2.stop_instances(InstanceIds=[topology.primary_instance_id])
        event = state_change_message(instance_id=topology.primary_instance_id, state="stopping")
        clients.sns.publish(TopicArn=deployed.trigger_topic_arn, Message=json.dumps(event))
        narrator.say(
            "EventBridge rule matched 'EC2 Instance State-change Notification' (stopping) "
            "and published it to the trigger topic"
        )
        [lambda_event] = take_lambda_events(
            clients.sqs, deployed.trigger_delivery_queue_url, deployed.trigger_subscription_arn
        )
        message_id = lambda_event["Records"][0]["Sns"]["MessageId"]
        narrator.say(f"SNS delivered it to the function (record {message_id})")
        report = handler(
            lambda_event, FakeLambdaContext(remaining_seconds=deployed.timeout_seconds)
        )
        [outcome] = report["outcomes"]
        for step in outcome["steps"]:
            narrator.block(f"+{step['seconds']:5.2f} s  {step['step']}: {step['detail']}")
        narrator.say(f"function returned: {outcome['outcome']} - {outcome['summary']}")

        moved = _show_where_it_is(narrator, clients, topology)
        notification = _show_notification(narrator, clients, deployed)

        stage = _Stage(narrator, clients, topology, deployed, handler)
        service = _service_act(stage, endpoint)
        zones = _zone_outage_act(narrator, clients, sim, template)
        result = DrillResult(
            moved=moved, outcome=outcome, notification=notification, service=service, zones=zones
        )
        narrator.summarize()
        narrator.say(_verdict(result, outcome))
        return result


def _verdict(result: DrillResult, outcome: dict[str, Any]) -> str:
    service, zones = result.service, result.zones
    if not result.passed or service is None or zones is None:
        moved = service is not None and service.moved
        return (
            f"drill FAILED: act 1 {'moved' if result.moved else 'did not move'} the interface, "
            f"act 2 {'moved' if moved else 'did not move'} it, act 3 "
            f"{'moved' if zones is not None and zones.moved else 'did not move'} the addresses"
        )
    invoked, attached = service.hop("function invoked"), service.hop("attached")
    noticed = f"{invoked.seconds:.1f} s" if invoked else "?"
    total = f"{attached.seconds:.1f} s" if attached else "?"
    reached, verified = zones.hop("function invoked"), zones.hop("verified")
    return (
        f"drill passed. Act 1: the stopped primary's interface was on the standby "
        f"{outcome['swap_seconds']:.1f} s after the function got the state-change event. "
        f"Act 2: on the standby {total} after the service stopped answering ({noticed} to "
        "notice and reach the function, the rest to move). "
        f"Act 3: with {ZONE_PRIMARY} disrupted, both routes and the Elastic IP were verified "
        f"on the standby in {ZONE_STANDBY} {_seconds(verified)} after the alarm "
        f"({_seconds(reached)} to reach the function, the rest to look, move and verify)."
    )


def _seconds(hop: Hop | None) -> str:
    return f"{hop.seconds:.1f} s" if hop else "?"


def _describe_topology(narrator: Narrator, topology: PairTopology) -> None:
    narrator.say("created a VPC, one subnet, two instances and a floating interface:")
    narrator.block(
        f"primary  {topology.primary_instance_id}\n"
        f"standby  {topology.standby_instance_id}\n"
        f"floating {topology.interface_id} on the primary at device index "
        f"{topology.device_index}, MAC {topology.mac_address}, private IP "
        f"{', '.join(topology.private_ips)}, Elastic IP {topology.public_ip}"
    )


def _deploy_stack(
    narrator: Narrator, clients: AwsClients, topology: PairTopology
) -> tuple[DeployedFunction, dict[str, Any]]:
    # The stack's default probing (every 1 s, 1 s timeout, 5 failures in a row, confirmations
    # 0.25 s apart once one failed): what a deploy gets.
    context = pair_context(
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        interface_id=topology.interface_id,
        notify_email=NOTIFY_EMAIL,
        pair_name=PAIR_NAME,
    ) | probe_context(probe=PROBE, vpc_id=topology.vpc_id, subnet_ids=(topology.subnet_id,))
    # Said before it starts: the longest silent step of the demo.
    narrator.say(
        f"synthesizing the app (about 20 s): the CDK app with those IDs and -c probe={PROBE}, "
        "the same app `cdk deploy` runs"
    )
    with tempfile.TemporaryDirectory(prefix="eni-failover-demo-") as outdir:
        template = synthesize(context, Path(outdir))
    deployed = deploy(template, clients)
    narrator.say(
        f"deployed from the template: trigger topic, notification topic (email {NOTIFY_EMAIL}), "
        "dead-letter queue, state table"
    )
    narrator.block(
        "function environment, as the template defines it: "
        + ", ".join(sorted(deployed.environment))
    )
    if deployed.prober is not None:
        narrator.block(
            "prober environment, as the template defines it: "
            + ", ".join(sorted(deployed.prober.environment))
        )
    return deployed, template


def _load_function(narrator: Narrator, deployed: DeployedFunction) -> Handler:
    os.environ.update(deployed.environment)
    os.environ.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": "eni-failover-demo",
            # The function logs JSON at INFO in AWS; the drill narrates instead.
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    from eni_failover import handler  # noqa: PLC0415 - reads its environment at import
    from eni_failover.observability import logger  # noqa: PLC0415

    # A new deployment's function starts cold: a drill run before this one in the same
    # process (the tests run two) must not leave its settings and clients behind.
    handler._dispatcher = None

    # The logger may have been created before the env. ERROR, not WARNING: the prober
    # warns of each trigger it sends, which the drill's timeline shows instead.
    logger.setLevel(logging.ERROR)
    narrator.say(f"function handler loaded: {handler.__name__}.lambda_handler")
    return handler.lambda_handler


def _show_where_it_is(narrator: Narrator, clients: AwsClients, topology: PairTopology) -> bool:
    [eni] = clients.ec2.describe_network_interfaces(NetworkInterfaceIds=[topology.interface_id])[
        "NetworkInterfaces"
    ]
    attachment = eni.get("Attachment", {})
    [address] = clients.ec2.describe_addresses(PublicIps=[topology.public_ip or ""])["Addresses"]
    role = {
        topology.primary_instance_id: " (the primary)",
        topology.standby_instance_id: " (the standby)",
    }.get(str(attachment.get("InstanceId")), "")
    narrator.where = (
        f"{topology.interface_id}: {attachment.get('Status')} to {attachment.get('InstanceId')}"
        f"{role} at device index {attachment.get('DeviceIndex')}, MAC {eni.get('MacAddress')}\n"
        f"Elastic IP {address.get('PublicIp')}: on {address.get('NetworkInterfaceId')}, "
        f"instance {address.get('InstanceId')}"
    )
    narrator.say("where things are now:")
    narrator.block(narrator.where)
    return (
        attachment.get("InstanceId") == topology.standby_instance_id
        and attachment.get("Status") == "attached"
        and address.get("NetworkInterfaceId") == topology.interface_id
    )


# --- act 2: the service stops answering ---------------------------------------------------


def _service_act(stage: _Stage, endpoint: str) -> ServiceAct | None:
    narrator, clients = stage.narrator, stage.clients
    topology, deployed = stage.topology, stage.deployed
    if deployed.prober is None:
        narrator.say("act 2 skipped: the template has no prober")
        return None
    narrator.say("act 2: the service on the primary stops answering while EC2 says all is well")
    _fail_back(stage)

    services = PairServices(
        clients.ec2,
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        interface_id=topology.interface_id,
    )
    prober = LocalProber(
        deployed.prober.environment,
        name=deployed.prober.function_name,
        timeout_seconds=deployed.prober.timeout_seconds,
        endpoint_url=endpoint,
        resolve=services.resolve,
    )
    # What the prober publishes, seen beside the function's own subscription.
    capture_url = _subscribe_capture(clients, deployed.trigger_topic_arn)
    try:
        prober.start()
        probing = prober.settings.failover.probing
        narrator.say(
            f"prober started, as its schedule starts it every minute: {PROBE} on the floating "
            f"interface's address ({', '.join(topology.private_ips)}) and on each instance's "
            f"own, every {probing.interval_seconds:g} s with a {probing.timeout_seconds:g} s "
            f"timeout, after a failed one {probing.confirm_seconds:g} s apart; "
            f"{probing.failures} failures in a row make a failure"
        )
        narrator.block(
            f"the service: a listener on {_address(services.primary.address)} for the primary, "
            f"{_address(services.standby.address)} for the standby"
        )
        if not _wait_for(lambda: _service_answers(prober), PROBER_READY_SECONDS):
            narrator.say("the prober never saw the service answer; act 2 FAILED")
            return ServiceAct(False, None, None, (), prober.triggers_sent)
        narrator.say(f"the prober sees the service answer: {_last_answer(prober)}")
        return _stop_the_service(stage, services, prober, capture_url)
    finally:
        prober.stop()
        services.close()


def _fail_back(stage: _Stage) -> None:
    narrator, clients = stage.narrator, stage.clients
    topology, deployed = stage.topology, stage.deployed
    clients.ec2.start_instances(InstanceIds=[topology.primary_instance_id])
    narrator.say(
        f"primary {topology.primary_instance_id} started again; the operator fails back "
        f"(eni-failover failback {PAIR_NAME})"
    )
    report = stage.handler(
        operator_request("failback", pair=PAIR_NAME, requested_by="the demo"),
        FakeLambdaContext(remaining_seconds=deployed.timeout_seconds),
    )
    [outcome] = report["outcomes"]
    narrator.say(f"function returned: {outcome['outcome']} - {outcome['summary']}")
    # Its notification is the failback's; the act shows its own.
    drain(clients.sqs, deployed.inbox_queue_url)


def _stop_the_service(
    stage: _Stage, services: PairServices, prober: LocalProber, capture_url: str
) -> ServiceAct:
    narrator, clients = stage.narrator, stage.clients
    topology, deployed = stage.topology, stage.deployed
    invoked: list[datetime] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        invoked.append(datetime.now(UTC))
        return stage.handler(event, FakeLambdaContext(remaining_seconds=deployed.timeout_seconds))

    delivery = TriggerDelivery(
        clients.sqs,
        queue_url=deployed.trigger_delivery_queue_url,
        subscription_arn=deployed.trigger_subscription_arn,
        invoke=invoke,
    )
    stopped_at = datetime.now(UTC)
    services.primary.set(Behaviour.DOWN)
    narrator.say(
        f"the service on the primary stops answering (its port closes); EC2 says "
        f"{_ec2_view(clients, topology)}"
    )
    delivered = _wait_for_delivery(delivery)
    if delivered is None or delivered.result is None:
        narrator.say(
            "act 2 FAILED: "
            + (describe_delivery(delivered) if delivered else "no trigger reached the function")
        )
        return ServiceAct(False, None, None, (), prober.triggers_sent)
    narrator.say(describe_delivery(delivered))
    [outcome] = delivered.result["outcomes"]
    triggers = [json.loads(json.loads(body)["Message"]) for body in drain(clients.sqs, capture_url)]
    hops = _hops(stopped_at, triggers, invoked, outcome)
    narrator.say("the timeline, from the moment the service stopped answering:")
    narrator.block("\n".join(f"+{hop.seconds:5.2f} s  {hop.what}" for hop in hops))
    moved = _show_where_it_is(narrator, clients, topology)
    notification = _show_notification(narrator, clients, deployed)
    return ServiceAct(
        moved=moved and outcome["outcome"] == "swapped",
        outcome=outcome,
        notification=notification,
        hops=tuple(hops),
        triggers_sent=len(triggers),
    )


def _hops(
    stopped_at: datetime,
    triggers: list[dict[str, Any]],
    invoked: list[datetime],
    outcome: dict[str, Any],
) -> list[Hop]:
    def after(moment: datetime | str) -> float:
        at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return (at - stopped_at).total_seconds()

    hops = [Hop(0.0, "the service on the primary stops answering")]
    for trigger in triggers:
        failures = trigger["detail"]["failures"]
        for number, failure in enumerate(failures, start=1):
            verdict = ", in a row: a failure" if number == len(failures) else ""
            hops.append(
                Hop(
                    after(failure["at"]),
                    f"probe {number} of {len(failures)} failed: {failure['target']}: "
                    f"{failure['error']}{verdict}",
                )
            )
        standby = trigger["detail"].get("standby") or {}
        answered = "answers" if standby.get("ok") else "does not answer"
        hops.append(
            Hop(
                after(trigger["time"]),
                f"probe trigger sent to the trigger topic (the standby's own address "
                f"{answered} the same probe)",
            )
        )
    hops += [Hop(after(at), "function invoked with the SNS delivery") for at in invoked]
    hops += [
        Hop(after(step["at"]), f"{step['step']}: {step['detail']}") for step in outcome["steps"]
    ]
    return sorted(hops, key=lambda hop: hop.seconds)


def _wait_for_delivery(delivery: TriggerDelivery) -> Delivery | None:
    deadline = time.monotonic() + TRIGGER_SECONDS
    while time.monotonic() < deadline:
        delivered = delivery.poll()
        if delivered:
            return delivered[0]
        time.sleep(DELIVERY_POLL_SECONDS)
    return None


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(DELIVERY_POLL_SECONDS)
    return condition()


def _service_answers(prober: LocalProber) -> bool:
    current = prober.current
    last = current.last.get(PAIR_NAME) if current else None
    return last is not None and last.service.ok


def _last_answer(prober: LocalProber) -> str:
    current = prober.current
    last = current.last.get(PAIR_NAME) if current else None
    return last.service.describe() if last else "-"


def _ec2_view(clients: AwsClients, topology: PairTopology) -> str:
    """How EC2 sees the primary: the state and both status checks."""
    [status] = clients.ec2.describe_instance_status(InstanceIds=[topology.primary_instance_id])[
        "InstanceStatuses"
    ]
    return (
        f"{topology.primary_instance_id} is {status['InstanceState']['Name']}, system status "
        f"{status['SystemStatus']['Status']}, instance status {status['InstanceStatus']['Status']}"
    )


def _subscribe_capture(clients: AwsClients, topic_arn: str) -> str:
    url = clients.sqs.create_queue(QueueName="DemoTriggerCapture")["QueueUrl"]
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    clients.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def _address(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


def _show_notification(
    narrator: Narrator, clients: AwsClients, deployed: DeployedFunction
) -> dict[str, Any] | None:
    envelope = _receive_notification(narrator, clients, deployed)
    if envelope is not None:
        narrator.subject = str(envelope.get("Subject"))
        _show_envelope(narrator, deployed, envelope)
    return envelope


def _receive_notification(
    narrator: Narrator, clients: AwsClients, deployed: DeployedFunction
) -> dict[str, Any] | None:
    """The one notification in the stack's inbox, or None (and why)."""
    received = [json.loads(body) for body in drain(clients.sqs, deployed.inbox_queue_url)]
    if len(received) != 1:
        narrator.say(f"expected one notification, received {len(received)}")
        return None
    [envelope] = received
    return dict(envelope)


def _show_envelope(
    narrator: Narrator, deployed: DeployedFunction, envelope: dict[str, Any]
) -> None:
    narrator.say(
        f"notification received from the notification topic (as emailed to "
        f"{', '.join(deployed.email_endpoints)}):"
    )
    message, _, machine = str(envelope["Message"]).partition(JSON_MARKER)
    omitted = f"{JSON_MARKER} (JSON, {len(machine.splitlines())} lines, not shown)"
    narrator.block(
        f"Subject: {envelope.get('Subject')}\n\n{message.rstrip()}\n\n{omitted if machine else ''}"
    )


# --- act 3: a zone outage under a pair of routes and an Elastic IP -------------------------

ZONE_PAIR_NAME = "zones"
ZONE_PRIMARY = "us-east-1a"
ZONE_STANDBY = "us-east-1b"
# The overlay IP (Pacemaker's aws-vpc-move-ip, SAP on AWS): a /32 outside the VPC's CIDR,
# routed in every listed route table to the instance that serves it.
OVERLAY_IP = "10.9.0.10/32"
ZONE_ALARM_NAME = "zones-primary-status"
# The act's own copy of the stack's resources (topics, table, queues), named apart.
ZONE_STACK_PREFIX = "Zones"


def _zone_outage_act(
    narrator: Narrator, clients: AwsClients, sim: FaithfulEC2, template: dict[str, Any]
) -> ZoneAct:
    narrator.say(
        "act 3: a zone outage; the pair's routes and Elastic IP move to the standby in the "
        "other zone"
    )
    topology = build_address_pair(
        clients.ec2,
        name=ZONE_PAIR_NAME,
        az=ZONE_PRIMARY,
        standby_az=ZONE_STANDBY,
        route_cidrs=(OVERLAY_IP,),
        vpc_cidr="10.1.0.0/16",
    )
    _describe_zone_pair(narrator, topology)
    deployment = _deploy_zone_pair(narrator, clients, template, topology)
    resources = deployment.resources
    checked = deployment.invoke(operator_request("check", pair=ZONE_PAIR_NAME))
    [check] = checked["checks"]
    narrator.say(f"readiness check of pair {ZONE_PAIR_NAME}: {_readiness(check)}")

    sim.disrupt_zone(ZONE_PRIMARY)
    sim.set_status(topology.primary_instance_id, system="impaired", instance="impaired")
    try:
        primary_described = _describe_once(topology.primary_instance_id)
        narrator.say(
            f"{ZONE_PRIMARY} goes into a service disruption: the primary's status checks fail, "
            f"and EC2 answers DescribeInstances for {topology.primary_instance_id} with "
            f"{primary_described} (route tables and Elastic IPs are regional: they answer)"
        )
        alarm_at = datetime.now(UTC)
        message = alarm_message(
            alarm_name=ZONE_ALARM_NAME, instance_id=topology.primary_instance_id, at=alarm_at
        )
        clients.sns.publish(TopicArn=resources.trigger_topic_arn, Message=json.dumps(message))
        narrator.say(
            f"CloudWatch alarm {ZONE_ALARM_NAME} (StatusCheckFailed of the primary) -> ALARM, "
            "published to the trigger topic"
        )
        [lambda_event] = take_lambda_events(
            clients.sqs, resources.trigger_delivery_queue_url, resources.trigger_subscription_arn
        )
        invoked_at = datetime.now(UTC)
        outcome = _invoke_zone_pair(narrator, deployment, lambda_event)
        # The summary above the verdict stays the interface pair's (acts 1 and 2).
        notification = _receive_notification(narrator, clients, resources)
        notified_at = datetime.now(UTC) if notification is not None else None
        hops = _zone_hops(
            outcome, alarm_at=alarm_at, invoked_at=invoked_at, notified_at=notified_at
        )
        narrator.say("the timeline, from the moment the alarm was published:")
        narrator.block("\n".join(f"+{hop.seconds:5.2f} s  {hop.what}" for hop in hops))
        where = _show_addresses(narrator, clients, topology)
        if notification is not None:
            _show_envelope(narrator, resources, notification)
    finally:
        sim.restore_zone(ZONE_PRIMARY)
    narrator.say(f"{ZONE_PRIMARY} restored")
    described = clients.ec2.describe_instances(
        InstanceIds=[topology.primary_instance_id, topology.standby_instance_id]
    )
    zones = {
        i["InstanceId"]: i["Placement"]["AvailabilityZone"]
        for r in described["Reservations"]
        for i in r["Instances"]
    }
    return ZoneAct(
        topology=topology,
        where=where,
        outcome=outcome,
        notification=notification,
        hops=tuple(hops),
        primary_described=primary_described,
        zones=zones,
    )


def _invoke_zone_pair(
    narrator: Narrator, deployment: LocalDeployment, event: dict[str, Any]
) -> dict[str, Any] | None:
    """The function's outcome; None when it failed (it told the operators, and Lambda
    would retry the trigger)."""
    context = FakeLambdaContext(remaining_seconds=deployment.resources.timeout_seconds)
    try:
        report = deployment.invoke(event, context)
    except FailoverIncomplete as error:
        narrator.say(f"act 3 FAILED: {error}")
        return None
    [outcome] = report["outcomes"]
    narrator.say(f"function returned: {outcome['outcome']} - {outcome['summary']}")
    return dict(outcome)


def _describe_zone_pair(narrator: Narrator, topology: AddressPairTopology) -> None:
    tables = " and ".join(topology.route_table_ids)
    narrator.say("created a second VPC: a primary and a standby in two zones, and their addresses:")
    narrator.block(
        f"primary  {topology.primary_instance_id} in {ZONE_PRIMARY}, primary interface "
        f"{topology.primary_interface_id}\n"
        f"standby  {topology.standby_instance_id} in {ZONE_STANDBY}, primary interface "
        f"{topology.standby_interface_id}\n"
        f"overlay IP {OVERLAY_IP}: routed to {topology.primary_interface_id} in {tables}\n"
        f"Elastic IP {', '.join(topology.public_ips)} ({', '.join(topology.allocation_ids)}): "
        f"on {topology.primary_interface_id}\n"
        "source/destination checking off on both primary interfaces (routed traffic needs it)"
    )


def _deploy_zone_pair(
    narrator: Narrator, clients: AwsClients, template: dict[str, Any], topology: AddressPairTopology
) -> LocalDeployment:
    pair = Pair(
        name=ZONE_PAIR_NAME,
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        route_table_ids=topology.route_table_ids,
        route_cidrs=topology.route_cidrs,
        eip_allocation_ids=topology.allocation_ids,
        alarm_name=ZONE_ALARM_NAME,
    )
    resources = deploy(template, clients, prefix=ZONE_STACK_PREFIX)
    narrator.say(
        f"the stack's resources deployed again from the same template (names prefixed "
        f"{ZONE_STACK_PREFIX}), its function configured with pair {ZONE_PAIR_NAME}:"
    )
    narrator.block(
        f"routeTableIds={','.join(pair.route_table_ids)} routeCidrs={','.join(pair.route_cidrs)} "
        f"eipAllocationIds={','.join(pair.eip_allocation_ids)} (no eniId)"
    )
    return LocalDeployment.create(FailoverConfig(pairs=(pair,)), resources=resources)


def _readiness(check: dict[str, Any]) -> str:
    verdict = "READY" if check.get("ready") else "NOT READY"
    problems = [str(p) for p in check.get("problems", [])]
    return verdict + (f" ({'; '.join(problems)})" if problems else "")


def _describe_once(instance_id: str) -> str:
    """What EC2 answers one DescribeInstances of the instance, without botocore's retries."""
    once = AwsClients(region=REGION, max_attempts=1)
    try:
        once.ec2.describe_instances(InstanceIds=[instance_id])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "?")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        return f"{code} (HTTP {status})"
    return "a description (not disrupted)"


def _zone_hops(
    outcome: dict[str, Any] | None,
    *,
    alarm_at: datetime,
    invoked_at: datetime,
    notified_at: datetime | None,
) -> list[Hop]:
    def after(moment: datetime | str) -> float:
        at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return (at - alarm_at).total_seconds()

    hops = [
        Hop(0.0, f"alarm {ZONE_ALARM_NAME} published to the trigger topic"),
        Hop(after(invoked_at), "function invoked with the SNS delivery"),
    ]
    steps = outcome["steps"] if outcome is not None else []
    hops += [Hop(after(step["at"]), f"{step['step']}: {step['detail']}") for step in steps]
    if notified_at is not None:
        hops.append(Hop(after(notified_at), "notified: the outcome reached the operators' inbox"))
    return sorted(hops, key=lambda hop: hop.seconds)


def _show_addresses(
    narrator: Narrator, clients: AwsClients, topology: AddressPairTopology
) -> dict[str, str | None]:
    """Where EC2 shows each address now: the instance whose primary interface it is on."""
    owner = {
        topology.primary_interface_id: topology.primary_instance_id,
        topology.standby_interface_id: topology.standby_instance_id,
    }
    role = {
        topology.primary_instance_id: f"the primary, {ZONE_PRIMARY}",
        topology.standby_instance_id: f"the standby, {ZONE_STANDBY}",
    }
    where: dict[str, str | None] = {}
    lines = []
    tables = clients.ec2.describe_route_tables(RouteTableIds=list(topology.route_table_ids))
    for table in tables["RouteTables"]:
        for route in table["Routes"]:
            if route.get("DestinationCidrBlock") not in topology.route_cidrs:
                continue
            key = f"{table['RouteTableId']} {route['DestinationCidrBlock']}"
            interface = route.get("NetworkInterfaceId")
            where[key] = owner.get(interface or "")
            lines.append(
                f"route {key}: {interface} ({role.get(where[key] or '', 'neither instance')}), "
                f"{route.get('State')}"
            )
    addresses = clients.ec2.describe_addresses(AllocationIds=list(topology.allocation_ids))
    for address in addresses["Addresses"]:
        interface = address.get("NetworkInterfaceId")
        where[address["PublicIp"]] = owner.get(interface or "")
        lines.append(
            f"Elastic IP {address['PublicIp']}: on {interface} "
            f"({role.get(where[address['PublicIp']] or '', 'neither instance')})"
        )
    narrator.say("where the addresses are now (DescribeRouteTables, DescribeAddresses):")
    narrator.block("\n".join(lines))
    return where


def main() -> int:
    return 0 if run_drill().passed else 1


if __name__ == "__main__":
    sys.exit(main())
