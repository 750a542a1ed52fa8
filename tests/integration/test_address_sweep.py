"""The sweep and automatic failback for a pair of addresses only (issue 19).

A primary that stops while holding the pair's routes and Elastic IP, with no event that
reaches the function (a pair without an alarm, as a tagged pair is), is found by the
minute's sweep and handed off; once the primary is back and healthy for the hold-down,
failback=auto brings every address back, and the history says where each went. The
prober finds where such a pair's service
answers though the pair floats no interface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest

from eni_failover import prober
from eni_failover.clients import AwsClients
from eni_failover.config import FailbackPolicy, FailoverConfig, Pair
from eni_failover.history import History
from eni_failover_cli import history as history_command
from eni_failover_ec2sim import FaithfulEC2
from eni_failover_ec2sim.topology import AddressPairTopology, build_address_pair
from eni_failover_emulator.clock import ShiftedClock
from eni_failover_emulator.deployment import LocalDeployment
from tests.faults.conftest import _atomic_dynamodb  # noqa: F401 - autouse: deliveries run at once
from tests.integration.conftest import TEST_TUNING
from tests.support import REGION

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

HOLD_DOWN = 120


@pytest.fixture
def ec2(sim: FaithfulEC2) -> EC2Client:
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def topology(ec2: EC2Client) -> AddressPairTopology:
    """An overlay route in two route tables and an Elastic IP, across two zones."""
    return build_address_pair(ec2, name="edge")


def edge(topology: AddressPairTopology, **changes: Any) -> Pair:
    return Pair(
        name="edge",
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        route_table_ids=topology.route_table_ids,
        route_cidrs=topology.route_cidrs,
        eip_allocation_ids=topology.allocation_ids,
        **changes,
    )


def holders(ec2: EC2Client, sim: FaithfulEC2, topology: AddressPairTopology) -> set[str | None]:
    """The interface each route and the Elastic IP point at, as EC2 shows them."""
    sim.settle()
    tables = ec2.describe_route_tables(RouteTableIds=list(topology.route_table_ids))
    routes = {
        r.get("NetworkInterfaceId")
        for t in tables["RouteTables"]
        for r in t["Routes"]
        if r.get("DestinationCidrBlock") in topology.route_cidrs
    }
    found = ec2.describe_addresses(AllocationIds=list(topology.allocation_ids))["Addresses"]
    return routes | {a.get("NetworkInterfaceId") for a in found}


def test_a_stopped_primary_holding_routes_and_an_elastic_ip_is_swept_then_failed_back(
    ec2: EC2Client, sim: FaithfulEC2, topology: AddressPairTopology, stack_template: dict[str, Any]
) -> None:
    # Given an address pair without an alarm of its own, failing back by itself
    pair = edge(
        topology, alarm_name="", failback=FailbackPolicy.AUTO, failback_after_seconds=HOLD_DOWN
    )
    clock = ShiftedClock()
    deployment = LocalDeployment.from_template(
        FailoverConfig(pairs=(pair,), tuning=TEST_TUNING), stack_template, clock=clock
    )
    assert holders(ec2, sim, topology) == {topology.primary_interface_id}

    # When its primary stops and no event reaches the function
    ec2.stop_instances(InstanceIds=[topology.primary_instance_id])
    sim.settle()
    clock.advance(120)
    swept = deployment.invoke({"action": "sweep"})

    # Then the sweep hands the pair off, naming what the primary still holds
    assert [h["pair"] for h in swept["handed_off"]] == ["edge"]
    assert swept["outcomes"] == []
    delivered = deployment.deliver_triggers()
    assert [i.error for i in delivered] == [None]
    [outcome] = [o for i in delivered if i.result for o in i.result["outcomes"]]
    assert (outcome["outcome"], outcome["trigger"]["kind"]) == ("swapped", "sweep")
    # And every route and the Elastic IP are on the standby's interface
    assert holders(ec2, sim, topology) == {topology.standby_interface_id}

    # When the primary is started again and stays healthy for the hold-down
    ec2.start_instances(InstanceIds=[topology.primary_instance_id])
    sim.settle()
    sim.set_status(topology.primary_instance_id, system="ok", instance="ok")
    assert deployment.invoke({"action": "sweep"})["outcomes"] == []  # opens the window
    clock.advance(HOLD_DOWN // 2)
    assert deployment.invoke({"action": "sweep"})["outcomes"] == []
    clock.advance(HOLD_DOWN // 2)
    [back] = deployment.invoke({"action": "sweep"})["outcomes"]

    # Then the sweep fails back: every address is on the primary again
    assert (back["outcome"], back["direction"]) == ("swapped", "failback")
    assert holders(ec2, sim, topology) == {topology.primary_interface_id}
    # And once only
    clock.advance(60)
    assert deployment.invoke({"action": "sweep"})["outcomes"] == []

    # And the history says where every address went each time
    history = History(deployment.clients.dynamodb, deployment.settings.state_table_name)
    failback, failover = history.read("edge")
    assert len(failover.addresses) == len(failback.addresses) == 3
    assert all(f"on {topology.standby_instance_id}" in a for a in failover.addresses)
    assert all(f"on {topology.primary_instance_id}" in a for a in failback.addresses)
    text = history_command.describe(
        {
            "where": "here",
            "pair": "edge",
            "since": None,
            "limit": 20,
            "entries": [failback.as_dict(), failover.as_dict()],
        },
        retention_days=90,
    )
    assert "Addresses after each outcome:" in text
    assert f"elastic-ip {topology.allocation_ids[0]}: on {topology.standby_instance_id}" in text


def test_a_healthy_address_pair_is_left_alone_by_the_sweep(
    ec2: EC2Client, sim: FaithfulEC2, topology: AddressPairTopology, stack_template: dict[str, Any]
) -> None:
    clock = ShiftedClock()
    deployment = LocalDeployment.from_template(
        FailoverConfig(pairs=(edge(topology, alarm_name=""),), tuning=TEST_TUNING),
        stack_template,
        clock=clock,
    )
    clock.advance(120)
    swept = deployment.invoke({"action": "sweep"})
    assert swept["handed_off"] == []
    assert holders(ec2, sim, topology) == {topology.primary_interface_id}


def test_the_prober_finds_an_address_pair_and_where_its_service_answers(
    ec2: EC2Client, sim: FaithfulEC2, topology: AddressPairTopology
) -> None:
    # Given a probed pair of routes (an overlay IP) and an Elastic IP, no interface
    pair = edge(topology, probe="tcp:22")
    clients = AwsClients(boto3.Session(region_name=REGION))

    [targets] = prober.find_targets(clients, [pair]).values()

    # Then the service is probed at the overlay IP, and the pair is on its primary
    assert targets.service_ip == "10.9.0.10"
    assert targets.on_primary is True
    primary = ec2.describe_instances(InstanceIds=[topology.primary_instance_id])
    assert targets.primary_ip == primary["Reservations"][0]["Instances"][0]["PrivateIpAddress"]
