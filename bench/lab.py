"""One emulated AWS for a whole benchmark run, and the instruments every measurement uses.

The endpoint is moto in server mode on loopback (as in `make demo`), so every AWS call is
a real HTTP round trip; the faithful EC2 simulator is installed per run with that run's
latencies. Time is `time.monotonic` throughout: the server runs in this process, so the
simulator's callbacks and the caller read the same clock.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.read_units import item_size, read_units
from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Pair, Tuning
from eni_failover.observability import logger, metrics
from eni_failover.pair_record import PairRecords
from eni_failover_ec2sim import CallEvent, FaithfulEC2, PairTopology, build_pair
from eni_failover_emulator.atomic_items import atomic_items
from eni_failover_emulator.delivery import drain
from eni_failover_emulator.deployment import LocalDeployment, sample_template
from eni_failover_emulator.drill import emulated_aws
from eni_failover_emulator.endpoint import ACCOUNT_ID, REGION, moto_api
from eni_failover_emulator.events import alarm_message
from eni_failover_emulator.template import DeployedFunction, deploy

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from bench.settings import Drawn

# What Lambda adds to the Powertools settings the template gives the function; quiet, and
# no tracing outside Lambda.
FUNCTION_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "eni-failover-bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}


class BenchmarkFailed(Exception):
    """A benchmark saw a wrong result (the interface did not move, or moved twice)."""


def require(condition: bool, message: str) -> None:
    """A correctness check that also holds under `python -O`."""
    if not condition:
        raise BenchmarkFailed(message)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def worst(values: list[float]) -> float:
    return max(values) if values else float("nan")


class CallCounter:
    """AWS calls by operation, counted with botocore event hooks on the caller's clients.

    `calls` counts API calls as the code makes them (before-call); `attempts` counts HTTP
    requests sent (before-send), so attempts - calls is botocore's retries. `log` keeps
    when each call was made, to tell which calls stood on the critical path. `read_units`
    sums what DynamoDB bills the GetItem reads, by the item's key (bench.read_units).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._attempts: Counter[str] = Counter()
        self._log: list[tuple[float, str]] = []
        self._read_units: dict[str, float] = {}

    def watch(self, client: BaseClient) -> None:
        client.meta.events.register("before-call", self._on_call)
        client.meta.events.register("before-send", self._on_send)
        client.meta.events.register("before-parameter-build.dynamodb.GetItem", self._on_read)
        client.meta.events.register("after-call.dynamodb.GetItem", self._on_read_answer)

    @staticmethod
    def _on_read(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        # The call's context carries what the answer alone does not say.
        key = params.get("Key", {})
        context["read"] = (
            "/".join(str(next(iter(v.values()))) for v in key.values()),
            bool(params.get("ConsistentRead")),
        )

    def _on_read_answer(
        self, parsed: Mapping[str, Any], context: Mapping[str, Any], **_: Any
    ) -> None:
        key, consistent = context.get("read", ("?", False))
        size = item_size(parsed.get("Item") or {})
        with self._lock:
            self._read_units[key] = self._read_units.get(key, 0.0) + read_units(
                size, consistent=consistent
            )

    def read_units(self) -> dict[str, float]:
        """DynamoDB read units the GetItem calls cost, by item key."""
        with self._lock:
            return dict(self._read_units)

    def _on_call(self, event_name: str, **_: Any) -> None:
        operation = _operation(event_name)
        with self._lock:
            self._calls[operation] += 1
            self._log.append((time.monotonic(), operation))

    def _on_send(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self._attempts[_operation(event_name)] += 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._attempts.clear()
            self._log.clear()
            self._read_units.clear()

    def calls(self) -> Counter[str]:
        with self._lock:
            return Counter(self._calls)

    def attempts(self) -> Counter[str]:
        with self._lock:
            return Counter(self._attempts)

    def log(self) -> list[tuple[float, str]]:
        with self._lock:
            return list(self._log)


def _operation(event_name: str) -> str:
    # "before-call.ec2.DescribeNetworkInterfaces" -> "ec2:DescribeNetworkInterfaces"
    _, service, operation = event_name.split(".", 2)
    return f"{service}:{operation}"


@dataclass
class Witness:
    """When EC2 accepted each detach and attach: the physical timeline of a move.

    The simulator calls back after a successful call, before the caller gets the answer,
    so these are the moments the latencies start.
    """

    detaches: list[tuple[float, str, bool]] = field(default_factory=list)  # at, attachment, force
    attaches: list[tuple[float, str, str]] = field(default_factory=list)  # at, interface, instance
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, sim: FaithfulEC2) -> None:
        sim.on("DetachNetworkInterface", self._detached)
        sim.on("AttachNetworkInterface", self._attached)

    def _detached(self, event: CallEvent) -> None:
        force = str(event.params.get("Force", False)).lower() == "true"
        with self._lock:
            self.detaches.append((time.monotonic(), str(event.params["AttachmentId"]), force))

    def _attached(self, event: CallEvent) -> None:
        with self._lock:
            self.attaches.append(
                (
                    time.monotonic(),
                    str(event.params["NetworkInterfaceId"]),
                    str(event.params["InstanceId"]),
                )
            )

    def attaches_of(self, interface_id: str) -> list[float]:
        with self._lock:
            return [at for at, interface, _ in self.attaches if interface == interface_id]

    def detaches_of(self, attachment_id: str) -> list[tuple[float, bool]]:
        with self._lock:
            return [
                (at, force)
                for at, attachment, force in self.detaches
                if attachment == attachment_id
            ]


def simulator(drawn: Drawn) -> FaithfulEC2:
    return FaithfulEC2(
        detach_seconds=drawn.detach, attach_seconds=drawn.attach, force_detach_seconds=drawn.force
    )


def pair_config(topology: PairTopology, name: str) -> Pair:
    return Pair(
        name=name,
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        interface_ids=(topology.interface_id,),
        alarm_name=f"{name}-status",
    )


def alarm_event(pair: Pair) -> dict[str, Any]:
    """What Lambda receives when the pair's status-check alarm goes to ALARM.

    The alarm's JSON (emulator's events module, the shape the tests and the drill use) inside one
    SNS record, as the trigger topic's subscription delivers it.
    """
    alarm = alarm_message(alarm_name=pair.alarm_name, instance_id=pair.primary_instance_id)
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:eni-failover-trigger"
    record = {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
        "Sns": {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Subject": None,
            "Message": json.dumps(alarm),
            "Timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/cert.pem",
            "UnsubscribeUrl": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {},
        },
    }
    return {"Records": [record]}


RESOURCE_PREFIX = "eni-failover-bench"


@dataclass
class Lab:
    endpoint: str
    harness: AwsClients  # setting scenes and checking results; never counted
    template: dict[str, Any]  # the stack's, synthesized once per run
    resources: DeployedFunction
    _names: Counter[str] = field(default_factory=Counter)

    def fresh_account(self) -> None:
        """Empty the emulated account and create the stack's resources again.

        moto's describes scan every resource in the account in Python, so they slow down
        as pairs pile up (DescribeInstances takes several times longer with 150 pairs than
        with one). Starting every run from an empty account keeps the runs comparable.
        """
        moto_api(self.endpoint, "reset")
        self.resources = deploy(self.template, self.harness, prefix=RESOURCE_PREFIX)
        # moto sets up SNS-to-SQS delivery on the first publish (about 0.1 s); pay for it
        # here, not inside a timed run.
        self.harness.sns.publish(TopicArn=self.resources.notification_topic_arn, Message="warm-up")
        drain(self.harness.sqs, self.resources.inbox_queue_url)
        self.harness.dynamodb.get_item(
            TableName=self.resources.state_table_name, Key={"id": {"S": "warm-up"}}
        )

    def new_pair(self, prefix: str, sim: FaithfulEC2 | None = None) -> tuple[PairTopology, Pair]:
        """A fresh pair (own VPC, instances, floating interface) under a name never used."""
        self._names[prefix] += 1
        name = f"{prefix}-{self._names[prefix]}"
        topology = build_pair(self.harness.ec2, name=name, sim=sim)
        return topology, pair_config(topology, name)

    def deployment(
        self, pairs: tuple[Pair, ...], tuning: Tuning, counter: CallCounter | None = None
    ) -> LocalDeployment:
        """The function, deployed for these pairs, with its own clients (a Lambda sandbox)."""
        clients = AwsClients(region=REGION, max_attempts=tuning.api_max_attempts)
        if counter is not None:
            for client in (clients.ec2, clients.dynamodb, clients.sns, clients.sqs):
                counter.watch(client)
        return LocalDeployment.create(
            FailoverConfig(pairs=pairs, tuning=tuning), clients=clients, resources=self.resources
        )

    def open_drill(self, pair: Pair) -> None:
        """Let an alarm on a healthy primary move the interface, as `eni-failover drill` does."""
        PairRecords(self.harness.dynamodb, self.resources.state_table_name).open_drill_window(
            pair.name,
            by="benchmark",
            until=datetime.now(UTC) + timedelta(minutes=10),
        )

    def where(self, interface_id: str) -> tuple[str | None, str | None]:
        """The instance the interface is attached to and the attachment's status."""
        [raw] = self.harness.ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])[
            "NetworkInterfaces"
        ]
        attachment = raw.get("Attachment") or {}
        return attachment.get("InstanceId"), attachment.get("Status")

    def round_trips(self, interface_id: str, samples: int) -> list[float]:
        """Seconds per DescribeNetworkInterfaces, made exactly as the failover makes it."""
        durations = []
        for _ in range(samples):
            started = time.monotonic()
            self.harness.ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])
            durations.append(time.monotonic() - started)
        return durations


@contextmanager
def open_lab() -> Iterator[Lab]:
    """Start the emulated AWS, create what the stack's template does, quiet the function."""
    botocore_log = logging.getLogger("botocore")
    levels = (logger.log_level, botocore_log.level)
    with tempfile.TemporaryDirectory(prefix="eni-failover-bench-") as outdir:
        template = sample_template(Path(outdir))
    # atomic_items: dozens of concurrent invocations write the same items (scale).
    with emulated_aws() as endpoint, atomic_items():  # restores the environment on the way out
        harness = AwsClients(region=REGION)
        resources = deploy(template, harness, prefix=RESOURCE_PREFIX)
        os.environ.update(
            {k: v for k, v in resources.environment.items() if k.startswith("POWERTOOLS_")}
        )
        os.environ.update(FUNCTION_ENVIRONMENT)
        # The logger was created at import, maybe before the environment said ERROR.
        logger.setLevel(logging.ERROR)
        botocore_log.setLevel(logging.ERROR)
        try:
            yield Lab(endpoint=endpoint, harness=harness, template=template, resources=resources)
        finally:
            metrics.clear_metrics()
            logger.setLevel(levels[0])
            botocore_log.setLevel(levels[1])


def clear_function_metrics() -> None:
    """Powertools keeps metrics in memory until flushed; a benchmark never flushes."""
    metrics.clear_metrics()
