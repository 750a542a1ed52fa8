"""Every EC2 call the failover makes, and nothing else. Each function takes its client."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from eni_failover.config import Pair
from eni_failover.errors import AWS_ERRORS, AwsCallFailed
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
# Instances named in one DescribeInstances (EC2 pages beyond 1,000; 200 keeps answers small).
INSTANCE_IDS = 200
# Instances of one zone at most this many have their status checks asked at the same time
# as DescribeInstances (look_instances): a pair's, a move's target; never a sweep's fleet.
EARLY_STATUS_IDS = 2
# What is left once botocore has retried a server error. EC2 fails a DescribeInstances that
# names an instance in an Availability Zone in a service disruption, or names no IDs at all
# (EC2 API reference, DescribeInstances); AWS does not say with which code, so any of these.
SERVER_ERRORS = frozenset({"Unavailable", "InternalError", "ServiceUnavailable", "InternalFailure"})


class ZoneMemory:
    """Each instance's Availability Zone, as EC2 last showed it (an instance never changes
    zone): what lets describes name only one zone's instances each. Kept while the sandbox
    is warm; a cold one learns from its first answers (interfaces carry their zone, and an
    interface attaches only to instances of its own zone)."""

    def __init__(self) -> None:
        self._zones: dict[str, str] = {}
        # Zones whose last describe failed with a server error: since when (monotonic),
        # and EC2's answer.
        self._failing: dict[str, tuple[float, AwsCallFailed]] = {}
        self._lock = threading.Lock()

    def zone_of(self, instance_id: str) -> str | None:
        with self._lock:
            return self._zones.get(instance_id)

    def remember(self, instance_id: str, zone: str | None) -> None:
        if instance_id and zone:
            with self._lock:
                self._zones[instance_id] = zone

    def answered(self, zone: str | None, error: AwsCallFailed | None) -> None:
        """How the zone's last describe went: a server error, or an answer (None)."""
        if zone is None:
            return
        with self._lock:
            if error is None:
                self._failing.pop(zone, None)
            elif zone not in self._failing:
                self._failing[zone] = (time.monotonic(), error)

    def failing(self, zone: str | None, *, within: float) -> AwsCallFailed | None:
        """EC2's answer, if the zone's describes have failed for less than `within` s."""
        with self._lock:
            found = self._failing.get(zone) if zone else None
        if found is None or time.monotonic() - found[0] >= within:
            return None
        return found[1]

    def forget(self) -> None:
        with self._lock:
            self._zones.clear()
            self._failing.clear()


ZONES = ZoneMemory()
# The largest page DescribeNetworkInterfaces serves.
INTERFACE_PAGE = 1000


def call(operation: str, request: Callable[[], T]) -> T:
    """Run one EC2 call, a ClientError or no answer (a BotoCoreError: connection refused,
    timed out) raised as AwsCallFailed (every module that calls EC2 goes through it);
    botocore has already retried throttling and connection errors by the time this raises."""
    try:
        return request()
    except AWS_ERRORS as error:
        raise AwsCallFailed.from_client_error(operation, error) from error


def observe_pair(client: EC2Client, pair: Pair, *, now: datetime | None = None) -> PairState:
    """Three describe calls: the interfaces, both instances, and their status checks."""
    interfaces = describe_interfaces(client, pair.interface_ids)
    instances = describe_instances(
        client,
        (pair.primary_instance_id, pair.standby_instance_id),
        zones=pair_zones(pair, interfaces),
    )
    return PairState(
        primary=instances[pair.primary_instance_id],
        standby=instances[pair.standby_instance_id],
        interfaces=tuple(interfaces[i] for i in pair.interface_ids),
        observed_at=now or datetime.now(UTC),
    )


# The state of an instance EC2 would not describe because its zone is in a service
# disruption: what its interfaces show of it is known, whether it runs is not.
UNREACHABLE = "unreachable"


def observe_pair_beyond_a_disrupted_zone(
    client: EC2Client,
    pair: Pair,
    *,
    unreachable_id: str,
    failed: AwsCallFailed,
    now: datetime | None = None,
) -> PairState:
    """The pair when EC2 would not describe `unreachable_id` (`failed` says why): that
    instance read from its interfaces, state UNREACHABLE, and the other described as usual.

    Only for a pair of routes and addresses (an interface pair's instances share its
    interface's zone, so neither is described) and only when EC2 answered a server error,
    which a zone in a service disruption answers, and described the other instance:
    otherwise `failed` is raised again. Routes and Elastic IPs are regional, and their
    describes keep answering; whether the addresses may move is for `decide`, which never
    moves anything to an instance that is not described running."""
    if pair.interface_ids or failed.code not in SERVER_ERRORS:
        raise failed
    [other] = {pair.primary_instance_id, pair.standby_instance_id} - {unreachable_id}
    # The other alone: asking the unreachable one again would only cost botocore's backoff.
    look = look_instances(client, [other])
    if look.unanswered:
        raise failed
    response = call(
        "DescribeNetworkInterfaces",
        lambda: client.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [unreachable_id]}]
        ),
    )
    found = dict(look.found)
    found[unreachable_id] = _seen_through_interfaces(
        unreachable_id, list(response.get("NetworkInterfaces", []))
    )
    return PairState(
        primary=found[pair.primary_instance_id],
        standby=found[pair.standby_instance_id],
        interfaces=(),
        observed_at=now or datetime.now(UTC),
    )


def _seen_through_interfaces(instance_id: str, interfaces: list[Any]) -> InstanceView:
    """An instance as its interfaces show it (zone, subnet, addresses, device indexes)."""
    primary = _primary_interface(interfaces) or {}
    return InstanceView(
        instance_id=instance_id,
        exists=True,
        state=UNREACHABLE,
        availability_zone=ZONES.zone_of(instance_id) or primary.get("AvailabilityZone"),
        private_ip=primary.get("PrivateIpAddress"),
        subnet_id=primary.get("SubnetId"),
        vpc_id=primary.get("VpcId"),
        source_dest_check=primary.get("SourceDestCheck"),
        device_indexes=_device_indexes(interfaces),
    )


def _attached(interfaces: Iterable[Any]) -> list[Any]:
    """The interfaces attached (or attaching, or detaching) to their instance."""
    return [
        n for n in interfaces if n.get("Attachment") and n["Attachment"].get("Status") != "detached"
    ]


def _device_indexes(interfaces: Iterable[Any]) -> dict[tuple[int, int], str]:
    """(network card, device index) -> interface ID: a device index is unique per network
    card, so the key is both."""
    return {
        (
            int(n["Attachment"].get("NetworkCardIndex") or 0),
            int(n["Attachment"]["DeviceIndex"]),
        ): n["NetworkInterfaceId"]
        for n in _attached(interfaces)
    }


def _primary_interface(interfaces: Iterable[Any]) -> Any:
    """The attached interface at device index 0 of card 0, or None."""
    return next(
        (
            n
            for n in _attached(interfaces)
            if n["Attachment"].get("DeviceIndex") == 0
            and not n["Attachment"].get("NetworkCardIndex")
        ),
        None,
    )


@dataclass(frozen=True)
class PairsLook:
    """Every pair EC2 described, by name; and those it would not, with why (a zone in a
    service disruption fails the describes of its instances, and only theirs)."""

    states: dict[str, PairState]
    unobserved: dict[str, str]


def observe_pairs(
    client: EC2Client, pairs: Sequence[Pair], *, now: datetime | None = None
) -> PairsLook:
    """Every pair at once, by name, in a handful of describes whatever their number (the
    sweep's look each minute: three describes per pair would keep 200 pairs' worth of
    EC2's request buckets busy, the buckets a wave of failovers needs): one DescribeInstances
    per Availability Zone, so a zone EC2 cannot describe hides only its own pairs."""
    interfaces = describe_many_interfaces(client, [i for p in pairs for i in p.interface_ids])
    zones: dict[str, str | None] = {}
    for pair in pairs:
        zones.update(pair_zones(pair, interfaces))
    instances = look_instances(
        client,
        [i for p in pairs for i in (p.primary_instance_id, p.standby_instance_id)],
        zones=zones,
    )
    at = now or datetime.now(UTC)
    states, unobserved = {}, {}
    for pair in pairs:
        missed = [
            instances.unanswered[i]
            for i in (pair.primary_instance_id, pair.standby_instance_id)
            if i in instances.unanswered
        ]
        if missed:
            unobserved[pair.name] = str(missed[0])
            continue
        states[pair.name] = PairState(
            primary=instances.found[pair.primary_instance_id],
            standby=instances.found[pair.standby_instance_id],
            interfaces=tuple(interfaces[i] for i in pair.interface_ids),
            observed_at=at,
        )
    return PairsLook(states=states, unobserved=unobserved)


def pair_zones(pair: Pair, interfaces: Mapping[str, InterfaceView]) -> dict[str, str | None]:
    """Where the pair's instances should be: in its interface's zone (an interface attaches
    only to instances in its own zone). A guess until EC2 describes them (ZONES)."""
    zone = next(
        (interfaces[i].availability_zone for i in pair.interface_ids if i in interfaces), None
    )
    return {pair.primary_instance_id: zone, pair.standby_instance_id: zone}


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
        for raw in each_found(ids, by_id, missing=INTERFACE_NOT_FOUND)
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


def found_by_id(
    ids: Iterable[str],
    describe: Callable[[list[str]], list[Any]],
    *,
    key: str,
    missing: str,
    per_call: int = 100,
) -> dict[str, Any]:
    """What EC2 shows of each ID, by its `key` field, asked `per_call` IDs a call; an ID EC2
    does not know (`missing`) is simply not in the answer (each_found)."""
    unique = list(dict.fromkeys(ids))
    return {
        raw[key]: raw
        for chunk in _chunks(unique, per_call)
        for raw in each_found(chunk, describe, missing=missing)
    }


def each_found(
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
    if raw_attachment:
        # The instance it is attached to is in the interface's zone.
        ZONES.remember(raw_attachment.get("InstanceId", ""), raw.get("AvailabilityZone"))
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


@dataclass(frozen=True)
class InstancesLook:
    """The instances EC2 described, and those it would not (with its answer)."""

    found: dict[str, InstanceView]
    unanswered: dict[str, AwsCallFailed]


def describe_instances(
    client: EC2Client,
    instance_ids: Iterable[str],
    *,
    zones: Mapping[str, str | None] | None = None,
) -> dict[str, InstanceView]:
    """The instances by ID, one that no longer exists reading as missing; raises when EC2
    would not describe one of them (look_instances says which, and keeps the others)."""
    look = look_instances(client, instance_ids, zones=zones)
    if look.unanswered:
        failed = next(iter(look.unanswered.values()))
        raise AwsCallFailed(
            failed.operation,
            failed.code,
            f"EC2 would not describe {', '.join(look.unanswered)}{_zones_of(look.unanswered)} "
            f"({failed.detail.rstrip('.')}). An Availability Zone in a service disruption fails "
            "every describe that names its instances, while those of other zones are described "
            "normally (the AWS Health Dashboard says whether the zone is disrupted)",
        ) from failed
    return look.found


def _zones_of(instance_ids: Iterable[str]) -> str:
    zones = sorted({z for i in instance_ids if (z := ZONES.zone_of(i))})
    return f" (in {', '.join(zones)})" if zones else ""


def look_instances(
    client: EC2Client,
    instance_ids: Iterable[str],
    *,
    zones: Mapping[str, str | None] | None = None,
    spare_failing_seconds: float = 0.0,
) -> InstancesLook:
    """The instances and their status checks, by InstanceIds, one call per zone.

    EC2 fails a DescribeInstances that names an instance in an Availability Zone in a
    service disruption, or names no IDs at all (a filter names none), and serves one that
    names only instances of other zones (EC2 API reference). So the IDs are asked zone by
    zone: each instance's zone as EC2 showed it before (ZONES), else as `zones` guesses it
    (the pair's interface's). A zone's call that fails with a server error leaves only its
    own instances unanswered; IDs of no known zone that fail together are asked one by one.
    With `spare_failing_seconds`, a zone whose describes began failing less than that ago
    is not asked (each ask costs botocore's backoff first): for callers that look again
    soon, never for a move.
    """
    ids = list(dict.fromkeys(instance_ids))
    guesses = zones or {}
    groups: dict[str | None, list[str]] = {}
    for instance_id in ids:
        zone = ZONES.zone_of(instance_id) or guesses.get(instance_id)
        groups.setdefault(zone, []).append(instance_id)

    def status_of(some: list[str]) -> list[Any]:
        # IncludeAllInstances: a stopped instance must show up as stopped, not vanish.
        response = call(
            "DescribeInstanceStatus",
            lambda: client.describe_instance_status(InstanceIds=some, IncludeAllInstances=True),
        )
        return list(response.get("InstanceStatuses", []))

    # A few instances of one zone (a pair, a move's target): their status checks are asked
    # at the same time as the instances, saving a round trip on the failover's way to the
    # detach and to the attach. The answer is used only if the checks are then asked for
    # exactly these IDs (none on its way out, all described); an error it got is then
    # handled as if the call had been made after DescribeInstances.
    only_zone, only_group = next(iter(groups.items())) if len(groups) == 1 else (None, [])
    early: Future[list[Any]] | None = None
    if (
        only_zone is not None
        and 0 < len(only_group) <= min(STATUS_IDS, EARLY_STATUS_IDS)
        and ZONES.failing(only_zone, within=spare_failing_seconds) is None
    ):
        early = in_background(partial(status_of, list(only_group)))

    def by_id(some: list[str]) -> list[Any]:
        response = call("DescribeInstances", lambda: client.describe_instances(InstanceIds=some))
        return [raw for r in response.get("Reservations", []) for raw in r.get("Instances", [])]

    unanswered: dict[str, AwsCallFailed] = {}
    raw_instances: dict[str, Any] = {}
    for zone, group in groups.items():
        spared = ZONES.failing(zone, within=spare_failing_seconds)
        if spared is not None:
            unanswered.update(dict.fromkeys(group, spared))
            continue
        for chunk in _chunks(group, INSTANCE_IDS):
            # An unknown zone's IDs one by one after a failure: they may span zones.
            for answered, error in _zone_answers(chunk, by_id, one_by_one=zone is None):
                for raw in answered:
                    raw_instances[raw["InstanceId"]] = raw
                    ZONES.remember(
                        raw["InstanceId"], raw.get("Placement", {}).get("AvailabilityZone")
                    )
                unanswered.update(error)
                if zone is not None:
                    ZONES.answered(zone, next(iter(error.values()), None))
    # An instance on its way out has no status checks, and EC2 may answer NotFound for a
    # terminated one that DescribeInstances still shows: asking would only risk blinding
    # the whole observation. Its checks read as unknown.
    # Every zone's together: DescribeInstances has just answered for each of them, so
    # none is in a disruption (one call per zone would double a cross-zone pair's calls,
    # and a wave of such pairs empties the bucket). Should one fail after all, its IDs are
    # asked one by one, so only a failing zone's stay unanswered.
    with_checks = [
        instance_id
        for instance_id, raw in raw_instances.items()
        if raw.get("State", {}).get("Name") not in NO_STATUS_CHECKS
    ]

    def checks_of(some: list[str]) -> list[Any]:
        nonlocal early
        if early is not None and sorted(some) == sorted(only_group):
            asked, early = early, None
            return asked.result()  # what EC2 answered, or its error raised here
        return status_of(some)

    # One that ends between the two calls is left out rather than failing the others.
    statuses: dict[str, Any] = {}
    for chunk in _chunks(with_checks, STATUS_IDS):
        for answered, error in _zone_answers(chunk, checks_of, one_by_one=True):
            statuses.update({s["InstanceId"]: s for s in answered})
            unanswered.update(error)
    views = {
        instance_id: _instance_view(instance_id, raw_instances.get(instance_id), statuses)
        for instance_id in ids
        if instance_id not in unanswered
    }
    return InstancesLook(found=views, unanswered=unanswered)


def in_background(work: Callable[[], T]) -> Future[T]:
    """Run `work` on a thread of its own (boto3 clients are thread-safe); its answer, or
    its error, from the future. A thread per call: a shared pool that many moves in one
    process filled would make a look wait for another's."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as error:  # handed to whoever waits for the answer
            future.set_exception(error)

    threading.Thread(target=run, name="ec2-beside", daemon=True).start()
    return future


def _instance_view(instance_id: str, raw: Any, statuses: Mapping[str, Any]) -> InstanceView:
    if raw is None:
        return InstanceView(instance_id=instance_id, exists=False)
    status = statuses.get(instance_id, {})
    return InstanceView(
        instance_id=instance_id,
        exists=True,
        state=raw.get("State", {}).get("Name"),
        availability_zone=raw.get("Placement", {}).get("AvailabilityZone"),
        system_status=status.get("SystemStatus", {}).get("Status"),
        instance_status=status.get("InstanceStatus", {}).get("Status"),
        attached_ebs_status=status.get("AttachedEbsStatus", {}).get("Status"),
        private_ip=raw.get("PrivateIpAddress"),
        subnet_id=raw.get("SubnetId"),
        vpc_id=raw.get("VpcId"),
        source_dest_check=_source_dest_check(raw),
        launch_time=_aware(raw["LaunchTime"]) if raw.get("LaunchTime") else None,
        failed_since=_failed_since(raw, status),
        device_indexes=_device_indexes(raw.get("NetworkInterfaces", [])),
    )


def _source_dest_check(raw: Any) -> bool | None:
    """The primary interface's SourceDestCheck (the one routes point at); the instance's
    own attribute mirrors it, and is the fallback."""
    primary = _primary_interface(raw.get("NetworkInterfaces", []))
    if primary is not None and "SourceDestCheck" in primary:
        return bool(primary["SourceDestCheck"])
    value = raw.get("SourceDestCheck")
    return None if value is None else bool(value)


def _zone_answers(
    ids: list[str], describe: Callable[[list[str]], list[T]], *, one_by_one: bool
) -> list[tuple[list[T], dict[str, AwsCallFailed]]]:
    """What `describe` finds for IDs of one zone (NotFound ones left out), or, when EC2
    answers a server error, the IDs it left unanswered; with `one_by_one`, each ID is then
    asked on its own, so only those of a disrupted zone stay unanswered."""
    try:
        return [(each_found(ids, describe, missing=INSTANCE_NOT_FOUND), {})]
    except AwsCallFailed as error:
        if error.code not in SERVER_ERRORS:
            raise
        if not one_by_one or len(ids) == 1:
            return [([], dict.fromkeys(ids, error))]
    return [_zone_answers([one], describe, one_by_one=False)[0] for one in ids]


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
    return dry_run(
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
    return dry_run(
        "AttachNetworkInterface",
        lambda: client.attach_network_interface(
            NetworkInterfaceId=interface_id,
            InstanceId=instance_id,
            DeviceIndex=device_index,
            NetworkCardIndex=network_card_index,
            DryRun=True,
        ),
    )


def dry_run(operation: str, call: Callable[[], object]) -> DryRunAnswer:
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
    except BotoCoreError as error:
        return DryRunAnswer(
            Permission.INCONCLUSIVE,
            f"{operation} permission unconfirmed: EC2 did not answer the DryRun "
            f"({type(error).__name__}: {error})",
        )
    # EC2 always answers DryRun with an error; success means the endpoint ignored the flag.
    return DryRunAnswer(
        Permission.INCONCLUSIVE,
        f"{operation} permission unconfirmed: the call succeeded, so the endpoint ignored DryRun",
    )


def subnet_zones(client: EC2Client, subnet_ids: Sequence[str]) -> dict[str, str]:
    """Each subnet's Availability Zone (the probe quorum's vantages must be in two)."""
    response = call("DescribeSubnets", partial(client.describe_subnets, SubnetIds=list(subnet_ids)))
    return {s["SubnetId"]: s["AvailabilityZone"] for s in response.get("Subnets", [])}
