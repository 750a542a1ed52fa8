"""The prober finds where a pair of addresses only is served, as it does for interfaces."""

from __future__ import annotations

import boto3

from eni_failover.clients import AwsClients
from eni_failover.config import Pair
from eni_failover.prober import find_targets
from eni_failover_ec2sim import FaithfulEC2
from eni_failover_ec2sim.topology import build_address_pair
from eni_failover_emulator.endpoint import REGION


def test_an_overlay_route_pair_is_probed_at_its_overlay_ip_while_the_primary_holds_it(
    sim: FaithfulEC2,
) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    topology = build_address_pair(ec2, route_cidrs=("10.9.0.10/32",))
    pair = Pair(
        name="overlay",
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        route_table_ids=topology.route_table_ids,
        route_cidrs=topology.route_cidrs,
        probe="tcp:443",
    )
    clients = AwsClients(region=REGION)

    [targets] = find_targets(clients, [pair]).values()
    assert targets.service_ip == "10.9.0.10"
    assert targets.on_primary is True

    # Once the routes point at the standby, a failed probe no longer speaks of the primary
    for table in topology.route_table_ids:
        ec2.replace_route(
            RouteTableId=table,
            DestinationCidrBlock="10.9.0.10/32",
            NetworkInterfaceId=topology.standby_interface_id,
        )
    sim.settle()
    [targets] = find_targets(clients, [pair]).values()
    assert targets.on_primary is False


def test_a_secondary_ip_pair_is_probed_at_its_first_secondary_ip(sim: FaithfulEC2) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    topology = build_address_pair(
        ec2, standby_az="us-east-1a", route_tables=0, elastic_ips=0, secondary_private_ips=1
    )
    pair = Pair(
        name="vip",
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        private_ips=topology.private_ips,
        probe="http://:8080/health",
    )

    [targets] = find_targets(AwsClients(region=REGION), [pair]).values()

    assert targets.service_ip == topology.private_ips[0]
    assert targets.on_primary is True
