"""Would a failover succeed right now? Every precondition, plus EC2 DryRun of both calls.

Run inside the function, so the DryRun calls use the function's own permissions: a role
that lost ec2:AttachNetworkInterface shows up here, not at 3 a.m. during a real failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eni_failover import decide, ec2
from eni_failover.config import Pair
from eni_failover.state import PairState, PlannedMove

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

READY = "READY"
NOT_READY = "NOT READY"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def verdict(checks: list[Check]) -> str:
    failed = [c.name for c in checks if not c.ok]
    return READY if not failed else f"{NOT_READY}: {', '.join(failed)}"


def preconditions(pair: Pair, state: PairState) -> list[Check]:
    """The checks a real failover makes before it touches anything (pure)."""
    standby = state.standby
    checks = [
        _check(
            "interfaces",
            decide.interface_problems(pair, state, standby),
            f"{', '.join(pair.interface_ids)} exist, are secondary interfaces of the pair, "
            f"and are in {standby.availability_zone}",
        ),
        _check(
            "standby",
            decide.target_problems(standby),
            f"{standby.describe()} can take the interface",
        ),
    ]
    moves = tuple(
        PlannedMove(
            interface_id=i.interface_id,
            device_index=i.attachment.device_index if i.attachment else 1,
            from_instance_id=i.attachment.instance_id if i.attachment else None,
            to_instance_id=standby.instance_id,
        )
        for i in state.interfaces
        if i.exists and not i.attached_to(standby.instance_id)
    )
    checks.append(
        _check(
            "device index",
            decide.index_conflicts(standby, moves) if standby.exists else [],
            "the standby has the device index free",
        )
    )
    on_standby = [i.interface_id for i in state.interfaces if i.attached_to(standby.instance_id)]
    checks.append(
        Check(
            "location",
            True,
            f"{', '.join(on_standby)} already on the standby: failback is pending"
            if on_standby
            else f"on the primary {state.primary.describe()}",
        )
    )
    return checks


def permission_checks(client: EC2Client, pair: Pair, state: PairState) -> list[Check]:
    """DryRun the detach and the attach a failover would make, with the caller's role."""
    checks = []
    for interface in state.interfaces:
        if not interface.exists:
            continue
        attachment = interface.attachment
        if attachment is not None and attachment.device_index != 0:
            allowed, detail = ec2.dry_run_detach(client, attachment.attachment_id)
            checks.append(Check(f"detach permission ({interface.interface_id})", allowed, detail))
        allowed, detail = ec2.dry_run_attach(
            client,
            interface_id=interface.interface_id,
            instance_id=pair.standby_instance_id,
            device_index=attachment.device_index if attachment else 1,
        )
        checks.append(Check(f"attach permission ({interface.interface_id})", allowed, detail))
    return checks


def _check(name: str, problems: list[str], fine: str) -> Check:
    return Check(name, not problems, "; ".join(problems) if problems else fine)
