"""An Availability Zone's service disruption, as the DescribeInstances reference describes
it: describes that name an instance in the zone, or name no instance IDs, fail; those that
name only instances in other zones work normally. Plain moto answers every one of them.
Routes and Elastic IPs are regional: they still move, away from the zone, to the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from eni_failover_ec2sim import build_pair
from tests.sim.conftest import MakeClient, StartSim
from tests.sim.views import address, error_code, interface, primary_interface_id, route

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

HEALTHY_ZONE = "us-east-1a"
DISRUPTED_ZONE = "us-east-1b"
OVERLAY = "192.168.100.10/32"


def test_describes_touching_a_disrupted_zone_fail_and_the_others_work(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a pair in a healthy zone and one in a zone in a service disruption
    sim = start_sim()
    healthy = build_pair(ec2, az=HEALTHY_ZONE, name="healthy", sim=sim)
    hit = build_pair(ec2, az=DISRUPTED_ZONE, name="hit", sim=sim)
    sim.disrupt_zone(DISRUPTED_ZONE)
    healthy_ids = [healthy.primary_instance_id, healthy.standby_instance_id]

    # When instances are described by the healthy zone's IDs only
    found = ec2.describe_instances(InstanceIds=healthy_ids)
    statuses = ec2.describe_instance_status(InstanceIds=healthy_ids, IncludeAllInstances=True)

    # Then EC2 answers normally
    assert sorted(i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]) == sorted(
        healthy_ids
    )
    assert sorted(s["InstanceId"] for s in statuses["InstanceStatuses"]) == sorted(healthy_ids)

    # And every describe that names a disrupted instance, or no IDs at all, fails
    failing: dict[str, Callable[[], object]] = {
        "one of its IDs": lambda: ec2.describe_instances(
            InstanceIds=[*healthy_ids, hit.primary_instance_id]
        ),
        "no IDs": ec2.describe_instances,
        "an instance-id filter": lambda: ec2.describe_instances(
            Filters=[{"Name": "instance-id", "Values": healthy_ids}]
        ),
        "its status": lambda: ec2.describe_instance_status(
            InstanceIds=[hit.standby_instance_id], IncludeAllInstances=True
        ),
        "every status": lambda: ec2.describe_instance_status(IncludeAllInstances=True),
    }
    codes = {}
    for name, describe in failing.items():
        with pytest.raises(ClientError) as excinfo:
            describe()
        codes[name] = error_code(excinfo)
    assert set(codes.values()) == {"Unavailable"}, codes

    # And interfaces, which the reference does not name, are still described
    assert ec2.describe_network_interfaces(NetworkInterfaceIds=[hit.interface_id])[
        "NetworkInterfaces"
    ]


def test_a_disrupted_zone_answers_a_server_error_that_botocore_retries(
    make_client: MakeClient, start_sim: StartSim, retry_sleeps: list[float]
) -> None:
    # Given a client that retries as the function's does, and a disrupted zone
    ec2 = make_client(total_max_attempts=3)
    sim = start_sim()
    hit = build_pair(ec2, az=DISRUPTED_ZONE, name="hit", sim=sim)
    sim.disrupt_zone(DISRUPTED_ZONE)
    sim.reset_counts()

    # When it describes an instance there
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_instances(InstanceIds=[hit.primary_instance_id])

    # Then the answer is a 5xx that botocore retried, as it would EC2's
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert sim.calls["DescribeInstances"] == 3

    # And once the disruption is over, the same describe works
    sim.restore_zone(DISRUPTED_ZONE)
    assert ec2.describe_instances(InstanceIds=[hit.primary_instance_id])["Reservations"]


def test_a_zone_outage_moves_routes_and_an_elastic_ip_to_the_other_zone(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a primary in a zone that goes down and a standby in a healthy one, an overlay
    # route to the primary's interface in two route tables, and an Elastic IP on it
    sim = start_sim()
    pair = build_pair(ec2, az=DISRUPTED_ZONE, standby_az=HEALTHY_ZONE, with_eip=False, sim=sim)
    primary = primary_interface_id(ec2, pair.primary_instance_id)
    standby = interface(ec2, primary_interface_id(ec2, pair.standby_instance_id))
    tables = []
    for _ in range(2):
        table_id = ec2.create_route_table(VpcId=pair.vpc_id)["RouteTable"]["RouteTableId"]
        ec2.create_route(
            RouteTableId=table_id, DestinationCidrBlock=OVERLAY, NetworkInterfaceId=primary
        )
        tables.append(table_id)
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation_id, NetworkInterfaceId=primary)
    sim.settle()
    sim.disrupt_zone(DISRUPTED_ZONE)

    # When the failover, unable to describe the primary, moves both to the standby
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_instances(InstanceIds=[pair.primary_instance_id])
    assert error_code(excinfo) == "Unavailable"
    assert all(route(ec2, t, OVERLAY)["NetworkInterfaceId"] == primary for t in tables)
    assert address(ec2, allocation_id)["NetworkInterfaceId"] == primary
    for table_id in tables:
        ec2.replace_route(
            RouteTableId=table_id,
            DestinationCidrBlock=OVERLAY,
            NetworkInterfaceId=standby["NetworkInterfaceId"],
        )
    ec2.associate_address(
        AllocationId=allocation_id,
        NetworkInterfaceId=standby["NetworkInterfaceId"],
        PrivateIpAddress=standby["PrivateIpAddress"],
        AllowReassociation=True,
    )

    # Then the regional describes keep answering, at first with the old targets
    # (eventually consistent), then with the standby's in the healthy zone
    assert route(ec2, tables[0], OVERLAY)["NetworkInterfaceId"] == primary
    assert address(ec2, allocation_id)["NetworkInterfaceId"] == primary
    sim.settle()
    for table_id in tables:
        moved = route(ec2, table_id, OVERLAY)
        assert moved["NetworkInterfaceId"] == standby["NetworkInterfaceId"]
        assert moved["State"] == "active"
    moved_address = address(ec2, allocation_id)
    assert moved_address["NetworkInterfaceId"] == standby["NetworkInterfaceId"]
    assert moved_address["InstanceId"] == pair.standby_instance_id
    assert ec2.describe_instances(InstanceIds=[pair.standby_instance_id])["Reservations"]
