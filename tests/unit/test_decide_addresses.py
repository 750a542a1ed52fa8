"""The pure decision for routes, Elastic IPs and secondary IPs: state in, plan out."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from eni_failover import decide
from eni_failover.config import FailbackPolicy, Pair
from eni_failover.observed import AddressView, PairState
from eni_failover.pair_record import PairRecord
from tests.unit.test_decide import NOW, PRIMARY, STANDBY, TUNING, instance, plan, reasons, trigger

TABLE = "rtb-0123456789abcdef0"
OVERLAY = "10.9.0.10/32"
ALLOCATION = "eipalloc-0123456789abcdef0"
VIP = "10.0.1.77"
PRIMARY_ENI = f"eni-{PRIMARY[2:]}"  # test_decide.instance's primary interface
STANDBY_ENI = f"eni-{STANDBY[2:]}"
EDGE = Pair(
    name="edge",
    primary_instance_id=PRIMARY,
    standby_instance_id=STANDBY,
    route_table_ids=(TABLE,),
    route_cidrs=(OVERLAY,),
    eip_allocation_ids=(ALLOCATION,),
    alarm_name="stack-edge-primary-status",
)


def route(on: str | None = PRIMARY, **changes: object) -> AddressView:
    base = AddressView(
        kind="route",
        address=f"{TABLE} {OVERLAY}",
        exists=True,
        interface_id={PRIMARY: PRIMARY_ENI, STANDBY: STANDBY_ENI}.get(on or ""),
        instance_id=on,
        state="active",
        vpc_id="vpc-1",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def eip(on: str | None = PRIMARY, **changes: object) -> AddressView:
    base = AddressView(
        kind="elastic-ip",
        address=ALLOCATION,
        exists=True,
        interface_id={PRIMARY: PRIMARY_ENI, STANDBY: STANDBY_ENI}.get(on or ""),
        instance_id=on,
        state="associated" if on else "not associated",
        detail="203.0.113.7",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def vip(on: str | None = PRIMARY, subnet: str = "subnet-1") -> AddressView:
    return AddressView(
        kind="private-ip",
        address=VIP,
        exists=True,
        interface_id={PRIMARY: PRIMARY_ENI, STANDBY: STANDBY_ENI}.get(on or ""),
        instance_id=on,
        state="assigned",
        subnet_id=subnet,
    )


def across_zones(*addresses: AddressView, **standby: object) -> PairState:
    """The primary (impaired) in us-east-1a, the standby in us-east-1b, one VPC."""
    standby_view = {
        "availability_zone": "us-east-1b",
        "vpc_id": "vpc-1",
        "subnet_id": "subnet-2",
        "private_ip": "10.0.2.10",
    } | standby
    return PairState(
        primary=instance(
            PRIMARY,
            instance_status="impaired",
            vpc_id="vpc-1",
            subnet_id="subnet-1",
            private_ip="10.0.1.10",
        ),
        standby=instance(STANDBY, **standby_view),
        interfaces=(),
        addresses=addresses or (route(), eip()),
        observed_at=NOW,
    )


def test_routes_and_elastic_ips_move_across_zones_together() -> None:
    result = plan(across_zones(), pair=EDGE, trigger=trigger())
    assert isinstance(result, decide.Move)
    assert result.moves == ()
    assert [(a.key, a.from_instance_id, a.to_instance_id) for a in result.addresses] == [
        (f"route {TABLE} {OVERLAY}", PRIMARY, STANDBY),
        (f"elastic-ip {ALLOCATION}", PRIMARY, STANDBY),
    ]


def test_every_address_on_the_standby_is_already_there() -> None:
    result = plan(across_zones(route(STANDBY), eip(STANDBY)), pair=EDGE)
    assert isinstance(result, decide.AlreadyThere)


def test_only_the_addresses_not_on_the_standby_move_and_the_move_resumes() -> None:
    record = PairRecord(journal_trigger_id="t1")
    result = plan(across_zones(route(STANDBY), eip(PRIMARY)), pair=EDGE, record=record)
    assert isinstance(result, decide.Move)
    assert [a.key for a in result.addresses] == [f"elastic-ip {ALLOCATION}"]
    assert result.resuming


def test_an_address_serving_someone_else_is_refused() -> None:
    stranger = "i-0aaaaaaaaaaaaaaaa"
    result = plan(
        across_zones(route(), eip(stranger, interface_id="eni-0aaaaaaaaaaaaaaaa")), pair=EDGE
    )
    assert f"elastic-ip {ALLOCATION} is on {stranger}" in reasons(result)


def test_a_route_that_points_at_a_gateway_is_refused() -> None:
    gateway = route(None, interface_id=None, detail="targets nat-0123456789abcdef0")
    result = plan(across_zones(gateway, eip()), pair=EDGE)
    assert "targets nat-0123456789abcdef0" in reasons(result)


def test_a_blackhole_route_and_a_released_elastic_ip_serve_no_one_and_move() -> None:
    # The terminated primary's interface is gone: its route reads blackhole.
    gone = route(None, interface_id="eni-0bbbbbbbbbbbbbbbb", state="blackhole")
    result = plan(across_zones(gone, eip(None)), pair=EDGE)
    assert isinstance(result, decide.Move)
    assert len(result.addresses) == 2


def test_a_missing_route_is_refused_with_what_is_missing() -> None:
    missing = route(None, exists=False, detail=f"{TABLE} has no route to {OVERLAY}")
    result = plan(across_zones(missing, eip()), pair=EDGE)
    assert f"{TABLE} has no route to {OVERLAY}" in reasons(result)


def test_a_route_never_points_into_another_vpc() -> None:
    result = plan(across_zones(vpc_id="vpc-2"), pair=EDGE)
    assert "a route can point only at an interface in its own VPC" in reasons(result)


def test_a_secondary_ip_never_leaves_its_subnet_nor_its_zone() -> None:
    pair = EDGE.model_copy(update={"private_ips": (VIP,)})
    result = plan(across_zones(route(), eip(), vip()), pair=pair)
    said = reasons(result)
    assert "across zones a pair may hold only routes and Elastic IPs" in said
    assert "secondary private IPs (privateIps)" in said
    assert f"{VIP} is in subnet subnet-1" in said


def test_a_target_without_a_primary_interface_takes_no_address() -> None:
    result = plan(across_zones(device_indexes={}), pair=EDGE)
    assert "shows no primary interface" in reasons(result)


def test_the_sweep_sees_a_stopped_primary_still_holding_an_address() -> None:
    current = dataclasses.replace(
        across_zones(route(STANDBY), eip(PRIMARY)),
        primary=instance(PRIMARY, state="stopped", failed_since=NOW - timedelta(minutes=5)),
    )
    missed = decide.missed_failure(EDGE, current, NOW, evaluation_periods=2)
    assert missed is not None
    assert f"elastic-ip {ALLOCATION}" in missed


def test_failback_waits_until_every_address_is_on_the_standby() -> None:
    pair = EDGE.model_copy(update={"failback": FailbackPolicy.AUTO})
    record = PairRecord(last_move_kind="alarm", last_move_at=NOW - timedelta(hours=1))
    healthy = instance(PRIMARY, vpc_id="vpc-1", subnet_id="subnet-1")
    split = dataclasses.replace(across_zones(route(STANDBY), eip(PRIMARY)), primary=healthy)
    assert decide.failback_watch(pair, split, record, NOW).reason == "the pair is not failed over"
    over = dataclasses.replace(across_zones(route(STANDBY), eip(STANDBY)), primary=healthy)
    assert decide.failed_over(over)
    assert decide.failback_watch(pair, over, record, NOW).reason != "the pair is not failed over"


def test_the_readiness_plan_of_a_healthy_pair_moves_every_address() -> None:
    healthy = dataclasses.replace(
        across_zones(), primary=instance(PRIMARY, vpc_id="vpc-1", subnet_id="subnet-1")
    )
    result = decide.readiness_plan(
        pair=EDGE, state=healthy, record=PairRecord(), now=NOW, tuning=TUNING
    )
    assert isinstance(result, decide.Move)
    assert len(result.addresses) == 2


def test_a_late_alarm_for_a_healthy_primary_holding_the_addresses_moves_nothing() -> None:
    healthy = dataclasses.replace(
        across_zones(),
        primary=instance(PRIMARY, vpc_id="vpc-1", subnet_id="subnet-1", private_ip="10.0.1.10"),
    )
    result = plan(healthy, pair=EDGE)
    assert "is healthy now, so this trigger is out of date" in reasons(result)
