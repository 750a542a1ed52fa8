"""Pairs declared by tags (`discovery=tags`): read the tagged resources, judge them, cache them.

Users tag the primary, the standby and each floating interface with `eni-failover:pair` =
the pair's name and `eni-failover:role` = primary | standby | floating; the function finds
the pairs at run time, so a new pair needs no deploy. A route table tagged with the pair's
name, `eni-failover:role=route-table` and `eni-failover:routes` = the destinations
(`0.0.0.0/0,10.9.0.10/32`) adds those routes to the pair; an Elastic IP tagged with the
pair's name and `eni-failover:role=elastic-ip` adds that Elastic IP. An optional
`eni-failover:probe` on the primary is the pair's probe (the prober's forms, on a port the
prober may reach). Three parts, kept apart so the decision is tested without AWS:

- `read_tagged`: the tagged instances, interfaces, route tables and Elastic IPs, from EC2
  (the only AWS calls: one paginated describe per kind);
- `discover`: pure; the well-formed pairs, and a one-line problem for everything else;
- `DiscoveryCache`: the warm sandbox's copy, refreshed on a TTL or at once for a stranger.

A malformed pair is never returned as a pair: anything the tags leave in doubt (which
instance is the primary, which interfaces move) is a problem to report, never a guess.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from eni_failover import ec2
from eni_failover.config import EXPECT_CIDR, EXPECT_PAIR_NAME, PAIR_NAME_PATTERN, Pair
from eni_failover.config import describe_validation_error as _validation_text
from eni_failover.errors import AwsCallFailed
from eni_failover.probe import EXPECT_PROBE, ProbeSpec
from eni_failover.timeline import Clock, SystemClock

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

T = TypeVar("T")

PAIR_TAG = "eni-failover:pair"
ROLE_TAG = "eni-failover:role"
# On a route table: the destinations whose routes follow the pair, comma-separated CIDRs.
ROUTES_TAG = "eni-failover:routes"
# The pair's probe, on the primary only: one pair, one probe, and the primary is the
# instance whose service the probe speaks for.
PROBE_TAG = "eni-failover:probe"
# The context key that opens the prober's security group to tagged probes (the stack's settings).
PROBE_PORTS_KEY = "probePorts"
# Every key this project reads or writes on EC2 resources starts with this (docs/tag-discovery.md
# protects them with one aws:TagKeys pattern).
TAG_PREFIX = "eni-failover:"


class Role(StrEnum):
    """The value of ROLE_TAG: what a tagged resource is in its pair."""

    PRIMARY = "primary"
    STANDBY = "standby"
    FLOATING = "floating"
    ROUTE_TABLE = "route-table"
    ELASTIC_IP = "elastic-ip"


INSTANCE_ROLES = (Role.PRIMARY, Role.STANDBY)
# The kinds of tagged resource, as problems name them, and the roles each may have.
INSTANCE, INTERFACE, ROUTE_TABLE, ELASTIC_IP = "instance", "interface", "route table", "elastic IP"
ROLES_OF = {
    INSTANCE: INSTANCE_ROLES,
    INTERFACE: (Role.FLOATING,),
    ROUTE_TABLE: (Role.ROUTE_TABLE,),
    ELASTIC_IP: (Role.ELASTIC_IP,),
}

# EC2's largest page (DescribeInstances and DescribeNetworkInterfaces take 5 to 1000): each
# page is one request from EC2's per-account describe budget, the one a wide event drains.
DESCRIBE_PAGE_SIZE = 1000
MIN_PAGE_SIZE = 5
# DescribeRouteTables serves at most 100 a page (DescribeAddresses is not paginated).
ROUTE_TABLE_PAGE_SIZE = 100

# How many interfaces one tagged pair may float. What an instance can take depends on its
# type (2 interfaces on the smallest; DescribeInstanceTypes' MaximumNetworkInterfaces), and
# whether the standby has the device indexes free is the readiness check's to find. This
# only catches what is more likely a tagging mistake (a whole subnet's interfaces tagged)
# than a design: every interface is one detach and one attach inside the swap's deadline.
MAX_FLOATING_INTERFACES = 8

# How long a warm sandbox reuses what it discovered. The shared state-change rule sends the
# function every instance's state changes in the Region, and the sweep runs every minute: a
# describe of all tagged resources per event would spend EC2's describe budget, the one most
# throttled in a wide event, for answers that change only when someone retags. A minute is
# the sweep's own period, so a retagged pair is seen no later than the sweep would see it;
# a pair nobody knew is looked up at once (MIN_REFRESH_INTERVAL_SECONDS).
DISCOVERY_TTL_SECONDS = 60.0
# The least time between two refreshes that a stranger (an instance, interface or pair not
# discovered) or a failed refresh may force. Most state-change events are about instances
# of no pair, and during a throttling storm every refresh fails: without this floor each of
# them would cost two more describes. Five seconds still finds a pair tagged a minute ago on
# its first trigger.
MIN_REFRESH_INTERVAL_SECONDS = 5.0


# --- What EC2 says about the tagged resources ---------------------------------------------


@dataclass(frozen=True)
class TaggedInstance:
    instance_id: str
    pair: str  # the PAIR_TAG value, as tagged (it may not be a valid pair name)
    role: str | None  # the ROLE_TAG value, as tagged; None when the tag is missing
    availability_zone: str | None = None
    state: str | None = None  # running, stopped, terminated...: every state is kept
    probe: str | None = None  # the PROBE_TAG value, as tagged
    vpc_id: str | None = None  # a tagged route table must be in the same VPC


@dataclass(frozen=True)
class TaggedInterface:
    interface_id: str
    pair: str
    role: str | None
    availability_zone: str | None = None
    probe: str | None = None  # only the primary may carry one: here it is a problem


@dataclass(frozen=True)
class TaggedRouteTable:
    route_table_id: str
    pair: str
    role: str | None
    vpc_id: str | None = None
    routes: str | None = None  # the ROUTES_TAG value, as tagged
    probe: str | None = None  # only the primary may carry one: here it is a problem


@dataclass(frozen=True)
class TaggedElasticIp:
    allocation_id: str
    pair: str
    role: str | None
    probe: str | None = None


@dataclass(frozen=True)
class TaggedResources:
    instances: tuple[TaggedInstance, ...] = ()
    interfaces: tuple[TaggedInterface, ...] = ()
    route_tables: tuple[TaggedRouteTable, ...] = ()
    elastic_ips: tuple[TaggedElasticIp, ...] = ()


def _pages(operation: str, describe: Callable[[dict[str, Any]], Any]) -> Iterator[Any]:
    """Each page of a describe, following NextToken until EC2 gives none."""
    token: str | None = None
    while True:
        arguments: dict[str, Any] = {"NextToken": token} if token else {}
        page = ec2.call(operation, partial(describe, arguments))
        yield page
        token = page.get("NextToken")
        if not token:
            return


def read_tagged(client: EC2Client, *, page_size: int = DESCRIBE_PAGE_SIZE) -> TaggedResources:
    """Every instance and interface carrying PAIR_TAG, in one paginated describe each.

    Filtered on the tag key and paginated: EC2 serves that from the cheaper path, and refuses
    an unfiltered, unpaginated DescribeNetworkInterfaces in an account with many interfaces.
    No instance-state filter: a stopped or terminated primary must still be known, or its
    failover could not happen (EC2 shows a terminated instance for about an hour).
    """
    if not MIN_PAGE_SIZE <= page_size <= DESCRIBE_PAGE_SIZE:
        raise ValueError(f"page_size must be {MIN_PAGE_SIZE} to {DESCRIBE_PAGE_SIZE}")
    tagged: list[Any] = [{"Name": "tag-key", "Values": [PAIR_TAG]}]
    instances = [
        TaggedInstance(
            instance_id=raw["InstanceId"],
            pair=_tags(raw).get(PAIR_TAG, ""),
            role=_tags(raw).get(ROLE_TAG),
            availability_zone=raw.get("Placement", {}).get("AvailabilityZone"),
            state=raw.get("State", {}).get("Name"),
            probe=_tags(raw).get(PROBE_TAG),
            vpc_id=raw.get("VpcId"),
        )
        for page in _pages(
            "DescribeInstances",
            lambda more: client.describe_instances(Filters=tagged, MaxResults=page_size, **more),
        )
        for reservation in page.get("Reservations", [])
        for raw in reservation.get("Instances", [])
    ]
    interfaces = [
        TaggedInterface(
            interface_id=raw["NetworkInterfaceId"],
            pair=_tags(raw, key="TagSet").get(PAIR_TAG, ""),
            role=_tags(raw, key="TagSet").get(ROLE_TAG),
            availability_zone=raw.get("AvailabilityZone"),
            probe=_tags(raw, key="TagSet").get(PROBE_TAG),
        )
        for page in _pages(
            "DescribeNetworkInterfaces",
            lambda more: client.describe_network_interfaces(
                Filters=tagged, MaxResults=page_size, **more
            ),
        )
        for raw in page.get("NetworkInterfaces", [])
    ]
    table_page = min(page_size, ROUTE_TABLE_PAGE_SIZE)
    route_tables = [
        TaggedRouteTable(
            route_table_id=raw["RouteTableId"],
            pair=_tags(raw).get(PAIR_TAG, ""),
            role=_tags(raw).get(ROLE_TAG),
            vpc_id=raw.get("VpcId"),
            routes=_tags(raw).get(ROUTES_TAG),
            probe=_tags(raw).get(PROBE_TAG),
        )
        for page in _pages(
            "DescribeRouteTables",
            lambda more: client.describe_route_tables(
                Filters=tagged, MaxResults=table_page, **more
            ),
        )
        for raw in page.get("RouteTables", [])
    ]
    # An account holds few Elastic IPs (5 a Region by default): one unpaginated call.
    addresses = ec2.call("DescribeAddresses", lambda: client.describe_addresses(Filters=tagged))
    elastic_ips = [
        TaggedElasticIp(
            allocation_id=raw["AllocationId"],
            pair=_tags(raw).get(PAIR_TAG, ""),
            role=_tags(raw).get(ROLE_TAG),
            probe=_tags(raw).get(PROBE_TAG),
        )
        for raw in addresses.get("Addresses", [])
        if raw.get("AllocationId")  # an EC2-Classic address has none, and cannot move
    ]
    return TaggedResources(
        instances=tuple(instances),
        interfaces=tuple(interfaces),
        route_tables=tuple(route_tables),
        elastic_ips=tuple(elastic_ips),
    )


def _tags(raw: Any, *, key: str = "Tags") -> dict[str, str]:
    # Instances carry "Tags", interfaces "TagSet".
    return {tag["Key"]: tag.get("Value", "") for tag in raw.get(key) or []}


# --- The decision: pairs and problems -----------------------------------------------------


@dataclass(frozen=True)
class TagProblem:
    """One thing the tags get wrong: about what, what is wrong, and how to fix it."""

    subject: str  # "pair web", "instance i-...", "interface eni-..."
    what: str
    fix: str
    # The tagged pair names it keeps from being acted on.
    pairs: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.subject}: {self.what}; {self.fix}"


@dataclass(frozen=True)
class Discovery:
    """The well-formed tagged pairs (sorted by name), and the problems of the rest."""

    pairs: tuple[Pair, ...] = ()
    problems: tuple[TagProblem, ...] = ()

    def pair_named(self, name: str) -> Pair | None:
        return next((p for p in self.pairs if p.name == name), None)

    def pair_of_instance(self, instance_id: str) -> Pair | None:
        """The pair whose primary or standby the instance is."""
        return next(
            (
                p
                for p in self.pairs
                if instance_id in (p.primary_instance_id, p.standby_instance_id)
            ),
            None,
        )

    def pair_of_interface(self, interface_id: str) -> Pair | None:
        return next((p for p in self.pairs if interface_id in p.interface_ids), None)

    def pair_of_address(self, address: str) -> Pair | None:
        """The pair that lists this address (Pair.addresses' form)."""
        return next((p for p in self.pairs if address in p.addresses), None)

    def problems_of(self, pair_name: str) -> tuple[TagProblem, ...]:
        return tuple(p for p in self.problems if pair_name in p.pairs)


@dataclass(frozen=True)
class _Tagged:
    """An instance, an interface, a route table or an Elastic IP, as discover() judges it."""

    kind: str  # INSTANCE, INTERFACE, ROUTE_TABLE or ELASTIC_IP
    resource_id: str
    pair: str
    role: str | None
    availability_zone: str | None = None
    probe: str | None = None
    vpc_id: str | None = None
    routes: str | None = None  # a route table's ROUTES_TAG

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.resource_id}"


@dataclass
class _Judgement:
    problems: list[TagProblem] = field(default_factory=list)

    def add(self, subject: str, what: str, fix: str, *pairs: str) -> None:
        self.problems.append(TagProblem(subject, what, fix, tuple(sorted(set(pairs)))))

    @property
    def spoiled(self) -> set[str]:
        return {name for problem in self.problems for name in problem.pairs}


def discover(
    tagged: TaggedResources,
    *,
    configured: Iterable[Pair] = (),
    probe_ports: Collection[int] | None = None,
) -> Discovery:
    """The tagged pairs that can be acted on, and what is wrong with every other one.

    `configured` are the stack's own pairs: a tagged pair may neither take one's name nor
    use one's instance or interface, as two pairs moving one interface would fight.
    `probe_ports` are the ports the prober's security group opens
    (FailoverConfig.ports_for_tagged_probes); a probe on another port would be dropped
    there, so it is a problem. None: the caller does not know the stack, ports are not judged.
    """
    configured = tuple(configured)
    judgement = _Judgement()
    resources = _one_entry_each(tagged, judgement)
    _judge_roles(resources, judgement)
    _judge_probe_places(resources, judgement)
    _judge_configured_use(resources, configured, judgement)
    by_pair: dict[str, list[_Tagged]] = defaultdict(list)
    for resource in resources:
        by_pair[resource.pair].append(resource)
    configured_names = {p.name for p in configured}
    candidates = {}
    for name, members in by_pair.items():
        pair = _judge_pair(name, members, configured_names, judgement, probe_ports)
        if pair is not None:
            candidates[name] = pair
    spoiled = judgement.spoiled
    pairs = tuple(candidates[name] for name in sorted(candidates) if name not in spoiled)
    # Sorted, and once each: a resource in two pairs can break the same rule in both.
    problems = sorted(dict.fromkeys(judgement.problems), key=lambda p: (p.subject, p.what))
    return Discovery(pairs=pairs, problems=tuple(problems))


def _one_entry_each(tagged: TaggedResources, judgement: _Judgement) -> list[_Tagged]:
    """One entry per resource; one that shows up in two pairs (or roles) is a problem.

    A resource has one value per tag key, so in EC2 this is only a repeated entry; kept
    out rather than guessed at, so the pure decision never depends on input order.
    """
    entries: dict[str, list[_Tagged]] = defaultdict(list)
    for instance in tagged.instances:
        entries[instance.instance_id].append(
            _Tagged(
                INSTANCE,
                instance.instance_id,
                instance.pair,
                instance.role,
                instance.availability_zone,
                instance.probe,
                vpc_id=instance.vpc_id,
            )
        )
    for interface in tagged.interfaces:
        entries[interface.interface_id].append(
            _Tagged(
                INTERFACE,
                interface.interface_id,
                interface.pair,
                interface.role,
                interface.availability_zone,
                interface.probe,
            )
        )
    for table in tagged.route_tables:
        entries[table.route_table_id].append(
            _Tagged(
                ROUTE_TABLE,
                table.route_table_id,
                table.pair,
                table.role,
                probe=table.probe,
                vpc_id=table.vpc_id,
                routes=table.routes,
            )
        )
    for address in tagged.elastic_ips:
        entries[address.allocation_id].append(
            _Tagged(
                ELASTIC_IP, address.allocation_id, address.pair, address.role, probe=address.probe
            )
        )
    resources = []
    for same in entries.values():
        pairs = sorted({e.pair for e in same})
        roles = sorted({e.role or "(none)" for e in same})
        if len(pairs) > 1:
            judgement.add(
                same[0].subject,
                f"is tagged into pairs {_listed(pairs)}: one resource, two pairs",
                f"keep one {PAIR_TAG} value, or give the other pair its own resource",
                *pairs,
            )
            # Still a member of each, so neither pair also reports it as missing.
            resources += [
                min((e for e in same if e.pair == pair), key=lambda e: e.role or "")
                for pair in pairs
            ]
        elif len(roles) > 1:
            judgement.add(
                same[0].subject,
                f"has roles {_listed(roles)} in pair {pairs[0]}",
                f"keep one {ROLE_TAG} value",
                *pairs,
            )
        else:
            resources.append(same[0])
    return resources


def _judge_roles(resources: list[_Tagged], judgement: _Judgement) -> None:
    for resource in resources:
        subject, pair, role = resource.subject, resource.pair, resource.role
        allowed = ROLES_OF[resource.kind]
        tag_it = f"tag it {ROLE_TAG}={' or '.join(allowed)}"
        if role is None:
            judgement.add(
                subject, f"is tagged {PAIR_TAG}={pair} but has no {ROLE_TAG} tag", tag_it, pair
            )
        elif role not in set(Role):
            judgement.add(
                subject,
                f"has {ROLE_TAG}={role!r}, which is none of {', '.join(Role)} (lower case)",
                tag_it,
                pair,
            )
        elif resource.kind == "instance" and role == Role.FLOATING:
            judgement.add(
                subject,
                f"is tagged {ROLE_TAG}=floating, but instances do not float: interfaces do",
                f"{tag_it}, and tag the network interface that moves {ROLE_TAG}=floating",
                pair,
            )
        elif resource.kind == "interface" and role != Role.FLOATING:
            judgement.add(
                subject,
                f"is tagged {ROLE_TAG}={role}, but a network interface is never the "
                "primary or the standby: it floats between them",
                f"{tag_it}, and tag the instance {ROLE_TAG}={role}",
                pair,
            )
        elif role not in allowed:
            judgement.add(
                subject,
                f"is tagged {ROLE_TAG}={role}, but a {resource.kind} of a pair is always "
                f"{ROLE_TAG}={allowed[0]}",
                tag_it,
                pair,
            )


def _judge_configured_use(
    resources: list[_Tagged], configured: tuple[Pair, ...], judgement: _Judgement
) -> None:
    used: dict[str, tuple[str, str]] = {}
    for pair in configured:
        used[pair.primary_instance_id] = (pair.name, "primary")
        used[pair.standby_instance_id] = (pair.name, "standby")
        for interface_id in pair.interface_ids:
            used[interface_id] = (pair.name, "floating interface")
        for allocation_id in pair.eip_allocation_ids:
            used[allocation_id] = (pair.name, "Elastic IP")
        # A route table may serve two pairs, each its own destinations: only a route both
        # would move is one resource in two pairs.
        for table_id, cidr in pair.routes:
            used[f"{table_id} {cidr}"] = (pair.name, f"route to {cidr}")
    for resource in resources:
        claimed = [resource.resource_id]
        if resource.kind == ROUTE_TABLE:
            claimed = [f"{resource.resource_id} {c}" for c in _cidrs(resource.routes)[0]]
        owner_of = next((used[c] for c in claimed if c in used), None)
        if owner_of is None:
            continue
        owner, as_what = owner_of
        judgement.add(
            resource.subject,
            f"is tagged into pair {resource.pair}, but configured pair {owner} already uses "
            f"it as its {as_what}: one resource, two pairs",
            f"remove its {TAG_PREFIX}* tags, or take pair {owner} out of the stack's pairs",
            resource.pair,
        )


def _judge_pair(
    name: str,
    members: list[_Tagged],
    configured_names: set[str],
    judgement: _Judgement,
    probe_ports: Collection[int] | None = None,
) -> Pair | None:
    """The pair its members make, or None when the tags leave it in doubt (said why)."""
    ids = [m.resource_id for m in sorted(members, key=lambda m: (m.kind, m.resource_id))]
    if not PAIR_NAME_PATTERN.fullmatch(name):
        judgement.add(
            f"pair {name!r}",
            f"{PAIR_TAG}={name!r} on {_listed(ids)} is not {EXPECT_PAIR_NAME}",
            f"retag those resources {PAIR_TAG}=<a valid pair name>",
            name,
        )
        return None
    subject = f"pair {name}"
    if name in configured_names:
        judgement.add(
            subject,
            "is both a configured pair (the stack's pairs) and a tagged pair",
            f"rename the tagged pair ({PAIR_TAG} on {_listed(ids)})",
            name,
        )
    by_role: dict[str, list[_Tagged]] = defaultdict(list)
    for member in members:
        by_role[str(member.role)].append(member)
    for role in (Role.PRIMARY, Role.STANDBY):
        instances = sorted(m.resource_id for m in by_role[role] if m.kind == "instance")
        if not instances:
            judgement.add(
                subject,
                f"no instance is tagged {role}",
                f"tag the {role} instance {PAIR_TAG}={name} and {ROLE_TAG}={role}",
                name,
            )
        elif len(instances) > 1:
            judgement.add(
                subject,
                f"{len(instances)} instances are tagged {role} ({_listed(instances)}); "
                "a pair has exactly one",
                f"keep {ROLE_TAG}={role} on one and remove the {TAG_PREFIX}* tags from the others",
                name,
            )
    floating = _members(by_role, Role.FLOATING, INTERFACE)
    tables = _members(by_role, Role.ROUTE_TABLE, ROUTE_TABLE)
    elastic_ips = _members(by_role, Role.ELASTIC_IP, ELASTIC_IP)
    primary = _only_instance(by_role[Role.PRIMARY])
    standby = _only_instance(by_role[Role.STANDBY])
    cidrs = _judge_route_tables(name, tables, (primary, standby), judgement)
    if not (floating or tables or elastic_ips):
        judgement.add(
            subject,
            "no network interface is tagged floating, and no route table or Elastic IP is "
            "tagged into it, so a failover would move nothing",
            f"tag each interface that moves {PAIR_TAG}={name} and {ROLE_TAG}=floating; or "
            f"each route table {ROLE_TAG}={Role.ROUTE_TABLE} with {ROUTES_TAG}=<destinations>, "
            f"or each Elastic IP {ROLE_TAG}={Role.ELASTIC_IP}",
            name,
        )
    elif len(floating) > MAX_FLOATING_INTERFACES:
        judgement.add(
            subject,
            f"{len(floating)} interfaces are tagged floating, more than the "
            f"{MAX_FLOATING_INTERFACES} one pair may float",
            "tag only the interfaces that must move; check the tags were not applied to a "
            "whole subnet",
            name,
        )
    for interface in floating:
        _judge_zone(name, interface, primary, standby, judgement)
    probe = _judge_probe(name, primary, probe_ports, judgement) if primary else None
    if primary is None or standby is None or not (floating or tables or elastic_ips):
        return None
    if tables and cidrs is None:
        return None  # said why in _judge_route_tables
    try:
        return Pair(
            name=name,
            primary_instance_id=primary.resource_id,
            standby_instance_id=standby.resource_id,
            interface_ids=tuple(m.resource_id for m in floating),
            route_table_ids=tuple(m.resource_id for m in tables),
            route_cidrs=cidrs or (),
            eip_allocation_ids=tuple(m.resource_id for m in elastic_ips),
            probe=probe,
        )
    except ValidationError as error:
        # Only input that did not come from EC2 gets here (IDs of a foreign form).
        judgement.add(subject, _validation_text(error), "fix the tagged resources", name)
        return None


def _members(by_role: dict[str, list[_Tagged]], role: Role, kind: str) -> list[_Tagged]:
    return sorted((m for m in by_role[role] if m.kind == kind), key=lambda m: m.resource_id)


def _cidrs(text: str | None) -> tuple[tuple[str, ...], list[str]]:
    """The destinations a ROUTES_TAG names, as EC2 writes them (the route is found by that
    text), and the parts that are no destination."""
    good: list[str] = []
    bad: list[str] = []
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        try:
            good.append(str(ipaddress.ip_network(part, strict=True)))
        except ValueError:
            bad.append(part)
    return tuple(dict.fromkeys(good)), bad


def _judge_route_tables(
    name: str,
    tables: list[_Tagged],
    instances: tuple[_Tagged | None, _Tagged | None],
    judgement: _Judgement,
) -> tuple[str, ...] | None:
    """The destinations every tagged route table of the pair names, or None when a table's
    tags leave them in doubt (said why). A pair moves the same destinations in each of its
    tables (Pair.routes), and a route points only at an interface in its table's VPC."""
    named: dict[str, tuple[str, ...]] = {}
    for table in tables:
        cidrs, bad = _cidrs(table.routes)
        if bad:
            judgement.add(
                table.subject,
                f"{ROUTES_TAG}={table.routes!r} names {_listed(bad)}, which is not {EXPECT_CIDR}",
                f"retag it {ROUTES_TAG}=<destinations, comma-separated>",
                name,
            )
        elif not cidrs:
            judgement.add(
                table.subject,
                f"is tagged into pair {name} as its route table but has no {ROUTES_TAG} tag "
                "naming the destinations whose routes move",
                f"tag it {ROUTES_TAG}=<destinations, comma-separated>, e.g. "
                f"{ROUTES_TAG}=0.0.0.0/0,10.9.0.10/32",
                name,
            )
        else:
            named[table.resource_id] = cidrs
        elsewhere = [
            i
            for i in instances
            if i is not None and i.vpc_id and table.vpc_id not in (None, i.vpc_id)
        ]
        if elsewhere:
            where = [f"the {i.role} {i.resource_id} is in {i.vpc_id}" for i in elsewhere]
            judgement.add(
                table.subject,
                f"is in {table.vpc_id}, but {_listed(where)}: a route can point only at an "
                "interface in its own table's VPC",
                f"tag a route table of {elsewhere[0].vpc_id} instead, and remove this one's "
                f"{TAG_PREFIX}* tags",
                name,
            )
    if len(named) != len(tables):
        return None
    distinct = {frozenset(c) for c in named.values()}
    if len(distinct) > 1:
        judgement.add(
            f"pair {name}",
            "its route tables name different destinations ("
            + "; ".join(f"{t}: {','.join(c)}" for t, c in named.items())
            + "), but a pair moves the same destinations in each of its route tables",
            f"tag them with the same {ROUTES_TAG}, or make a pair of each",
            name,
        )
        return None
    return next(iter(named.values()), ())


def _judge_probe_places(resources: list[_Tagged], judgement: _Judgement) -> None:
    """PROBE_TAG belongs on the primary instance; anywhere else it is a mistake, not a probe
    of the pair (which instance's service would it speak for?)."""
    for resource in resources:
        if resource.probe is None:
            continue
        if resource.kind == "instance" and resource.role == Role.PRIMARY:
            continue
        judgement.add(
            resource.subject,
            f"has {PROBE_TAG}={resource.probe!r}, but only the primary instance of a pair "
            "carries its probe",
            f"move {PROBE_TAG} to the instance tagged {ROLE_TAG}=primary in pair "
            f"{resource.pair}, and remove it here",
            resource.pair,
        )


def _judge_probe(
    name: str,
    primary: _Tagged,
    probe_ports: Collection[int] | None,
    judgement: _Judgement,
) -> str | None:
    """The primary's probe, when it is one the prober can run and reach."""
    if primary.probe is None:
        return None
    text = primary.probe.strip()
    subject, on = f"pair {name}", f"{PROBE_TAG} on its primary {primary.resource_id}"
    try:
        spec = ProbeSpec.parse(text)
    except ValueError as error:  # names the forms, or the port's range
        judgement.add(
            subject,
            f"{on}: {error}",
            f"retag it as {EXPECT_PROBE}, or remove it to leave the pair unprobed",
            name,
        )
        return None
    if probe_ports is None or spec.port in probe_ports:
        return text
    if not probe_ports:
        judgement.add(
            subject,
            f"{on} is {text!r}, but this stack runs no prober, so nothing would probe it",
            f"deploy with {PROBE_PORTS_KEY}={spec.port} and the prober's vpcId and "
            "probeSubnetIds, or remove the tag",
            name,
        )
        return None
    allowed = ", ".join(str(port) for port in sorted(probe_ports))
    judgement.add(
        subject,
        f"{on} is {text!r}: port {spec.port} is not in {PROBE_PORTS_KEY} ({allowed}): the "
        "prober's security group would drop it",
        f"add it to {PROBE_PORTS_KEY} and deploy",
        name,
    )
    return None


def _only_instance(members: list[_Tagged]) -> _Tagged | None:
    instances = [m for m in members if m.kind == "instance"]
    return instances[0] if len(instances) == 1 else None


def _judge_zone(
    name: str,
    interface: _Tagged,
    primary: _Tagged | None,
    standby: _Tagged | None,
    judgement: _Judgement,
) -> None:
    """An interface attaches only to an instance in its own Availability Zone."""
    zone = interface.availability_zone
    elsewhere = [
        (role, instance)
        for role, instance in (("primary", primary), ("standby", standby))
        if instance is not None and zone and instance.availability_zone not in (None, zone)
    ]
    if not elsewhere:
        return
    where = " and ".join(
        f"the {role} {instance.resource_id} is in {instance.availability_zone}"
        for role, instance in elsewhere
    )
    their_zones = {instance.availability_zone for _, instance in elsewhere}
    if len(elsewhere) == 1:
        fix = f"use a {elsewhere[0][0]} in {zone}, the interface's zone"
    elif len(their_zones) == 1:
        fix = f"float an interface created in a subnet of {their_zones.pop()} instead"
    else:
        fix = "use a primary and a standby in one zone, and float an interface from there"
    judgement.add(
        interface.subject,
        f"floats in pair {name} and is in {zone}, but {where}: an interface attaches only "
        "to an instance in its own Availability Zone",
        fix,
        name,
    )


def _listed(items: Sequence[str]) -> str:
    return ", ".join(items)


def discover_from_ec2(
    client: EC2Client,
    *,
    configured: Iterable[Pair] = (),
    probe_ports: Collection[int] | None = None,
    page_size: int = DESCRIBE_PAGE_SIZE,
) -> Discovery:
    """read_tagged, then discover: the pairs EC2's tags declare right now."""
    return discover(
        read_tagged(client, page_size=page_size), configured=configured, probe_ports=probe_ports
    )


# --- The warm sandbox's copy --------------------------------------------------------------


@dataclass(frozen=True)
class CachedDiscovery:
    """A discovery, when it was read, and whether the latest refresh failed.

    After a failed refresh this is the last good discovery; the caller decides whether
    pairs that old are good enough (a trigger for a known pair usually is).
    """

    discovery: Discovery
    read_at: datetime
    refresh_failed: AwsCallFailed | None = None

    @property
    def stale(self) -> bool:
        return self.refresh_failed is not None

    def note(self) -> str | None:
        """One line for a log or a status, when the pairs are older than they should be."""
        if self.refresh_failed is None:
            return None
        return (
            f"tagged pairs as read at {self.read_at.isoformat()}; refreshing them failed: "
            f"{self.refresh_failed}"
        )


class DiscoveryCache:
    """Discovered pairs reused for a TTL, and looked up again at once for a stranger.

    `load` reads the discovery (discover_from_ec2 with the client and the configured
    pairs: see `from_ec2`). The first load failing raises, as nothing can be served yet;
    a later one failing keeps serving the last good discovery with `refresh_failed` set.
    """

    def __init__(
        self,
        load: Callable[[], Discovery],
        *,
        clock: Clock,
        ttl_seconds: float = DISCOVERY_TTL_SECONDS,
        min_refresh_interval_seconds: float = MIN_REFRESH_INTERVAL_SECONDS,
    ) -> None:
        self._load = load
        self._clock = clock
        self._ttl = ttl_seconds
        self._min_interval = min_refresh_interval_seconds
        self._cached: CachedDiscovery | None = None
        self._loaded_at = 0.0  # monotonic, of the last good load
        self._attempted_at = 0.0  # monotonic, of the last load, good or not
        # The prober works in threads; one refresh at a time, and no torn reads.
        self._lock = threading.Lock()

    @classmethod
    def from_ec2(
        cls,
        client: EC2Client,
        *,
        configured: Iterable[Pair] = (),
        probe_ports: Collection[int] | None = None,
        clock: Clock | None = None,
    ) -> DiscoveryCache:
        pairs = tuple(configured)
        ports = None if probe_ports is None else frozenset(probe_ports)
        return cls(
            lambda: discover_from_ec2(client, configured=pairs, probe_ports=ports),
            clock=clock or SystemClock(),
        )

    def current(self) -> CachedDiscovery:
        """The discovery, read again when older than the TTL."""
        with self._lock:
            return self._current()

    def about(
        self,
        *,
        pair_name: str | None = None,
        instance_id: str | None = None,
        interface_id: str | None = None,
    ) -> CachedDiscovery:
        """The discovery, read again at once if no discovered pair has what is asked about.

        So a pair tagged seconds ago is found on its first trigger. At most one such
        refresh per MIN_REFRESH_INTERVAL_SECONDS: most instances are in no pair at all.
        """
        with self._lock:
            cached = self._current()
            if _knows(cached.discovery, pair_name, instance_id, interface_id):
                return cached
            if self._since(self._attempted_at) < self._min_interval:
                return cached
            return self._refresh()

    def refresh(self) -> CachedDiscovery:
        """Read the discovery now, whatever its age (an operator's `check`, say)."""
        with self._lock:
            return self._refresh()

    def _current(self) -> CachedDiscovery:
        if self._cached is None:
            return self._refresh()
        stale = self._since(self._loaded_at) >= self._ttl
        if stale and self._since(self._attempted_at) >= self._min_interval:
            return self._refresh()
        return self._cached

    def _refresh(self) -> CachedDiscovery:
        self._attempted_at = self._clock.monotonic()
        try:
            discovery = self._load()
        except AwsCallFailed as error:
            if self._cached is None:
                raise
            self._cached = CachedDiscovery(
                self._cached.discovery, self._cached.read_at, refresh_failed=error
            )
            return self._cached
        self._loaded_at = self._attempted_at
        self._cached = CachedDiscovery(discovery, self._clock.now())
        return self._cached

    def _since(self, moment: float) -> float:
        return self._clock.monotonic() - moment


def _knows(
    discovery: Discovery,
    pair_name: str | None,
    instance_id: str | None,
    interface_id: str | None,
) -> bool:
    """Whether every thing asked about is in a discovered pair."""
    found = True
    if pair_name is not None:
        found &= discovery.pair_named(pair_name) is not None
    if instance_id is not None:
        found &= discovery.pair_of_instance(instance_id) is not None
    if interface_id is not None:
        found &= discovery.pair_of_interface(interface_id) is not None
    return found
