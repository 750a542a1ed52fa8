"""`make demo`: a failover drill on the embedded emulator, narrated as it happens.

An AWS endpoint (moto in server mode on 127.0.0.1, with the faithful EC2's latencies) gets
a VPC, a primary and a standby instance and a floating interface with an Elastic IP. The
CDK app is synthesized with those IDs and the function is given the environment the
template defines. Then the primary is stopped, the EC2 state-change event travels the way
it does in AWS (EventBridge -> trigger topic -> the SNS event Lambda receives), the real
handler runs, and the drill shows where the interface went and the email operators get.
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
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from ec2sim import FaithfulEC2, PairTopology, build_pair
from emulator.delivery import drain, take_lambda_events
from emulator.deployment import FakeLambdaContext
from emulator.endpoint import REGION
from emulator.events import state_change_message
from emulator.template import DeployedFunction, deploy, pair_context, synthesize
from eni_failover.clients import AwsClients

# Latencies in the range field reports give for a healthy region (AWS publishes none).
ATTACH_SECONDS = 1.0
DETACH_SECONDS = 2.0
FORCE_DETACH_SECONDS = 0.5
STOP_SECONDS = 1.0
PAIR_NAME = "demo"
NOTIFY_EMAIL = "ops@example.com"


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


@dataclass
class DrillResult:
    moved: bool
    outcome: dict[str, Any]
    notification: dict[str, Any] | None


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
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    try:
        yield os.environ["AWS_ENDPOINT_URL"]
    finally:
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

        deployed = _deploy_stack(narrator, clients, topology)
        handler = _load_function(narrator, deployed)

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
        narrator.summarize()
        narrator.say("drill passed" if moved else "drill FAILED: the interface did not move")
        return DrillResult(moved=moved, outcome=outcome, notification=notification)


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
) -> DeployedFunction:
    context = pair_context(
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        interface_id=topology.interface_id,
        notify_email=NOTIFY_EMAIL,
        pair_name=PAIR_NAME,
    )
    narrator.say("synthesizing the CDK app with those IDs (the same app `cdk deploy` runs)")
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
    return deployed


def _load_function(
    narrator: Narrator, deployed: DeployedFunction
) -> Callable[[dict[str, Any], FakeLambdaContext], dict[str, Any]]:
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

    logger.setLevel(logging.WARNING)  # the logger may have been created before the env
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


def _show_notification(
    narrator: Narrator, clients: AwsClients, deployed: DeployedFunction
) -> dict[str, Any] | None:
    received = [json.loads(body) for body in drain(clients.sqs, deployed.inbox_queue_url)]
    if len(received) != 1:
        narrator.say(f"expected one notification, received {len(received)}")
        return None
    [envelope] = received
    narrator.subject = str(envelope.get("Subject"))
    narrator.say(
        f"notification received from the notification topic (as emailed to "
        f"{', '.join(deployed.email_endpoints)}):"
    )
    narrator.block(f"Subject: {envelope.get('Subject')}\n\n{envelope['Message']}")
    return dict(envelope)


def main() -> int:
    result = run_drill()
    return 0 if result.moved and result.notification is not None else 1


if __name__ == "__main__":
    sys.exit(main())
