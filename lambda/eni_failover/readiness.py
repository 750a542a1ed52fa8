"""Would a failover succeed right now? Every precondition, plus EC2 DryRun of the calls.

Run inside the function, so the DryRun calls use the function's own permissions: a role
that lost ec2:AttachNetworkInterface or ec2:ReplaceRoute shows up here, not at 3 a.m.
during a real failure. Every address kind the pair lists has its own check line (routes,
Elastic IPs, private IPs), beside the zones, the standby and where everything is now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from eni_failover import decide, ec2, kinds
from eni_failover.config import Pair
from eni_failover.kinds import elastic_ips, private_ips, routes
from eni_failover.observed import AddressView, InstanceView, PairState

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

READY = "READY"
NOT_READY = "NOT READY"
# READY, but some check could not be confirmed either way (see verdict).
UNCONFIRMED = "READY, UNCONFIRMED"
DELETE_ON_TERMINATION = "delete on termination"
ZONES = "zones"
SOURCE_DEST_CHECK = "source/destination check"
# One check line per address kind, by the kind's name (kinds.KINDS).
KIND_CHECKS = {
    routes.NAME: "routes",
    elastic_ips.NAME: "elastic IPs",
    private_ips.NAME: "private IPs",
}
# The permission check of each kind; its DryRun names one of the kind's resources.
PERMISSION_CHECKS = {
    routes.NAME: "route permission",
    elastic_ips.NAME: "elastic IP permission",
    private_ips.NAME: "private IP permission",
}
# What the pace of a readiness check was set for: one interface's detach and attach.
DRY_RUNS_PER_PACE = 2


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
    never disagree with the real decision (a cut-short move's journal included). Each
    address kind's line holds decide's own reasons about that kind's addresses.
    """
    standby = state.standby
    problems = plan.problems if isinstance(plan, decide.Refuse | decide.Stranded) else ()

    def found(check: str) -> list[str]:
        return [p.reason for p in problems if p.check == check]

    checks = []
    if pair.interface_ids:
        checks.append(
            _check(
                "interfaces",
                found("interfaces"),
                f"{', '.join(pair.interface_ids)} exist, are secondary interfaces of the "
                f"pair, and are in {standby.availability_zone}",
            )
        )
    takes = "the interface" if pair.interface_ids else "the addresses"
    checks.append(_check("standby", found("target"), f"{standby.describe()} can take {takes}"))
    if pair.interface_ids:
        checks.append(
            _check("device index", found("device index"), "the standby has the device index free")
        )
    if state.addresses:
        # decide names an interface that cannot follow the standby to its zone with the
        # interfaces; the zones line says it too, so it never calls such a pair fine.
        across = [r for r in found("interfaces") if "Availability Zone" in r]
        checks.append(_check(ZONES, [*found("zones"), *across], _zones_fine(pair, state)))
        checks += _kind_checks(pair, state)
    if pair.routes:
        checks.append(source_dest_check(state))
    checks.append(_location(plan, pair, state))
    if pair.interface_ids:
        checks.append(delete_on_termination(pair, state))
    return checks


def _zones_fine(pair: Pair, state: PairState) -> str:
    primary, standby = state.primary, state.standby
    if primary.availability_zone == standby.availability_zone:
        return f"both instances are in {primary.availability_zone}"
    return (
        f"the primary is in {primary.availability_zone} and the standby in "
        f"{standby.availability_zone}; every address of pair {pair.name} crosses zones"
    )


def _kind_checks(pair: Pair, state: PairState) -> list[Check]:
    """One line per address kind the pair lists: decide's reasons about that kind's
    addresses (asked of decide with only them), else what was found fine."""
    checks = []
    for kind in kinds.KINDS:
        mine = tuple(a for a in state.addresses if a.kind == kind.NAME)
        if not mine:
            continue
        reasons = [
            p.reason
            for p in decide.address_problems(pair, replace(state, addresses=mine), state.standby)
        ]
        checks.append(_check(KIND_CHECKS[kind.NAME], reasons, _kind_fine(kind.NAME, mine)))
    return checks


def _kind_fine(kind: str, addresses: tuple[AddressView, ...]) -> str:
    listed = ", ".join(a.address for a in addresses)
    if kind == routes.NAME:
        return f"{listed} exist, each targeting an interface of the pair"
    if kind == elastic_ips.NAME:
        return f"{listed} exist in this account, on the pair or on nothing"
    return f"{listed} are in the standby's subnet or on neither instance"


def source_dest_check(state: PairState) -> Check:
    """A route points at an instance that forwards traffic not addressed to it (a NAT, an
    overlay IP): with source/destination checking on its interface, EC2 drops that
    traffic. The standby needs it off before the routes move there; the primary after a
    failback."""
    on = [v for v in (state.standby, state.primary) if v.source_dest_check]
    unknown = [v for v in (state.standby, state.primary) if v.source_dest_check is None]
    if on:
        fixes = "; or ".join(_no_source_dest_check(v) for v in on)
        return Check(
            SOURCE_DEST_CHECK,
            False,
            f"source/destination checking is ON for {_sides(on, state)}: the pair's routes "
            "point at that instance, and EC2 drops the traffic they forward to it (not "
            f"addressed to it). Turn it off: {fixes}",
        )
    if unknown:
        return Check(
            SOURCE_DEST_CHECK,
            False,
            f"EC2 does not show source/destination checking for {_sides(unknown, state)} "
            "(does the instance exist?)",
            inconclusive=True,
        )
    return Check(
        SOURCE_DEST_CHECK,
        True,
        "off on both instances: they forward the traffic the routes send them",
    )


def _sides(views: list[InstanceView], state: PairState) -> str:
    return " and ".join(
        f"the {'standby' if v is state.standby else 'primary'} {v.instance_id}" for v in views
    )


def _no_source_dest_check(view: InstanceView) -> str:
    command = (
        f"`aws ec2 modify-instance-attribute --instance-id {view.instance_id} "
        "--no-source-dest-check`"
    )
    if view.primary_interface_id:
        command += (
            " (or ModifyNetworkInterfaceAttribute: `aws ec2 modify-network-interface-attribute "
            f"--network-interface-id {view.primary_interface_id} --no-source-dest-check`)"
        )
    return command


def _location(plan: decide.Plan, pair: Pair, state: PairState) -> Check:
    """Where the interfaces and addresses are: on the primary, or all on the standby (a
    failback is pending), else the service is not whole until a failover finishes it."""
    primary, standby = state.primary.instance_id, state.standby.instance_id
    on_standby = [i.interface_id for i in state.interfaces if i.attached_to(standby)]
    detached = [i.interface_id for i in state.interfaces if decide.on_no_instance(i)]
    present = [a for a in state.addresses if a.exists]
    on_standby += [a.key for a in present if a.held_by(standby)]
    # A blackhole route, an Elastic IP or a private IP on nothing: no one serves it now.
    nowhere = [a for a in present if not (a.held_by(primary) or a.held_by(standby))]
    on_primary = [i for i in state.interfaces if i.attached_to(primary)] + [
        a for a in present if a.held_by(primary)
    ]
    finish = f"`eni-failover failover {pair.name}` finishes the move"
    if isinstance(plan, decide.Stranded):
        return Check("location", False, plan.error)
    if detached:
        # A move cut short: the service is down until a failover finishes it.
        return Check(
            "location",
            False,
            f"{', '.join(detached)} is attached to no instance (a move was cut short); {finish}",
        )
    if nowhere:
        return Check(
            "location",
            False,
            f"{'; '.join(a.describe() for a in nowhere)}: served by neither instance now; {finish}",
        )
    if on_standby and on_primary:
        return Check(
            "location",
            False,
            f"{', '.join(on_standby)} on the standby and the rest on the primary (a move "
            f"was cut short); {finish}",
        )
    if on_primary and primary_failed(state.primary):
        # Nothing serves through a failed primary: the pair is down, not ready, whatever
        # a failover would find (automation may be paused, or not have acted yet).
        held = [i.interface_id for i in state.interfaces if i.attached_to(primary)]
        held += [a.key for a in present if a.held_by(primary)]
        return Check(
            "location",
            False,
            f"the primary {state.primary.describe()} has FAILED and still holds "
            f"{', '.join(held)}: nothing serves through it; `eni-failover failover "
            f"{pair.name}` moves it to the standby",
        )
    return Check(
        "location",
        True,
        f"{', '.join(on_standby)} already on the standby: failback is pending"
        if on_standby
        else f"on the primary {state.primary.describe()}",
    )


# The states of an instance that is going or gone: it serves no one.
FAILED_STATES = ("stopping", "stopped", "shutting-down", "terminated")


def primary_failed(primary: InstanceView) -> bool:
    """Stopped, stopping or terminated, or a status check impaired (`status` flags the
    same)."""
    return primary.exists and (primary.state in FAILED_STATES or primary.impaired)


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
    """DryRun the calls the plan would make, with the caller's role: the detach and the
    attach of each interface, and each address kind's own call (kinds.*.dry_run)."""
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
    return checks + address_permission_checks(client, state)


def address_permission_checks(client: EC2Client, state: PairState) -> list[Check]:
    """Each kind's own call, DryRun towards the standby, once per resource the permission
    is granted on (IAM names route tables and allocations, not destinations): one route of
    each table, each Elastic IP. AssignPrivateIpAddresses has no DryRun, so the private
    IPs get one inconclusive line saying so, and no call."""
    target = state.standby
    if target.primary_interface_id is None:
        # Nothing to point a DryRun at: the standby check says why.
        return []
    asked: dict[str, AddressView] = {}
    for address in state.addresses:
        if address.exists:  # a missing route's DryRun answers NotFound: it proves nothing
            asked.setdefault(_permission_name(address), address)
    return [
        _permission(name, kinds.kind_of(address).dry_run(client, address, target))
        for name, address in asked.items()
    ]


def _permission_name(address: AddressView) -> str:
    """The permission check an address's DryRun answers for: its route table, its
    allocation, or every private IP at once (no DryRun, so no resource to name)."""
    name = PERMISSION_CHECKS[address.kind]
    if address.kind == routes.NAME:
        return f"{name} ({address.address.split(' ', 1)[0]})"
    if address.kind == elastic_ips.NAME:
        return f"{name} ({address.address})"
    return name


def address_dry_runs(pair: Pair) -> int:
    """The DryRun calls a readiness check of the pair makes for its addresses."""
    return len(pair.route_table_ids) + len(pair.eip_allocation_ids)


def pace_seconds(pair: Pair, per_pace: float) -> float:
    """How long a paced check waits before this pair: `per_pace` for an interface's two
    DryRuns, and as many more as its route tables and Elastic IPs need."""
    return per_pace * max(1, math.ceil(address_dry_runs(pair) / DRY_RUNS_PER_PACE))


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
