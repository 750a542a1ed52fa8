"""What EC2 says about a pair right now, as plain values the decision can reason about.

The pair's own memory (lease, journal, pause) is a different thing: see pair_record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

HEALTHY_CHECK = "ok"
IMPAIRED_CHECK = "impaired"
# The attached-EBS check is newer than the other two: an answer without it (None), or one
# where it does not apply, says nothing against the instance.
_EBS_NOT_AGAINST = (None, HEALTHY_CHECK, "not-applicable")


def describe_slot(device_index: int, network_card_index: int = 0) -> str:
    """Where an attachment sits, in words; the card is named only when it is not 0."""
    if network_card_index == 0:
        return f"device index {device_index}"
    return f"device index {device_index} on network card {network_card_index}"


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    exists: bool
    state: str | None = None  # pending | running | stopping | stopped | shutting-down | terminated
    availability_zone: str | None = None
    system_status: str | None = None  # ok | impaired | initializing | insufficient-data | ...
    instance_status: str | None = None
    # AttachedEbsStatus: None when DescribeInstanceStatus does not report it.
    attached_ebs_status: str | None = None
    # (network card, device index) -> interface ID, for every interface on the instance.
    # A device index is unique per network card, not per instance.
    device_indexes: dict[tuple[int, int], str] = field(default_factory=dict)
    # The instance's own primary private IP (the prober probes the service there).
    private_ip: str | None = None
    # When it entered the state or the impaired check it is in now, where EC2 says so:
    # the sweep leaves a failure younger than a minute to the event that reports it.
    failed_since: datetime | None = None
    # When EC2 last started it (LaunchTime): a later one proves a stop and start since.
    launch_time: datetime | None = None
    # Where its primary interface is, and what it carries: the lighter address kinds
    # (eni_failover.kinds) point routes at it, associate Elastic IPs with it, assign it
    # secondary IPs. SourceDestCheck on: EC2 drops traffic a route forwards to it.
    subnet_id: str | None = None
    vpc_id: str | None = None
    source_dest_check: bool | None = None

    @property
    def primary_interface_id(self) -> str | None:
        """The interface at device index 0 of card 0: routes, Elastic IPs and secondary IPs
        go there (an instance always has one while it exists)."""
        return self.device_indexes.get((0, 0))

    @property
    def running(self) -> bool:
        return self.exists and self.state == "running"

    @property
    def impaired(self) -> bool:
        """Any status check impaired, the attached-EBS check included."""
        return IMPAIRED_CHECK in (
            self.system_status,
            self.instance_status,
            self.attached_ebs_status,
        )

    @property
    def healthy(self) -> bool:
        """Running with every status check passing: nothing to fail over from."""
        return (
            self.running
            and self.system_status == self.instance_status == HEALTHY_CHECK
            and self.attached_ebs_status in _EBS_NOT_AGAINST
        )

    def describe(self) -> str:
        if not self.exists:
            return f"{self.instance_id} (not found)"
        checks = f"system {self.system_status or 'n/a'}, instance {self.instance_status or 'n/a'}"
        if self.attached_ebs_status is not None:
            checks += f", attached EBS {self.attached_ebs_status}"
        return f"{self.instance_id} ({self.state}; {checks}; {self.availability_zone})"


@dataclass(frozen=True)
class Attachment:
    attachment_id: str
    instance_id: str
    device_index: int
    status: str  # attaching | attached | detaching | detached
    network_card_index: int = 0
    # True: terminating the instance deletes the interface (the failover needs False).
    delete_on_termination: bool = False

    @property
    def slot(self) -> tuple[int, int]:
        """(network card, device index): what must be free on the instance it moves to."""
        return self.network_card_index, self.device_index

    def describe_slot(self) -> str:
        return describe_slot(self.device_index, self.network_card_index)


@dataclass(frozen=True)
class InterfaceView:
    interface_id: str
    exists: bool
    status: str | None = None  # available | in-use | attaching | detaching | associated
    availability_zone: str | None = None
    attachment: Attachment | None = None
    private_ips: tuple[str, ...] = ()
    public_ip: str | None = None
    mac_address: str | None = None

    @property
    def floating(self) -> bool:
        """Exists and is attached to nothing: ready to attach."""
        return self.exists and self.attachment is None

    def attached_to(self, instance_id: str) -> bool:
        return (
            self.attachment is not None
            and self.attachment.instance_id == instance_id
            and self.attachment.status in ("attaching", "attached")
        )


@dataclass(frozen=True)
class AddressView:
    """One address of a lighter kind (a route, an Elastic IP, a secondary private IP) and
    what holds it now, as EC2 shows it (eni_failover.kinds reads it)."""

    kind: str  # route | elastic-ip | private-ip
    address: str  # "rtb-… 0.0.0.0/0" | "eipalloc-…" | "10.0.1.50": what the pair lists
    exists: bool
    # The interface the address is on (the route's target), and that interface's instance.
    interface_id: str | None = None
    instance_id: str | None = None
    # route: active | blackhole; elastic-ip: associated | not associated; private-ip:
    # assigned | not assigned.
    state: str | None = None
    # What an operator recognises it by: the public IP of an Elastic IP, a route table's VPC.
    detail: str | None = None
    # route: the route table's VPC; private-ip: the subnet of the interface holding it.
    vpc_id: str | None = None
    subnet_id: str | None = None

    @property
    def key(self) -> str:
        """Unique across kinds: the journal and the outcome name an address by it."""
        return f"{self.kind} {self.address}"

    def held_by(self, instance_id: str) -> bool:
        """On that instance, and serving there (a blackhole route serves no one)."""
        return self.instance_id == instance_id and self.state != "blackhole"

    def describe(self) -> str:
        if not self.exists:
            return f"{self.key}: does not exist"
        where = (
            f"on {self.instance_id} ({self.interface_id})"
            if self.instance_id
            else (f"on {self.interface_id}" if self.interface_id else "on no instance")
        )
        extra = f", {self.detail}" if self.detail else ""
        return f"{self.key}: {where}, {self.state or 'state unknown'}{extra}"


@dataclass(frozen=True)
class PairState:
    primary: InstanceView
    standby: InstanceView
    interfaces: tuple[InterfaceView, ...]
    observed_at: datetime
    # The routes, Elastic IPs and secondary IPs the pair lists, in the pair's order.
    addresses: tuple[AddressView, ...] = ()


def interface_owners(instances: Iterable[InstanceView]) -> dict[str, str]:
    """Interface ID -> the instance it is attached to, for every interface of these
    instances (a route or an Elastic IP may name only the interface)."""
    return {
        interface_id: view.instance_id
        for view in instances
        for interface_id in view.device_indexes.values()
    }
