"""What EC2 says about a pair right now, as plain values the decision can reason about.

The pair's own memory (lease, journal, pause) is a different thing: see pair_record.
"""

from __future__ import annotations

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
class PairState:
    primary: InstanceView
    standby: InstanceView
    interfaces: tuple[InterfaceView, ...]
    observed_at: datetime
