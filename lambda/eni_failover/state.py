"""What the failover observes of a pair, as plain values the decision can reason about."""

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

    def interface(self, interface_id: str) -> InterfaceView:
        return next(i for i in self.interfaces if i.interface_id == interface_id)


@dataclass(frozen=True)
class PlannedMove:
    """One interface's journey, written to the lease record before the first change."""

    interface_id: str
    device_index: int
    from_instance_id: str | None
    to_instance_id: str


@dataclass(frozen=True)
class PairRecord:
    """The pair's durable memory in the state table, read when the lease is taken."""

    # A move in flight: set before the first detach, cleared when the move ends.
    journal_trigger_id: str | None = None
    journal: tuple[PlannedMove, ...] = ()
    # The last completed move, to recognise stale triggers and retries of a done move.
    last_move_trigger_id: str | None = None
    last_move_at: datetime | None = None
    last_trigger_id: str | None = None  # the trigger the last outcome answered
    last_outcome: str | None = None
    last_outcome_at: datetime | None = None
    last_outcome_summary: str | None = None
    # Set by `eni-failover pause`: automatic triggers are refused until resumed.
    paused_at: datetime | None = None
    paused_by: str | None = None
    # Set by `eni-failover drill`: until then an alarm on a healthy primary is a rehearsal.
    drill_until: datetime | None = None
    drill_by: str | None = None
    # The last scheduled readiness verdict, so only a change is announced.
    readiness: str | None = None
