"""How a handled trigger ended, told once: readable in an inbox, exact for machines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from eni_failover.observed import AddressView, InterfaceView
from eni_failover.timeline import Step
from eni_failover.triggers import Trigger, TriggerKind

SUBJECT_LIMIT = 100  # SNS rejects longer subjects
JSON_MARKER = "--- machine-readable ---"


class OutcomeKind(StrEnum):
    SWAPPED = "swapped"
    ALREADY_IN_PLACE = "already-in-place"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True)
class FenceResult:
    """What was done to the failed primary after the move, and whether it worked."""

    mode: str  # stop | isolate | restore (failback gave back the isolated groups)
    instance_id: str
    done: bool
    detail: str
    # Asked and under way, not yet confirmed: a stop whose primary is still "stopping".
    pending: bool = False

    @property
    def status(self) -> str:
        return "done" if self.done else ("STOPPING" if self.pending else "FAILED")

    def describe(self) -> str:
        what = {
            "stop": f"stop {self.instance_id} (StopInstances, Force)",
            "isolate": f"isolate {self.instance_id} (quarantine security group on each interface)",
            "restore": f"restore the security groups of {self.instance_id}",
        }.get(self.mode, f"{self.mode} {self.instance_id}")
        return f"{what}: {self.status}; {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "instance_id": self.instance_id,
            "done": self.done,
            "pending": self.pending,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    pair: str
    direction: str  # failover | failback
    trigger: Trigger
    from_instance_id: str
    to_instance_id: str
    interfaces: tuple[InterfaceView, ...]
    started_at: datetime
    finished_at: datetime
    reasons: tuple[str, ...] = ()
    error: str | None = None
    steps: tuple[Step, ...] = ()
    resumed: bool = False
    forced_detach: bool = False
    overridden: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Fencing after a failover, or the isolated groups given back before a failback.
    fence: FenceResult | None = None
    # The flap limit was reached: automation paused the pair by itself.
    automation_paused: bool = False
    # The routes, Elastic IPs and secondary IPs, where each is now.
    addresses: tuple[AddressView, ...] = ()

    @property
    def automatic_failback(self) -> bool:
        return self.trigger.kind is TriggerKind.FAILBACK

    @property
    def swap_seconds(self) -> float | None:
        return self.steps[-1].seconds if self.kind is OutcomeKind.SWAPPED and self.steps else None

    def subject(self) -> str:
        target = "standby" if self.direction == "failover" else "primary"
        moved = (
            f"failed back automatically to primary {self.to_instance_id}"
            if self.automatic_failback
            else f"moved to {target} {self.to_instance_id}"
        )
        if self.fence is not None and self.fence.mode != "restore":
            moved += ", primary " + {"done": "fenced", "STOPPING": "stopping"}.get(
                self.fence.status, "FENCE FAILED"
            )
        headline = {
            OutcomeKind.SWAPPED: moved,
            OutcomeKind.ALREADY_IN_PLACE: f"already on {target} {self.to_instance_id}",
            OutcomeKind.REFUSED: (
                "automation PAUSED, flap limit reached"
                if self.automation_paused
                else f"{self.direction} refused"
            ),
            OutcomeKind.FAILED: f"{self.direction} FAILED, action needed",
        }[self.kind]
        subject = f"ENI failover {self.pair}: {headline}"
        # SNS subjects are ASCII without line breaks.
        subject = subject.encode("ascii", errors="replace").decode("ascii")
        return subject[:SUBJECT_LIMIT]

    def summary(self) -> str:
        if self.kind is OutcomeKind.SWAPPED:
            took = f" in {self.swap_seconds:.1f} s" if self.swap_seconds is not None else ""
            how = " (resumed an interrupted move)" if self.resumed else ""
            verb = "Failed back automatically:" if self.automatic_failback else "Moved"
            return (
                f"{verb} {self._interface_list()} from {self.from_instance_id} to "
                f"{self.to_instance_id}{took}{how}."
            )
        if self.kind is OutcomeKind.ALREADY_IN_PLACE:
            return f"{self._interface_list()} already on {self.to_instance_id}; nothing moved."
        if self.kind is OutcomeKind.REFUSED:
            return "Nothing moved: " + "; ".join(self.reasons)
        return f"The move did not finish: {self.error}"

    def _interface_list(self) -> str:
        return ", ".join(
            (*(i.interface_id for i in self.interfaces), *(a.key for a in self.addresses))
        )

    def _fence_advice(self, fence: FenceResult) -> list[str]:
        if fence.pending:
            return [
                "  EC2 did not show the primary stopped before this was sent; it is not "
                f"fenced until it is. Check: `eni-failover status {self.pair}`."
            ]
        if not fence.done:
            return [
                "  The fence is not retried. Check the primary by hand: "
                f"`eni-failover status {self.pair}`."
            ]
        return []

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.kind.value,
            "pair": self.pair,
            "direction": self.direction,
            "from_instance_id": self.from_instance_id,
            "to_instance_id": self.to_instance_id,
            "summary": self.summary(),
            "reasons": list(self.reasons),
            "error": self.error,
            "resumed": self.resumed,
            "forced_detach": self.forced_detach,
            "overridden_checks": list(self.overridden),
            "notes": list(self.notes),
            "fence": self.fence.to_dict() if self.fence else None,
            "automation_paused": self.automation_paused,
            "trigger": {
                "id": self.trigger.trigger_id,
                "kind": self.trigger.kind.value,
                "source": self.trigger.source,
                "state": self.trigger.state,
                "reason": self.trigger.reason,
                "occurred_at": self.trigger.occurred_at.isoformat(),
            },
            "interfaces": [
                {
                    "interface_id": i.interface_id,
                    "exists": i.exists,
                    "status": i.status,
                    "attached_to": i.attachment.instance_id if i.attachment else None,
                    "attachment_status": i.attachment.status if i.attachment else None,
                    "device_index": i.attachment.device_index if i.attachment else None,
                    "network_card_index": (
                        i.attachment.network_card_index if i.attachment else None
                    ),
                    "private_ips": list(i.private_ips),
                    "elastic_ip": i.public_ip,
                    "mac_address": i.mac_address,
                }
                for i in self.interfaces
            ],
            "addresses": [
                {
                    "kind": a.kind,
                    "address": a.address,
                    "exists": a.exists,
                    "on_instance": a.instance_id,
                    "on_interface": a.interface_id,
                    "state": a.state,
                    "detail": a.detail,
                }
                for a in self.addresses
            ],
            "steps": [
                {
                    "step": s.name,
                    "at": s.at.isoformat(),
                    "seconds": round(s.seconds, 3),
                    "detail": s.detail,
                }
                for s in self.steps
            ],
            "swap_seconds": self.swap_seconds,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
        }

    def _where_now(self) -> list[str]:
        """Every interface and address, and where it is now."""
        lines: list[str] = []
        if self.interfaces:
            lines += ["", "Interfaces now:"]
        for i in self.interfaces:
            if not i.exists:
                lines.append(f"  {i.interface_id}: does not exist")
                continue
            where = (
                f"attached to {i.attachment.instance_id} at "
                f"{i.attachment.describe_slot()} ({i.attachment.status})"
                if i.attachment
                else "DETACHED, attached to nothing"
            )
            lines.append(f"  {i.interface_id}: {where}")
            lines.append(
                f"    private IPs {', '.join(i.private_ips) or '-'}; "
                f"Elastic IP {i.public_ip or '-'}; MAC {i.mac_address or '-'}"
            )
        if self.addresses:
            lines += ["", "Addresses now:"]
            lines += [f"  {a.describe()}" for a in self.addresses]
        return lines

    def body(self) -> str:
        lines = [
            self.summary(),
            "",
            f"Pair:        {self.pair} ({self.direction})",
            f"From:        {self.from_instance_id}",
            f"To:          {self.to_instance_id}",
            f"Trigger:     {self.trigger.describe()}",
            f"Happened at: {self.trigger.occurred_at.isoformat()}",
        ]
        lines += self._where_now()
        if self.reasons:
            lines += ["", "Why:"] + [f"  - {r}" for r in self.reasons]
        if self.automatic_failback and self.kind is OutcomeKind.SWAPPED:
            lines += ["", f"Why now: {self.trigger.reason}"]
        if self.fence is not None:
            lines += ["", f"Fence: {self.fence.describe()}"]
            lines += self._fence_advice(self.fence)
        if self.automation_paused:
            lines += [
                "",
                f"Automation paused pair {self.pair} itself: the flap limit was reached. Nothing "
                "moves automatically (failover or failback) until an operator resumes it:",
                f"  eni-failover resume {self.pair}",
            ]
        if self.overridden:
            lines += ["", "Checks overridden by --force: " + ", ".join(self.overridden)]
        if self.steps:
            lines += ["", "Timeline:"]
            lines += [
                f"  {s.at.isoformat()}  +{s.seconds:6.2f} s  {s.name}"
                + (f": {s.detail}" if s.detail else "")
                for s in self.steps
            ]
        if self.kind is OutcomeKind.FAILED:
            if self.trigger.kind is TriggerKind.MANUAL:
                # An operator's request is answered directly and never retried by Lambda.
                what_now = (
                    f"run the same `eni-failover {self.direction} {self.pair}` again to resume "
                    "the move from where it stopped, once the reason above is gone."
                )
            else:
                what_now = (
                    "the function will retry this trigger automatically and resume the move "
                    "from where it stopped. If it keeps failing, check the standby and run "
                    f"`eni-failover status {self.pair}`, then `eni-failover failover {self.pair}`."
                )
            lines += ["", f"What now: {what_now}"]
        lines += [*(["", *self.notes] if self.notes else []), "", JSON_MARKER]
        lines.append(json.dumps(self.to_dict(), indent=2, sort_keys=True))
        return "\n".join(lines)
