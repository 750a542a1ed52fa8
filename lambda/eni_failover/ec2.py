"""Every EC2 call the failover makes, and nothing else. Each function takes its client."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from eni_failover.config import Pair
from eni_failover.errors import AwsCallFailed
from eni_failover.observed import Attachment, InstanceView, InterfaceView, PairState

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

T = TypeVar("T")

# The answer EC2 gives a DryRun call that would have been allowed, and the one it gives
# when the caller lacks the permission. Any other answer proves neither.
DRY_RUN_ALLOWED = "DryRunOperation"
DRY_RUN_DENIED = "UnauthorizedOperation"
# What EC2 answers a describe by IDs that names one it does not know.
INTERFACE_NOT_FOUND = "InvalidNetworkInterfaceID.NotFound"
INSTANCE_NOT_FOUND = "InvalidInstanceID.NotFound"
NO_STATUS_CHECKS = frozenset({"shutting-down", "terminated"})
# EC2 takes at most 200 values per filter, and DescribeInstanceStatus at most 100 IDs.
FILTER_VALUES = 200
STATUS_IDS = 100
# The largest page DescribeNetworkInterfaces serves.
INTERFACE_PAGE = 1000


def call(operation: str, request: Callable[[], T]) -> T:
    """Run one EC2 call, a ClientError raised as AwsCallFailed (every module that calls EC2
    goes through it); botocore has already retried throttling by the time this raises."""
    try:
        return request()
    except ClientError as error:
        raise AwsCallFailed.from_client_error(operation, error) from error


def observe_pair(client: EC2Client, pair: Pair, *, now: datetime | None = None) -> PairState:
    """Three describe calls: the interfaces, both instances, and their status checks."""
    interfaces = describe_interfaces(client, pair.interface_ids)
    instances = describe_instances(client, (pair.primary_instance_id, pair.standby_instance_id))
    return PairState(
        primary=instances[pair.primary_instance_id],
        standby=instances[pair.standby_instance_id],
        interfaces=tuple(interfaces[i] for i in pair.interface_ids),
        observed_at=now or datetime.now(UTC),
    )


def observe_pairs(
    client: EC2Client, pairs: Sequence[Pair], *, now: datetime | None = None
) -> dict[str, PairState]:
    """Every pair at once, by name, in a handful of describes whatever their number (the
    sweep's look each minute: three describes per pair would keep 200 pairs' worth of
    EC2's request buckets busy, the buckets a wave of failovers needs)."""
    interfaces = describe_many_interfaces(client, [i for p in pairs for i in p.interface_ids])
    instances = describe_instances(
        client, [i for p in pairs for i in (p.primary_instance_id, p.standby_instance_id)]
    )
    at = now or datetime.now(UTC)
    return {
        pair.name: PairState(
            primary=instances[pair.primary_instance_id],
            standby=instances[pair.standby_instance_id],
            interfaces=tuple(interfaces[i] for i in pair.interface_ids),
            observed_at=at,
        )
        for pair in pairs
    }


def describe_interfaces(
    client: EC2Client, interface_ids: Iterable[str]
) -> dict[str, InterfaceView]:
    """The interfaces by ID; one that no longer exists reads as missing.

    By NetworkInterfaceIds, not a network-interface-id filter: in an account with many
    interfaces EC2 refuses an unpaginated describe unless it names IDs or uses an indexed
    filter, and that filter is not indexed.
    """
    ids = list(dict.fromkeys(interface_ids))

    def by_id(some: list[str]) -> list[Any]:
        response = call(
            "DescribeNetworkInterfaces",
            lambda: client.describe_network_interfaces(NetworkInterfaceIds=some),
        )
        return list(response.get("NetworkInterfaces", []))

    found = {
        raw["NetworkInterfaceId"]: _interface_view(raw)
        for raw in _each_found(ids, by_id, missing=INTERFACE_NOT_FOUND)
    }
    return {i: found.get(i, InterfaceView(interface_id=i, exists=False)) for i in ids}


def describe_many_interfaces(
    client: EC2Client, interface_ids: Iterable[str]
) -> dict[str, InterfaceView]:
    """Many interfaces in as few calls as EC2 allows; one that no longer exists reads as
    missing.

    By a network-interface-id filter, paginated, 200 IDs a call: an ID EC2 does not know is
    simply not in the answer (by NetworkInterfaceIds it would fail the whole call, and one
    deleted interface would blind the look of every other), and a paginated describe is
    served however many interfaces the account has.
    """
    ids = list(dict.fromkeys(interface_ids))
    found: dict[str, InterfaceView] = {}
    for chunk in _chunks(ids, FILTER_VALUES):
        token = ""
        while True:
            response = call(
                "DescribeNetworkInterfaces",
                partial(_filtered_interfaces, client, chunk, token),
            )
            for raw in response.get("NetworkInterfaces", []):
                found[raw["NetworkInterfaceId"]] = _interface_view(raw)
            token = response.get("NextToken") or ""
            if not token:
                break
    return {i: found.get(i, InterfaceView(interface_id=i, exists=False)) for i in ids}


def _filtered_interfaces(client: EC2Client, ids: list[str], token: str) -> Any:
    filters: Any = [{"Name": "network-interface-id", "Values": ids}]
    if token:
        return client.describe_network_interfaces(
            Filters=filters, MaxResults=INTERFACE_PAGE, NextToken=token
        )
    return client.describe_network_interfaces(Filters=filters, MaxResults=INTERFACE_PAGE)


def _chunks(ids: list[str], size: int) -> list[list[str]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _each_found(
    ids: list[str], describe: Callable[[list[str]], list[T]], *, missing: str
) -> list[T]:
    """What `describe` finds for the IDs, where an ID EC2 does not know is left out.

    EC2 fails a describe by IDs as a whole when one of them is unknown (`missing`); then
    each ID is asked on its own, so only the unknown one reads as absent. One call in the
    normal case; one more per ID only after such an answer.
    """
    if not ids:
        return []  # no IDs would describe everything
    try:
        return describe(ids)
    except AwsCallFailed as error:
        if error.code != missing:
            raise
    if len(ids) == 1:
        return []
    found: list[T] = []
    for one in ids:
        try:
            found += describe([one])
        except AwsCallFailed as error:
            if error.code != missing:
                raise
    return found


def _interface_view(raw: Any) -> InterfaceView:
    attachment = None
    raw_attachment = raw.get("Attachment")
    if raw_attachment and raw_attachment.get("Status") != "detached":
        attachment = Attachment(
            attachment_id=raw_attachment["AttachmentId"],
            instance_id=raw_attachment.get("InstanceId", ""),
            device_index=int(raw_attachment.get("DeviceIndex", -1)),
            status=raw_attachment.get("Status", "attached"),
            network_card_index=int(raw_attachment.get("NetworkCardIndex") or 0),
            delete_on_termination=bool(raw_attachment.get("DeleteOnTermination", False)),
        )
    association = raw.get("Association") or {}
    return InterfaceView(
        interface_id=raw["NetworkInterfaceId"],
        exists=True,
        status=raw.get("Status"),
        availability_zone=raw.get("AvailabilityZone"),
        attachment=attachment,
        private_ips=tuple(
            p["PrivateIpAddress"]
            for p in raw.get("PrivateIpAddresses", [])
            if "PrivateIpAddress" in p
        ),
        public_ip=association.get("PublicIp"),
        mac_address=raw.get("MacAddress"),
    )


def describe_instances(client: EC2Client, instance_ids: Iterable[str]) -> dict[str, InstanceView]:
    ids = list(dict.fromkeys(instance_ids))
    raw_instances = {
        raw["InstanceId"]: raw
        for chunk in _chunks(ids, FILTER_VALUES)
        for reservation in call(
            "DescribeInstances",
            partial(client.describe_instances, Filters=[{"Name": "instance-id", "Values": chunk}]),
        ).get("Reservations", [])
        for raw in reservation.get("Instances", [])
    }
    # An instance on its way out has no status checks, and EC2 may answer NotFound for a
    # terminated one that DescribeInstances still shows: asking would only risk blinding
    # the whole observation. Its checks read as unknown.
    with_checks = [
        instance_id
        for instance_id, raw in raw_instances.items()
        if raw.get("State", {}).get("Name") not in NO_STATUS_CHECKS
    ]

    def status_of(some: list[str]) -> list[Any]:
        # IncludeAllInstances: a stopped instance must show up as stopped, not vanish.
        response = call(
            "DescribeInstanceStatus",
            lambda: client.describe_instance_status(InstanceIds=some, IncludeAllInstances=True),
        )
        return list(response.get("InstanceStatuses", []))

    # One that ends between the two calls is left out rather than failing the others.
    statuses = {
        s["InstanceId"]: s
        for chunk in _chunks(with_checks, STATUS_IDS)
        for s in _each_found(chunk, status_of, missing=INSTANCE_NOT_FOUND)
    }
    views = {}
    for instance_id in ids:
        raw = raw_instances.get(instance_id)
        if raw is None:
            views[instance_id] = InstanceView(instance_id=instance_id, exists=False)
            continue
        status = statuses.get(instance_id, {})
        views[instance_id] = InstanceView(
            instance_id=instance_id,
            exists=True,
            state=raw.get("State", {}).get("Name"),
            availability_zone=raw.get("Placement", {}).get("AvailabilityZone"),
            system_status=status.get("SystemStatus", {}).get("Status"),
            instance_status=status.get("InstanceStatus", {}).get("Status"),
            attached_ebs_status=status.get("AttachedEbsStatus", {}).get("Status"),
            private_ip=raw.get("PrivateIpAddress"),
            launch_time=_aware(raw["LaunchTime"]) if raw.get("LaunchTime") else None,
            failed_since=_failed_since(raw, status),
            # A device index is unique per network card, so the key is both.
            device_indexes={
                (
                    int(n["Attachment"].get("NetworkCardIndex") or 0),
                    int(n["Attachment"]["DeviceIndex"]),
                ): n["NetworkInterfaceId"]
                for n in raw.get("NetworkInterfaces", [])
                if n.get("Attachment") and n["Attachment"].get("Status") != "detached"
            },
        )
    return views


# "User initiated (2026-11-29 10:00:00 GMT)": EC2 writes GMT, moto UTC.
_TRANSITION_TIME = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")


def _failed_since(raw: Any, status: Any) -> datetime | None:
    """When the instance's current failure began: an impaired check's ImpairedSince, else
    the time in StateTransitionReason of a stop or termination; None when EC2 says neither.
    """
    impaired = [
        detail["ImpairedSince"]
        for check in ("SystemStatus", "InstanceStatus", "AttachedEbsStatus")
        for detail in status.get(check, {}).get("Details", [])
        if detail.get("ImpairedSince") is not None
    ]
    if impaired:
        return min(_aware(when) for when in impaired)
    if raw.get("State", {}).get("Name") == "running":
        return None
    found = _TRANSITION_TIME.search(str(raw.get("StateTransitionReason") or ""))
    if found is None:
        return None
    return datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _aware(when: Any) -> datetime:
    moment = when if isinstance(when, datetime) else datetime.fromisoformat(str(when))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def detach(client: EC2Client, attachment_id: str, *, force: bool) -> None:
    call(
        "DetachNetworkInterface",
        lambda: client.detach_network_interface(AttachmentId=attachment_id, Force=force),
    )


def attach(
    client: EC2Client,
    *,
    interface_id: str,
    instance_id: str,
    device_index: int,
    network_card_index: int = 0,
) -> str:
    response = call(
        "AttachNetworkInterface",
        lambda: client.attach_network_interface(
            NetworkInterfaceId=interface_id,
            InstanceId=instance_id,
            DeviceIndex=device_index,
            NetworkCardIndex=network_card_index,
        ),
    )
    return response["AttachmentId"]


@dataclass(frozen=True)
class StopAnswer:
    """What StopInstances answered: the state it reported, and whether the OS shutdown was
    skipped (only a botocore whose EC2 model has SkipOsShutdown can ask for that)."""

    state: str
    skipped_os_shutdown: bool


def knows_skip_os_shutdown(client: EC2Client) -> bool:
    """Whether this botocore can send StopInstances' SkipOsShutdown (the Lambda runtime's
    bundled botocore may predate it, and botocore refuses a parameter it does not know)."""
    shape = client.meta.service_model.operation_model("StopInstances").input_shape
    return shape is not None and "SkipOsShutdown" in shape.members


def stop_instance(client: EC2Client, instance_id: str) -> StopAnswer:
    """Stop the instance with Force (as fence_aws does) and, where botocore knows it,
    SkipOsShutdown: Force alone still first attempts a graceful OS shutdown."""
    skip = knows_skip_os_shutdown(client)
    extra: dict[str, Any] = {"SkipOsShutdown": True} if skip else {}
    response = call(
        "StopInstances",
        lambda: client.stop_instances(InstanceIds=[instance_id], Force=True, **extra),
    )
    changes = response.get("StoppingInstances", [])
    state = str(changes[0].get("CurrentState", {}).get("Name", "unknown")) if changes else "unknown"
    return StopAnswer(state=state, skipped_os_shutdown=skip)


def instance_state(client: EC2Client, instance_id: str) -> str:
    """The instance's state now (pending, running, stopping, stopped, ...)."""
    response = call(
        "DescribeInstances",
        lambda: client.describe_instances(InstanceIds=[instance_id]),
    )
    for reservation in response.get("Reservations", []):
        for raw in reservation.get("Instances", []):
            return str(raw.get("State", {}).get("Name", "unknown"))
    return "unknown"


def interface_groups(client: EC2Client, instance_id: str) -> dict[str, tuple[str, ...]]:
    """Every interface attached to the instance, with its security groups.

    By the attachment.instance-id filter, which EC2 indexes (a describe that an account
    with many interfaces still serves).
    """
    response = call(
        "DescribeNetworkInterfaces",
        lambda: client.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}]
        ),
    )
    return {
        raw["NetworkInterfaceId"]: tuple(g["GroupId"] for g in raw.get("Groups", []))
        for raw in response.get("NetworkInterfaces", [])
        if (raw.get("Attachment") or {}).get("Status") in ("attaching", "attached")
    }


def replace_interface_groups(client: EC2Client, interface_id: str, groups: tuple[str, ...]) -> None:
    """Set one interface's security groups (ModifyNetworkInterfaceAttribute).

    Per interface, as the EC2 reference recommends: ModifyInstanceAttribute Groups "can
    result in an error if the instance has more than one ENI".
    """
    call(
        "ModifyNetworkInterfaceAttribute",
        lambda: client.modify_network_interface_attribute(
            NetworkInterfaceId=interface_id, Groups=list(groups)
        ),
    )


class Permission(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class DryRunAnswer:
    """What EC2 said to a DryRun call: allowed, denied, or neither (and why)."""

    permission: Permission
    detail: str


def dry_run_detach(client: EC2Client, attachment_id: str) -> DryRunAnswer:
    """Would the failover's forced detach be allowed?"""
    return _dry_run(
        "DetachNetworkInterface",
        lambda: client.detach_network_interface(
            AttachmentId=attachment_id, Force=True, DryRun=True
        ),
    )


def dry_run_attach(
    client: EC2Client,
    *,
    interface_id: str,
    instance_id: str,
    device_index: int,
    network_card_index: int = 0,
) -> DryRunAnswer:
    """Would attaching the interface to that instance be allowed?"""
    return _dry_run(
        "AttachNetworkInterface",
        lambda: client.attach_network_interface(
            NetworkInterfaceId=interface_id,
            InstanceId=instance_id,
            DeviceIndex=device_index,
            NetworkCardIndex=network_card_index,
            DryRun=True,
        ),
    )


def _dry_run(operation: str, call: Callable[[], object]) -> DryRunAnswer:
    """Ask EC2 whether the caller may make a call, without making it.

    EC2 answers a permitted DryRun with the error DryRunOperation and a forbidden one with
    UnauthorizedOperation. Any other answer (a state or parameter error, throttling beyond
    botocore's retries, an internal error) proves nothing about the permission either way.
    """
    try:
        call()
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "Unknown")
        said = f"{code}: {details.get('Message', '')}".rstrip(": ")
        if code == DRY_RUN_ALLOWED:
            return DryRunAnswer(Permission.ALLOWED, f"{operation} would be allowed")
        if code == DRY_RUN_DENIED:
            return DryRunAnswer(Permission.DENIED, f"{operation} is not allowed: {said}")
        return DryRunAnswer(
            Permission.INCONCLUSIVE,
            f"{operation} permission unconfirmed: EC2 answered the DryRun with {said}, "
            "which says nothing about permission",
        )
    # EC2 always answers DryRun with an error; success means the endpoint ignored the flag.
    return DryRunAnswer(
        Permission.INCONCLUSIVE,
        f"{operation} permission unconfirmed: the call succeeded, so the endpoint ignored DryRun",
    )
