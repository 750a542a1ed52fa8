"""How fault tests deliver events and read the outcome: the way Lambda and an operator do."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig
from eni_failover.errors import FailoverError
from eni_failover.outcome import JSON_MARKER
from eni_failover.triggers import Trigger, parse_event
from eni_failover_ec2sim import CallEvent, FaithfulEC2, PairTopology
from eni_failover_emulator.deployment import FakeLambdaContext, LocalDeployment
from eni_failover_emulator.endpoint import REGION
from tests.integration.conftest import ALARM_NAME, TEST_TUNING
from tests.support import alarm_message, sns_event

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


# The EC2 calls that change where an interface is.
MOVES = ("DetachNetworkInterface", "AttachNetworkInterface")
# What EC2 carried out for one plain move: one detach, one attach.
ONE_SWAP = Counter(DetachNetworkInterface=1, AttachNetworkInterface=1)


class Killed(BaseException):
    """The Lambda runtime ending the process: nothing in the function may catch it."""


@dataclass(frozen=True)
class Where:
    """Where the floating interface is, as DescribeNetworkInterfaces reports it."""

    exists: bool
    status: str | None = None  # available | in-use | attaching | detaching
    instance_id: str | None = None
    attachment_status: str | None = None
    device_index: int | None = None

    @property
    def floating(self) -> bool:
        return self.exists and self.instance_id is None


def function_clients(session: boto3.Session) -> AwsClients:
    """The function's clients, with its retry settings (standard mode, its attempt budget)."""
    return AwsClients(session, region=REGION, max_attempts=TEST_TUNING.api_max_attempts)


def where(ec2: EC2Client, interface_id: str) -> Where:
    # By ID, as the failover asks (an unindexed filter fails in a large account).
    try:
        found = ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "InvalidNetworkInterfaceID.NotFound":
            return Where(exists=False)
        raise
    [eni] = found["NetworkInterfaces"]
    attachment = eni.get("Attachment")
    if attachment is None or attachment.get("Status") == "detached":
        return Where(exists=True, status=eni.get("Status"))
    return Where(
        exists=True,
        status=eni.get("Status"),
        instance_id=attachment.get("InstanceId"),
        attachment_status=attachment.get("Status"),
        device_index=attachment.get("DeviceIndex"),
    )


def instance_state(ec2: EC2Client, instance_id: str) -> str:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(reservations[0]["Instances"][0]["State"]["Name"])


def facts(notification: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable part of a notification (the same facts as the text above it)."""
    body: str = notification["message"]
    parsed: dict[str, Any] = json.loads(body.split(JSON_MARKER, 1)[1])
    return parsed


def outcome_of(notification: dict[str, Any]) -> str:
    return str(notification["attributes"]["outcome"])


def trigger_id_of(event: dict[str, Any]) -> str:
    """The ID the function gives the event's one trigger, as its errors and logs name it."""
    [(_, trigger)] = parse_event(event)
    assert isinstance(trigger, Trigger), trigger
    return trigger.trigger_id


def alarm_event(topology: PairTopology, *, at: datetime | None = None) -> dict[str, Any]:
    """The primary's status-check alarm going to ALARM, as SNS delivers it."""
    return sns_event(
        alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id, at=at)
    )


@dataclass
class Delivery:
    """What one invocation ended in: a report, or the error the handler raised.

    A raised error fails the invocation, and a failed asynchronous invocation is what
    Lambda retries (twice, then dead-letters).
    """

    report: dict[str, Any] | None = None
    error: FailoverError | None = None


def deliver(
    deployment: LocalDeployment, event: Any, context: FakeLambdaContext | None = None
) -> Delivery:
    """Invoke as Lambda does; only the project's own errors may end an invocation."""
    try:
        return Delivery(report=deployment.invoke(event, context))
    except FailoverError as error:
        return Delivery(error=error)


@dataclass
class LambdaDeadline(FakeLambdaContext):
    """A context whose remaining time runs down in real time, as Lambda's does.

    Reuse its aws_request_id for a retry (`retry_context`): Lambda's asynchronous retry
    of an event keeps the request ID.
    """

    _deadline: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.remaining_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def passed(self) -> bool:
        return time.monotonic() >= self._deadline

    def wait_until_passed(self) -> None:
        """Let the deadline go by (a killed invocation's retry comes after it, never before).

        A little beyond it: Powertools stamps its in-progress record from the wall clock,
        in whole milliseconds.
        """
        while time.monotonic() < self._deadline + 0.02:
            time.sleep(max(0.0, self._deadline + 0.02 - time.monotonic()))

    def retry_context(self, remaining_seconds: float = 60.0) -> LambdaDeadline:
        return LambdaDeadline(
            remaining_seconds=remaining_seconds, aws_request_id=self.aws_request_id
        )


class LambdaRuntime:
    """The Lambda runtime around the function: it kills an invocation at its deadline.

    Any EC2 call the function makes after its context's deadline ends the process
    (`Killed`), so a failover that overran would never publish its outcome, exactly as on
    Lambda. Contexts without a real deadline (FakeLambdaContext) are never killed.
    """

    def __init__(self, sim: FaithfulEC2) -> None:
        self._running = threading.local()
        for operation in (
            "DescribeNetworkInterfaces",
            "DescribeInstances",
            "DescribeInstanceStatus",
            "DetachNetworkInterface",
            "AttachNetworkInterface",
        ):
            sim.on(operation, self._kill_if_late)

    def _kill_if_late(self, event: CallEvent) -> None:
        context = getattr(self._running, "context", None)
        if isinstance(context, LambdaDeadline) and context.passed():
            raise Killed(f"Lambda timed out during {event.operation}")

    def deliver(
        self, deployment: LocalDeployment, event: Any, context: FakeLambdaContext | None = None
    ) -> Delivery:
        self._running.context = context
        try:
            return deliver(deployment, event, context)
        finally:
            self._running.context = None


@dataclass
class Scene:
    """One deployed pair on the faithful EC2, and what an operator can see of it."""

    sim: FaithfulEC2
    ec2: EC2Client
    topology: PairTopology
    deployment: LocalDeployment
    # Detaches and attaches that EC2 carried out (not those refused, failed or throttled).
    moves: Counter[str] = field(default_factory=Counter)
    runtime: LambdaRuntime = field(init=False)

    def __post_init__(self) -> None:
        self._watch()

    def _watch(self) -> None:
        self.runtime = LambdaRuntime(self.sim)
        lock = threading.Lock()

        def count(event: CallEvent) -> None:
            with lock:
                self.moves[event.operation] += 1

        for operation in MOVES:
            self.sim.on(operation, count)

    def ec2_recovers(self) -> None:
        """EC2 answers again: drop the injected faults, and re-arm the scene's own watchers,
        which FaithfulEC2.clear_faults drops with them."""
        self.sim.clear_faults()
        self._watch()

    def environment(self) -> LocalDeployment:
        """Another execution environment of the same function: its own Dispatcher (and
        Powertools state), the same AWS resources. Concurrent invocations each get one."""
        return self.environment_for(self.deployment.settings.failover)

    def environment_for(self, failover: FailoverConfig) -> LocalDeployment:
        """The function deployed with other pairs or tuning, on the same resources."""
        deployed = self.deployment
        return LocalDeployment.create(
            failover, clients=deployed.clients, resources=deployed.resources
        )

    def retune(self, **changes: Any) -> None:
        """Redeploy the function with other tuning, on the same resources and state."""
        failover = self.deployment.settings.failover
        tuning = failover.tuning.model_copy(update=changes)
        self.deployment = self.environment_for(failover.model_copy(update={"tuning": tuning}))

    def reattach_at(self, device_index: int) -> None:
        """Set the scene: the floating interface on the primary at another device index."""
        [eni] = self.ec2.describe_network_interfaces(
            NetworkInterfaceIds=[self.topology.interface_id]
        )["NetworkInterfaces"]
        self.ec2.detach_network_interface(AttachmentId=eni["Attachment"]["AttachmentId"])
        self.sim.settle()
        self.ec2.attach_network_interface(
            NetworkInterfaceId=self.topology.interface_id,
            InstanceId=self.primary,
            DeviceIndex=device_index,
        )
        self.sim.settle()
        self.sim.reset_counts()
        self.moves.clear()  # count only what the failover does from here

    def clear_faults(self) -> None:
        """EC2 behaves again (queued faults and callbacks dropped); the watch goes on."""
        self.sim.clear_faults()
        self._watch()

    @property
    def primary(self) -> str:
        return self.topology.primary_instance_id

    @property
    def standby(self) -> str:
        return self.topology.standby_instance_id

    def interface(self) -> Where:
        return where(self.ec2, self.topology.interface_id)

    def alarm(
        self,
        *,
        at: datetime | None = None,
        state: str = "ALARM",
        instance_id: str | None = None,
    ) -> dict[str, Any]:
        """The primary's status-check alarm changing state, as SNS delivers it."""
        return sns_event(
            alarm_message(
                alarm_name=ALARM_NAME,
                instance_id=instance_id or self.primary,
                at=at,
                state=state,
            )
        )

    def deliver(self, event: Any, context: FakeLambdaContext | None = None) -> Delivery:
        return self.runtime.deliver(self.deployment, event, context)

    def notifications(self) -> list[dict[str, Any]]:
        """What reached the operators' inbox since the last look."""
        return self.deployment.notifications()
