"""Route tables and Elastic IPs join a tagged pair (issue 19).

A route table tagged with the pair's name, eni-failover:role=route-table and
eni-failover:routes=<destinations> adds those routes; an Elastic IP tagged with the pair's
name and eni-failover:role=elastic-ip adds it. Whatever the tags leave in doubt (a bad
destination, a table in another VPC, tables naming different destinations, a route a
configured pair already moves) is a problem, and the pair is not acted on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3

from eni_failover.config import Pair
from eni_failover.discovery import (
    PAIR_TAG,
    ROLE_TAG,
    ROUTES_TAG,
    Discovery,
    TaggedElasticIp,
    TaggedInstance,
    TaggedResources,
    TaggedRouteTable,
    discover,
    discover_from_ec2,
    read_tagged,
)
from eni_failover_ec2sim import FaithfulEC2
from eni_failover_ec2sim.topology import build_address_pair

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

PRIMARY = "i-0123456789abcdef0"
STANDBY = "i-0fedcba9876543210"
TABLE = "rtb-0123456789abcdef0"
TABLE_2 = "rtb-0123456789abcdef1"
ALLOCATION = "eipalloc-0123456789abcdef0"
VPC = "vpc-0123456789abcdef0"


def instance(instance_id: str, role: str, *, az: str = "us-east-1a") -> TaggedInstance:
    return TaggedInstance(
        instance_id=instance_id,
        pair="edge",
        role=role,
        availability_zone=az,
        state="running",
        vpc_id=VPC,
    )


def table(
    table_id: str = TABLE,
    routes: str | None = "0.0.0.0/0,10.9.0.10/32",
    *,
    role: str | None = "route-table",
    vpc: str = VPC,
    pair: str = "edge",
) -> TaggedRouteTable:
    return TaggedRouteTable(
        route_table_id=table_id, pair=pair, role=role, vpc_id=vpc, routes=routes
    )


def eip(allocation_id: str = ALLOCATION, role: str | None = "elastic-ip") -> TaggedElasticIp:
    return TaggedElasticIp(allocation_id=allocation_id, pair="edge", role=role)


def edge(
    *extra: TaggedRouteTable | TaggedElasticIp, standby_az: str = "us-east-1b"
) -> TaggedResources:
    """The instances of pair "edge", across two zones, plus route tables and Elastic IPs."""
    return TaggedResources(
        instances=(instance(PRIMARY, "primary"), instance(STANDBY, "standby", az=standby_az)),
        route_tables=tuple(r for r in extra if isinstance(r, TaggedRouteTable)),
        elastic_ips=tuple(r for r in extra if isinstance(r, TaggedElasticIp)),
    )


def lines(discovery: Discovery) -> list[str]:
    return [str(problem) for problem in discovery.problems]


def test_route_tables_and_an_elastic_ip_make_a_pair_across_zones() -> None:
    # Given two route tables naming the same destinations (one with spaces, one in another
    # order, and a host written without its /32) and an Elastic IP, no interface
    discovery = discover(
        edge(
            table(TABLE, "0.0.0.0/0, 10.9.0.10"),
            table(TABLE_2, "10.9.0.10/32,0.0.0.0/0"),
            eip(),
        )
    )

    # Then the pair moves every route of both tables and the Elastic IP, across zones
    assert discovery.problems == ()
    [pair] = discovery.pairs
    assert pair == Pair(
        name="edge",
        primary_instance_id=PRIMARY,
        standby_instance_id=STANDBY,
        route_table_ids=(TABLE, TABLE_2),
        route_cidrs=("0.0.0.0/0", "10.9.0.10/32"),
        eip_allocation_ids=(ALLOCATION,),
    )
    assert discovery.pair_of_address(f"route {TABLE_2} 10.9.0.10/32") == pair
    assert discovery.pair_of_address(f"elastic-ip {ALLOCATION}") == pair


def test_a_route_destination_that_is_not_one_is_a_problem() -> None:
    discovery = discover(edge(table(routes="0.0.0.0/0,10.9.0.300/32")))

    assert discovery.pairs == ()
    [line] = lines(discovery)
    assert line.startswith(f"route table {TABLE}: {ROUTES_TAG}='0.0.0.0/0,10.9.0.300/32'")
    assert "names 10.9.0.300/32, which is not a route destination" in line
    assert f"retag it {ROUTES_TAG}=" in line


def test_a_route_table_without_destinations_says_how_to_tag_them() -> None:
    discovery = discover(edge(table(routes=None)))

    assert discovery.pairs == ()
    [line] = lines(discovery)
    assert f"has no {ROUTES_TAG} tag" in line
    assert f"{ROUTES_TAG}=0.0.0.0/0,10.9.0.10/32" in line


def test_a_route_table_in_another_vpc_is_a_problem() -> None:
    discovery = discover(edge(table(vpc="vpc-0aaaaaaaaaaaaaaa0"), eip()))

    assert discovery.pairs == ()
    [line] = lines(discovery)
    assert line.startswith(f"route table {TABLE}: is in vpc-0aaaaaaaaaaaaaaa0")
    assert f"the primary {PRIMARY} is in {VPC}" in line
    assert "a route can point only at an interface in its own table's VPC" in line


def test_route_tables_naming_different_destinations_make_no_pair() -> None:
    discovery = discover(edge(table(TABLE, "0.0.0.0/0"), table(TABLE_2, "10.9.0.10/32")))

    assert discovery.pairs == ()
    [line] = lines(discovery)
    assert "its route tables name different destinations" in line
    assert f"{TABLE}: 0.0.0.0/0; {TABLE_2}: 10.9.0.10/32" in line


def test_a_wrong_role_on_a_route_table_or_an_elastic_ip_is_a_problem() -> None:
    discovery = discover(edge(table(role="floating"), eip(role=None)))

    # Then each is said, and (being in no role of the pair) the pair has nothing to move
    assert discovery.pairs == ()
    assert {
        f"elastic IP {ALLOCATION}: is tagged {PAIR_TAG}=edge but has no {ROLE_TAG} tag; "
        f"tag it {ROLE_TAG}=elastic-ip",
        f"route table {TABLE}: is tagged {ROLE_TAG}=floating, but a route table of a pair is "
        f"always {ROLE_TAG}=route-table; tag it {ROLE_TAG}=route-table",
    } <= set(lines(discovery))


def test_a_route_or_an_elastic_ip_a_configured_pair_moves_is_one_resource_two_pairs() -> None:
    configured = Pair(
        name="nat",
        primary_instance_id="i-0aaaaaaaaaaaaaaa0",
        standby_instance_id="i-0bbbbbbbbbbbbbbb0",
        route_table_ids=(TABLE,),
        route_cidrs=("0.0.0.0/0",),
        eip_allocation_ids=(ALLOCATION,),
    )
    # The same table for another destination is fine: each pair its own routes
    fine = discover(edge(table(routes="10.9.0.10/32")), configured=(configured,))
    assert [p.name for p in fine.pairs] == ["edge"]

    clash = discover(edge(table(routes="0.0.0.0/0"), eip()), configured=(configured,))

    assert clash.pairs == ()
    assert sorted(lines(clash)) == [
        f"elastic IP {ALLOCATION}: is tagged into pair edge, but configured pair nat already "
        "uses it as its Elastic IP: one resource, two pairs; remove its eni-failover:* tags, "
        "or take pair nat out of the stack's pairs",
        f"route table {TABLE}: is tagged into pair edge, but configured pair nat already uses "
        "it as its route to 0.0.0.0/0: one resource, two pairs; remove its eni-failover:* "
        "tags, or take pair nat out of the stack's pairs",
    ]


def test_nothing_to_move_names_every_kind_that_could() -> None:
    discovery = discover(edge())

    [problem] = discovery.problems
    assert "no network interface is tagged floating" in problem.what
    assert f"{ROLE_TAG}=route-table" in problem.fix
    assert f"{ROLE_TAG}=elastic-ip" in problem.fix


# --- Reading EC2 ----------------------------------------------------------------------------


def tag(ec2: EC2Client, resource: str, role: str) -> None:
    ec2.create_tags(
        Resources=[resource],
        Tags=[{"Key": PAIR_TAG, "Value": "edge"}, {"Key": ROLE_TAG, "Value": role}],
    )


def test_tagged_route_tables_and_elastic_ips_are_read_with_one_call_each(
    sim: FaithfulEC2,
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    topology = build_address_pair(ec2, name="edge", route_tables=3, elastic_ips=2)
    # Given the pair tagged: its instances, two of three route tables, one of two Elastic IPs
    tag(ec2, topology.primary_instance_id, "primary")
    tag(ec2, topology.standby_instance_id, "standby")
    tagged_tables = topology.route_table_ids[:2]
    for table_id in tagged_tables:
        ec2.create_tags(
            Resources=[table_id],
            Tags=[
                {"Key": PAIR_TAG, "Value": "edge"},
                {"Key": ROLE_TAG, "Value": "route-table"},
                {"Key": ROUTES_TAG, "Value": "10.9.0.10/32"},
            ],
        )
    tag(ec2, topology.allocation_ids[0], "elastic-ip")
    sim.reset_counts()
    requests: list[dict[str, Any]] = []
    for operation in ("DescribeRouteTables", "DescribeAddresses"):
        ec2.meta.events.register(
            f"provide-client-params.ec2.{operation}",
            lambda params, **_: requests.append(dict(params)),
        )

    # When the tags are read and judged
    resources = read_tagged(ec2)
    discovery = discover_from_ec2(ec2)

    # Then one call per kind, filtered on the pair tag, found exactly the tagged ones
    assert sim.calls["DescribeRouteTables"] == 2  # one read_tagged, one discover_from_ec2
    assert sim.calls["DescribeAddresses"] == 2
    assert all(r["Filters"] == [{"Name": "tag-key", "Values": [PAIR_TAG]}] for r in requests)
    assert {t.route_table_id for t in resources.route_tables} == set(tagged_tables)
    assert [a.allocation_id for a in resources.elastic_ips] == [topology.allocation_ids[0]]
    assert {t.vpc_id for t in resources.route_tables} == {topology.vpc_id}
    assert discovery.problems == ()
    [pair] = discovery.pairs
    assert set(pair.route_table_ids) == set(tagged_tables)
    assert pair.route_cidrs == ("10.9.0.10/32",)
    assert pair.eip_allocation_ids == (topology.allocation_ids[0],)
    assert pair.interface_ids == ()
