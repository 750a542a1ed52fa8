"""Would a failover succeed right now? Every precondition, plus EC2 DryRun of both calls.

Run inside the function, so the DryRun calls use the function's own permissions: a role
that lost ec2:AttachNetworkInterface shows up here, not at 3 a.m. during a real failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from eni_failover import decide, ec2
from eni_failover.config import Pair
from eni_failover.observed import PairState

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

READY = "READY"
NOT_READY = "NOT READY"
# READY, but some check could not be confirmed either way (see verdict).
UNCONFIRMED = "READY, UNCONFIRMED"
DELETE_ON_TERMINATION = "delete on termination"


class CheckResult(StrEnum):
    PASSED = "pass"
    FAILED = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool  # proven fine; False for a failed check and for an inconclusive one
    detail: str
    # Neither proven fine nor proven wrong: EC2's answer said nothing either way.
    inconclusive: bool = False

    @property
    def result(self) -> CheckResult:
        if self.inconclusive:
            return CheckResult.INCONCLUSIVE
        return CheckResult.PASSED if self.ok else CheckResult.FAILED

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "ok": self.ok,
            "result": str(self.result),
            "detail": self.detail,
        }


def ready(checks: list[Check]) -> bool:
    """No check failed; an inconclusive one does not make the pair NOT READY (verdict)."""
    return not any(c.result is CheckResult.FAILED for c in checks)


def verdict(checks: list[Check]) -> str:
    """READY, READY, UNCONFIRMED: ..., or NOT READY: ..., naming the checks.

    An inconclusive check (a DryRun that EC2 answered with neither DryRunOperation nor
    UnauthorizedOperation: throttled, an internal error, a state or parameter error) proves
    nothing about the permission. It does not make the pair NOT READY: any state problem
    behind it is judged by the precondition checks, which fail on their own, and a NOT
    READY for an EC2 hiccup would alert operators and refuse a drill, which is how to settle
    the question for real. Nor is it a plain READY: the verdict names it, so a scheduled
    check announces the change and `eni-failover check` shows it.
    """
    failed = [c.name for c in checks if c.result is CheckResult.FAILED]
    unsure = [c.name for c in checks if c.result is CheckResult.INCONCLUSIVE]
    if failed:
        also = f"; unconfirmed: {', '.join(unsure)}" if unsure else ""
        return f"{NOT_READY}: {', '.join(failed)}{also}"
    return f"{UNCONFIRMED}: {', '.join(unsure)}" if unsure else READY


def preconditions(plan: decide.Plan, pair: Pair, state: PairState) -> list[Check]:
    """The checks a real failover makes before it touches anything, read off its plan.

    `plan` is decide.readiness_plan's answer: what a failover would do now, so this can
    never disagree with the real decision (a cut-short move's journal included).
    """
    standby = state.standby
    problems = plan.problems if isinstance(plan, decide.Refuse | decide.Stranded) else ()

    def found(check: str) -> list[str]:
        return [p.reason for p in problems if p.check == check]

    checks = [
        _check(
            "interfaces",
            found("interfaces"),
            f"{', '.join(pair.interface_ids)} exist, are secondary interfaces of the pair, "
            f"and are in {standby.availability_zone}",
        ),
        _check("standby", found("target"), f"{standby.describe()} can take the interface"),
        _check("device index", found("device index"), "the standby has the device index free"),
    ]
    on_standby = [i.interface_id for i in state.interfaces if i.attached_to(standby.instance_id)]
    detached = [i.interface_id for i in state.interfaces if decide.on_no_instance(i)]
    if isinstance(plan, decide.Stranded):
        location = Check("location", False, plan.error)
    elif detached:
        # A move cut short: the service is down until a failover finishes it.
        location = Check(
            "location",
            False,
            f"{', '.join(detached)} is attached to no instance (a move was cut short); "
            f"`eni-failover failover {pair.name}` finishes the move",
        )
    else:
        location = Check(
            "location",
            True,
            f"{', '.join(on_standby)} already on the standby: failback is pending"
            if on_standby
            else f"on the primary {state.primary.describe()}",
        )
    return [*checks, location, delete_on_termination(pair, state)]


def delete_on_termination(pair: Pair, state: PairState) -> Check:
    """An interface whose attachment is delete-on-termination dies with its instance.

    A failover cannot move what EC2 deleted with a terminated primary, so the flag fails
    readiness, though no failover refuses over it (a new attachment starts with it false).
    """
    flagged = [
        (i.interface_id, i.attachment)
        for i in state.interfaces
        if i.attachment is not None and i.attachment.delete_on_termination
    ]
    if not flagged:
        return Check(
            DELETE_ON_TERMINATION,
            True,
            "no floating interface is deleted when its instance terminates",
        )
    where = ", ".join(f"{interface_id} (on {a.instance_id})" for interface_id, a in flagged)
    fixes = "; ".join(
        f"aws ec2 modify-network-interface-attribute --network-interface-id {interface_id} "
        f"--attachment AttachmentId={a.attachment_id},DeleteOnTermination=false"
        for interface_id, a in flagged
    )
    return Check(
        DELETE_ON_TERMINATION,
        False,
        f"{where}: the attachment is set to delete on termination, so terminating that "
        "instance would delete the interface and leave nothing to fail over. Clear the "
        f"flag with `{fixes}`, or `eni-failover check {pair.name} --fix-delete-on-termination`",
    )


# The prober saves what it saw every 10 s; older than this, it has stopped reporting.
PROBER_SILENT_SECONDS = 120.0
# What to do about a prober that cannot reach the AWS APIs: a Lambda function in a VPC
# reaches them only through its subnets' routes (AWS-FACTS: Detection).
ROUTE_TO_AWS = (
    "its subnets (probeSubnetIds) need a route to the AWS APIs: a NAT, or probeEndpoints=true "
    "(needed when that NAT is a pair being watched)"
)


def prober_sees(
    pair: Pair, memory: dict[str, Any], saved_at: datetime | None, now: datetime
) -> Check:
    """Does the prober see the service answering on the primary and on the standby?"""
    name = "prober"
    if saved_at is None:
        return Check(
            name,
            False,
            "the prober has never reported: is it deployed and running? If it is, it cannot "
            f"reach DynamoDB: {ROUTE_TO_AWS}",
        )
    age = (now - saved_at).total_seconds()
    if age > PROBER_SILENT_SECONDS:
        return Check(
            name,
            False,
            f"the prober last reported {age:.0f} s ago: detection is degraded. Its logs say "
            f"why; if it cannot reach the AWS APIs, {ROUTE_TO_AWS}",
        )
    # A call that got no answer at all: a missing route, not a service's bad day. Such a
    # prober may see a failure and be unable to send its trigger.
    unreachable = [
        f"it could not {kind}: {seen.get('error')}"
        for kind, seen in (memory.get("aws_errors") or {}).items()
        if isinstance(seen, dict) and seen.get("answered") is False
    ]
    if unreachable:
        return Check(
            name,
            False,
            f"the prober cannot reach the AWS APIs: {'; '.join(unreachable)}. {ROUTE_TO_AWS}",
        )
    last = memory.get("last", {}).get(pair.name)
    if last is None:
        return Check(name, False, f"the prober has no result for pair {pair.name} yet")
    seen = {role: last.get(role) for role in ("primary", "standby")}
    if all(result is None for result in seen.values()):
        # A probe through the pair (a NAT's forwarding) has no per-instance address to try.
        service = last.get("service") or {}
        return Check(
            name,
            bool(service.get("ok")),
            f"the probe through the pair: {_answer(service)}",
        )
    failing = [role for role, result in seen.items() if not (result or {}).get("ok")]
    detail = "; ".join(f"{role} {_answer(result or {})}" for role, result in seen.items())
    if failing:
        return Check(
            name, False, f"the service does not answer on the {' and '.join(failing)}: {detail}"
        )
    return Check(name, True, f"the service answers on the primary and on the standby: {detail}")


def _answer(result: dict[str, Any]) -> str:
    if result.get("ok"):
        took = float(result.get("latency_seconds", 0)) * 1000
        return f"{result.get('target')} answered in {took:.0f} ms"
    return f"{result.get('target', 'not probed')}: {result.get('error') or 'no answer'}"


def permission_checks(client: EC2Client, plan: decide.Plan, state: PairState) -> list[Check]:
    """DryRun the detach and the attach that the plan would make, with the caller's role."""
    checks = []
    planned = {m.interface_id: m for m in plan.moves} if isinstance(plan, decide.Move) else {}
    target = state.standby.instance_id
    for interface in state.interfaces:
        if not interface.exists:
            continue
        attachment = interface.attachment
        if attachment is not None and attachment.slot != (0, 0):
            answer = ec2.dry_run_detach(client, attachment.attachment_id)
            checks.append(_permission(f"detach permission ({interface.interface_id})", answer))
        move = planned.get(interface.interface_id)
        # At the card and device index the move would use, so EC2 checks the same request.
        card, index = move.slot if move else (attachment.slot if attachment else (0, 1))
        answer = ec2.dry_run_attach(
            client,
            interface_id=interface.interface_id,
            instance_id=target,
            device_index=index,
            network_card_index=card,
        )
        checks.append(_permission(f"attach permission ({interface.interface_id})", answer))
    return checks


def _permission(name: str, answer: ec2.DryRunAnswer) -> Check:
    """Only UnauthorizedOperation fails the check; an answer that proves neither is said so."""
    return Check(
        name,
        answer.permission is ec2.Permission.ALLOWED,
        answer.detail,
        inconclusive=answer.permission is ec2.Permission.INCONCLUSIVE,
    )


def _check(name: str, problems: list[str], fine: str) -> Check:
    return Check(name, not problems, "; ".join(problems) if problems else fine)
