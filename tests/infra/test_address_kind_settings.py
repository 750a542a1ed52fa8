"""The address kinds' context keys (issue 19): routes, Elastic IPs and secondary private IPs
beside or instead of interfaces, every mistake named against the key the operator typed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from eni_failover.config import (
    EXPECT_ALLOCATION,
    EXPECT_CIDR,
    EXPECT_INTERFACE,
    EXPECT_PRIVATE_IP,
    EXPECT_ROUTE_TABLE,
)
from eni_failover_cdk.settings import SettingsError, read_settings
from tests.infra.conftest import PRIMARY, STANDBY
from tests.infra.test_settings import WEB, problems_of, settings_from

TABLE = "rtb-0123456789abcdef0"
OTHER_TABLE = "rtb-0fedcba9876543210"
ALLOCATION = "eipalloc-0123456789abcdef0"
VPC = "vpc-0123456789abcdef0"

# The done-when command of issue 19: one pair of two routes and an Elastic IP, no eniId.
ROUTED_CONTEXT: dict[str, Any] = {
    "primaryInstanceId": PRIMARY,
    "standbyInstanceId": STANDBY,
    "routeTableIds": f"{TABLE},{OTHER_TABLE}",
    "routeCidrs": "0.0.0.0/0",
    "eipAllocationIds": ALLOCATION,
    "notifyEmail": "ops@example.com",
}
# A pairs entry of every lighter kind, and one of secondary IPs (which needs vpcId).
NAT = {
    "name": "nat",
    "primaryInstanceId": "i-0ccccccccccccccc1",
    "standbyInstanceId": "i-0ccccccccccccccc2",
    "routeTableIds": [TABLE, OTHER_TABLE],
    "routeCidrs": ["0.0.0.0/0", "::/0"],
    "eipAllocationIds": [ALLOCATION],
}
VIP = {
    "name": "vip",
    "primaryInstanceId": "i-0ddddddddddddddd1",
    "standbyInstanceId": "i-0ddddddddddddddd2",
    "privateIps": ["10.0.1.50", "10.0.1.51"],
}


def listed(**pairs: Any) -> dict[str, Any]:
    """The pairs as a `pairs` list; with vpcId where one moves secondary IPs (it must)."""
    context = {"pairs": list(pairs.values()), "notifyEmail": "ops@example.com"}
    return context | ({"vpcId": VPC} if any("privateIps" in p for p in pairs.values()) else {})


def test_a_pair_of_routes_and_an_elastic_ip_needs_no_interface() -> None:
    # Given the done-when command's keys, comma-separated as on the command line
    # When the settings are read
    (pair,) = settings_from(ROUTED_CONTEXT).failover.pairs
    # Then the pair moves both routes and the Elastic IP, and no interface
    assert pair.interface_ids == ()
    assert pair.routes == ((TABLE, "0.0.0.0/0"), (OTHER_TABLE, "0.0.0.0/0"))
    assert pair.eip_allocation_ids == (ALLOCATION,)
    assert pair.private_ips == ()


def test_the_same_keys_in_a_pairs_entry_and_beside_interfaces() -> None:
    # Given a pairs list: interfaces, every lighter kind as lists, and secondary IPs
    settings = settings_from(listed(web=WEB, nat=NAT, vip=VIP))
    # Then each pair carries what its entry lists
    web, nat, vip = settings.failover.pairs
    assert web.interface_ids == tuple(WEB["eniIds"])
    assert (web.routes, web.eip_allocation_ids, web.private_ips) == ((), (), ())
    assert nat.routes == (
        (TABLE, "0.0.0.0/0"),
        (TABLE, "::/0"),
        (OTHER_TABLE, "0.0.0.0/0"),
        (OTHER_TABLE, "::/0"),
    )
    assert vip.private_ips == ("10.0.1.50", "10.0.1.51")
    # And the function may assign the secondary IPs in the VPC vpcId names
    assert settings.private_ip_vpc_id == VPC


def test_a_destination_is_kept_as_ec2_writes_it() -> None:
    # Given an IPv6 destination written in capitals, and an overlay /32
    context = {**ROUTED_CONTEXT, "routeCidrs": "2001:DB8::/32, 10.9.0.10/32"}
    # Then the route is found in DescribeRouteTables by EC2's own spelling
    (pair,) = settings_from(context).failover.pairs
    assert pair.route_cidrs == ("2001:db8::/32", "10.9.0.10/32")


BAD_VALUES = [
    ("routeTableIds", "rtb-12", EXPECT_ROUTE_TABLE),
    ("routeTableIds", f"{TABLE},subnet-0123456789abcdef0", EXPECT_ROUTE_TABLE),
    ("routeTableIds", f"{TABLE},{TABLE}", f"{TABLE} listed more than once"),
    ("routeTableIds", "", "empty; expected " + EXPECT_ROUTE_TABLE),
    ("routeCidrs", "10.0.0.300/32", EXPECT_CIDR),
    ("routeCidrs", "default", EXPECT_CIDR),
    ("routeCidrs", "10.9.0.10/24", "host bits set"),
    ("routeCidrs", "0.0.0.0/0,0.0.0.0/0", "0.0.0.0/0 listed more than once"),
    ("eipAllocationIds", "eipalloc-xyz", EXPECT_ALLOCATION),
    ("eipAllocationIds", "54.1.2.3", EXPECT_ALLOCATION),
    ("eipAllocationIds", f"{ALLOCATION},{ALLOCATION}", f"{ALLOCATION} listed more than once"),
]


@pytest.mark.parametrize(
    ("key", "value", "expected"), BAD_VALUES, ids=[f"{k}={v}" for k, v, _ in BAD_VALUES]
)
def test_a_bad_address_names_its_key_and_the_expected_form(
    key: str, value: str, expected: str
) -> None:
    # Given the routed pair with one value replaced
    message = problems_of({**ROUTED_CONTEXT, key: value})
    # Then the one problem starts with the key and says what was expected
    assert message.startswith(f"{key}:"), message
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0.1", EXPECT_PRIVATE_IP),
        ("8.8.8.8", "it is public"),
        ("10.0.1.50/32", EXPECT_PRIVATE_IP),
        ("10.0.1.50,10.0.1.50", "10.0.1.50 listed more than once"),
    ],
)
def test_a_bad_private_ip_names_its_key(value: str, expected: str) -> None:
    message = problems_of({**ROUTED_CONTEXT, "privateIps": value, "vpcId": VPC})
    assert message.startswith("privateIps:"), message
    assert expected in message


def test_routes_without_destinations_name_the_missing_key() -> None:
    # Given route tables and no routeCidrs
    context = {k: v for k, v in ROUTED_CONTEXT.items() if k != "routeCidrs"}
    # Then routeCidrs is named as missing, with what a route is and the form expected
    message = problems_of(context)
    assert message.startswith("routeCidrs: missing; routeTableIds is given"), message
    assert EXPECT_CIDR in message


def test_destinations_without_route_tables_name_the_missing_key() -> None:
    context = {k: v for k, v in ROUTED_CONTEXT.items() if k != "routeTableIds"}
    message = problems_of(context)
    assert message.startswith("routeTableIds: missing; routeCidrs is given"), message
    assert EXPECT_ROUTE_TABLE in message


def test_a_pair_that_lists_nothing_names_every_address_key() -> None:
    # Given the single pair's instances and no address of any kind
    message = problems_of(
        {"primaryInstanceId": PRIMARY, "standbyInstanceId": STANDBY, "notifyEmail": "o@x.io"}
    )
    # Then the problem is one, against eniId, and names every kind's key with its form
    assert message.startswith("eniId: missing, and the pair lists no other address"), message
    for key in ("eniId", "routeTableIds", "routeCidrs", "eipAllocationIds", "privateIps"):
        assert key in message
    for expected in (EXPECT_INTERFACE, EXPECT_ROUTE_TABLE, EXPECT_ALLOCATION, EXPECT_PRIVATE_IP):
        assert expected in message
    assert "\n" not in message


def test_a_pairs_entry_that_lists_nothing_names_its_own_keys() -> None:
    empty = {k: v for k, v in WEB.items() if k != "eniIds"}
    message = problems_of(listed(web=WEB, empty={**empty, "name": "empty"}))
    assert message.startswith("pairs[1].eniIds: missing, and the pair lists no other"), message
    assert "pairs[1].routeTableIds" in message
    assert "pairs[1].eipAllocationIds" in message


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        (
            {"routeTableIds": [OTHER_TABLE], "routeCidrs": ["0.0.0.0/0"]},
            "pairs[1].routeTableIds / pairs[1].routeCidrs: the route to 0.0.0.0/0 in "
            f"{OTHER_TABLE} also belongs to pair 'nat'; a route can follow one pair only",
        ),
        (
            {"eipAllocationIds": [ALLOCATION]},
            f"pairs[1].eipAllocationIds: {ALLOCATION} also belongs to pair 'nat'; an Elastic "
            "IP can follow one pair only",
        ),
        (
            {"privateIps": ["10.0.1.51"]},
            "pairs[1].privateIps: 10.0.1.51 also belongs to pair 'vip'; a private IP can "
            "follow one pair only",
        ),
    ],
    ids=["route", "elastic-ip", "private-ip"],
)
def test_an_address_in_two_pairs_is_named_against_the_second_pairs_key(
    second: dict[str, Any], expected: str
) -> None:
    # Given a second pair that lists an address the first already moves
    owner = VIP if "privateIps" in second else NAT
    other = {
        "name": "other",
        "primaryInstanceId": "i-0eeeeeeeeeeeeeee1",
        "standbyInstanceId": "i-0eeeeeeeeeeeeeee2",
        **second,
    }
    # When the settings are read
    with pytest.raises(SettingsError) as raised:
        settings_from(listed(owner=owner, other=other))
    # Then the one problem names the second pair's key, the address and its owner
    assert raised.value.problems == (expected,)


def test_the_same_route_table_with_other_destinations_is_two_pairs_routes() -> None:
    # Given two pairs sharing a route table, each with its own overlay IP
    first = {**NAT, "routeTableIds": [TABLE], "routeCidrs": ["10.9.0.10/32"]}
    first.pop("eipAllocationIds")
    second = {
        **first,
        "name": "db",
        "primaryInstanceId": "i-0eeeeeeeeeeeeeee1",
        "standbyInstanceId": "i-0eeeeeeeeeeeeeee2",
        "routeCidrs": ["10.9.0.11/32"],
    }
    # Then both are accepted: a route is a table and a destination
    pairs = settings_from(listed(nat=first, db=second)).failover.pairs
    assert [p.routes for p in pairs] == [((TABLE, "10.9.0.10/32"),), ((TABLE, "10.9.0.11/32"),)]


def test_private_ips_need_the_vpc_of_the_interfaces_they_move_between() -> None:
    # Given a pair of secondary IPs and no vpcId
    context = {**ROUTED_CONTEXT, "privateIps": "10.0.1.50"}
    # Then vpcId is named as missing, with why: the primary interfaces are found at run time
    message = problems_of(context)
    assert message.startswith("vpcId: missing; privateIps moves secondary private IPs"), message
    assert "-c vpcId=vpc-" in message
    # And with it, vpcId alone (no probe, no isolate) is accepted and scopes the assignment
    settings = settings_from({**context, "vpcId": VPC})
    assert settings.private_ip_vpc_id == VPC
    assert settings.prober is None


def test_without_private_ips_no_vpc_scopes_an_assignment() -> None:
    assert settings_from(ROUTED_CONTEXT).private_ip_vpc_id is None


def test_every_address_mistake_comes_in_one_report() -> None:
    # Given a pairs entry listing nothing, a route another pair moves already, and a bad
    # route table and a bad Elastic IP in one entry
    nothing = {k: v for k, v in VIP.items() if k != "privateIps"}
    twin = {
        "name": "twin",
        "primaryInstanceId": "i-0eeeeeeeeeeeeeee1",
        "standbyInstanceId": "i-0eeeeeeeeeeeeeee2",
        "routeTableIds": [TABLE],
        "routeCidrs": ["0.0.0.0/0"],
    }
    broken = {**WEB, "routeTableIds": ["rtb-1"], "routeCidrs": ["::/0"]}
    broken["eipAllocationIds"] = ["eipalloc-1"]
    # When the settings are read
    with pytest.raises(SettingsError) as raised:
        settings_from(listed(nat=NAT, nothing=nothing, twin=twin, broken=broken))
    # Then every one is reported, each against its own key
    assert [p.split(":")[0] for p in raised.value.problems] == [
        "pairs[1].eniIds",
        "pairs[3].routeTableIds",
        "pairs[3].eipAllocationIds",
        "pairs[2].routeTableIds / pairs[2].routeCidrs",
    ]


def test_the_usage_text_names_the_address_keys() -> None:
    message = problems_of({})
    for key in ("routeTableIds", "routeCidrs", "eipAllocationIds", "privateIps"):
        assert key in message


def nat_pairs(count: int, *, tables: int) -> list[dict[str, Any]]:
    """``count`` NAT-like pairs, each with ``tables`` route tables and an Elastic IP."""
    return [
        {
            "name": f"nat-{n:03d}",
            "primaryInstanceId": f"i-{2 * n:017x}",
            "standbyInstanceId": f"i-{2 * n + 1:017x}",
            "routeTableIds": [f"rtb-{tables * n + k:017x}" for k in range(tables)],
            "routeCidrs": ["0.0.0.0/0"],
            "eipAllocationIds": [f"eipalloc-{n:017x}"],
        }
        for n in range(count)
    ]


def test_200_pairs_of_routes_and_an_elastic_ip_fit_the_roles_policies() -> None:
    # Given 200 NAT-like pairs: two route tables and an Elastic IP each
    # When the settings are read, then they are accepted
    pairs = nat_pairs(200, tables=2)
    settings = settings_from({"pairs": pairs, "notifyEmail": "ops@example.com"})
    assert len(settings.failover.pairs) == 200
    # And with a third route table each, their ARNs no longer fit, and synth says which
    with pytest.raises(SettingsError) as raised:
        read_settings({"pairs": nat_pairs(200, tables=3), "notifyEmail": "ops@example.com"}.get)
    [message] = raised.value.problems
    assert message.startswith(
        "pairs: 200 pairs name too many instances and interfaces and route tables and "
        "Elastic IPs for one role"
    ), message
    found = re.search(r"need (\d+) managed policies", message)
    assert found is not None
    assert int(found.group(1)) > 10
