"""What EC2 says about a pair right now, as plain values the decision can reason about.

The pair's own memory (lease, journal, pause) is a different thing: see pair_record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

HEALTHY_CHECK = "ok"
IMPAIRED_CHECK = "impaired"


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    exists: bool
    state: str | None = None  # pending | running | stopping | stopped | shutting-down | terminated
    availability_zone: str | None = None
    system_status: str | None = None  # ok | impaired | initializing | insufficient-data | ...
    instance_status: str | None = None
    # device index -> interface ID, for every interface on the instance
    device_indexes: dict[int, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.exists and self.state == "running"

    @property
    def impaired(self) -> bool:
        return IMPAIRED_CHECK in (self.system_status, self.instance_status)

    @property
    def healthy(self) -> bool:
        """Running with both status checks passing: nothing to fail over from."""
        return self.running and self.system_status == self.instance_status == HEALTHY_CHECK

    def describe(self) -> str:
        if not self.exists:
            return f"{self.instance_id} (not found)"
        checks = f"system {self.system_status or 'n/a'}, instance {self.instance_status or 'n/a'}"
        return f"{self.instance_id} ({self.state}; {checks}; {self.availability_zone})"


@dataclass(frozen=True)
class Attachment:
    attachment_id: str
    instance_id: str
    device_index: int
    status: str  # attaching | attached | detaching | detached


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
