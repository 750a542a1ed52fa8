"""EC2's rules on describe calls themselves, which plain moto does not enforce.

DescribeNetworkInterfaces in an account with many interfaces (EC2 API reference) and
DescribeInstanceStatus for a terminated instance (reported of real EC2). Each test runs
in-process and through the HTTP server (the `transport` fixture).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from eni_failover_ec2sim import build_pair
from tests.sim.conftest import StartSim
from tests.sim.views import error_code

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef


def test_unindexed_unpaginated_interface_describe_is_refused_in_a_large_account(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given an account that counts as large (more interfaces than the threshold)
    sim = start_sim(max_unfiltered_interfaces=2)
    pair = build_pair(ec2, sim=sim)  # the floating interface and the two primary ones

    # When it describes interfaces with no filter, or with the network-interface-id one
    unindexed: list[list[FilterTypeDef]] = [
        [],
        [{"Name": "network-interface-id", "Values": [pair.interface_id]}],
    ]
    refused = []
    for filters in unindexed:
        with pytest.raises(ClientError) as excinfo:
            ec2.describe_network_interfaces(Filters=filters)
        refused.append(error_code(excinfo))

    # Then EC2 refuses both
    assert refused == ["UnsupportedOperation", "UnsupportedOperation"]


def test_interface_describes_that_scale_are_served_in_a_large_account(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given an account where every interface counts (the default threshold, 0)
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    indexed: list[FilterTypeDef] = [
        {"Name": "attachment.instance-id", "Values": [pair.primary_instance_id]},
        {"Name": "network-interface-id", "Values": [pair.interface_id]},
    ]

    # When it describes them by ID, paginated, or with an indexed filter
    by_id = ec2.describe_network_interfaces(NetworkInterfaceIds=[pair.interface_id])
    paginated = ec2.describe_network_interfaces(MaxResults=5)
    filtered = ec2.describe_network_interfaces(Filters=indexed)

    # Then each is served
    assert [i["NetworkInterfaceId"] for i in by_id["NetworkInterfaces"]] == [pair.interface_id]
    assert pair.interface_id in {i["NetworkInterfaceId"] for i in paginated["NetworkInterfaces"]}
    assert [i["NetworkInterfaceId"] for i in filtered["NetworkInterfaces"]] == [pair.interface_id]


@pytest.mark.parametrize("threshold", [100, None])
def test_unindexed_describe_is_served_below_the_threshold_or_with_the_rule_off(
    ec2: EC2Client, start_sim: StartSim, threshold: int | None
) -> None:
    # Given an account under the threshold, or with the rule off
    sim = start_sim(max_unfiltered_interfaces=threshold)
    build_pair(ec2, sim=sim)
    # When it describes every interface at once
    found = ec2.describe_network_interfaces()["NetworkInterfaces"]
    # Then EC2 answers
    assert len(found) == 3


def test_interface_ids_with_max_results_is_an_invalid_combination(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_network_interfaces(NetworkInterfaceIds=[pair.interface_id], MaxResults=5)
    assert error_code(excinfo) == "InvalidParameterCombination"


def test_an_unknown_interface_id_fails_the_whole_describe(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a pair's floating interface, and another one that was deleted
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    gone = ec2.create_network_interface(SubnetId=pair.subnet_id)["NetworkInterface"]
    ec2.delete_network_interface(NetworkInterfaceId=gone["NetworkInterfaceId"])

    # When both are described by ID
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_network_interfaces(
            NetworkInterfaceIds=[pair.interface_id, gone["NetworkInterfaceId"]]
        )

    # Then the whole call fails with NotFound, as EC2 answers (moto does this itself)
    assert error_code(excinfo) == "InvalidNetworkInterfaceID.NotFound"


@pytest.mark.parametrize("not_found", [False, True])
def test_status_of_a_terminated_instance_by_id(
    ec2: EC2Client, start_sim: StartSim, not_found: bool
) -> None:
    # Given a terminated primary, with EC2 forgetting its status (or not)
    sim = start_sim(terminated_status_not_found=not_found)
    pair = build_pair(ec2, sim=sim)
    ec2.terminate_instances(InstanceIds=[pair.primary_instance_id])
    both = [pair.primary_instance_id, pair.standby_instance_id]

    # When both instances' statuses are asked for by ID
    def ask() -> list[str]:
        found = ec2.describe_instance_status(InstanceIds=both, IncludeAllInstances=True)
        return sorted(s["InstanceId"] for s in found["InstanceStatuses"])

    # Then either both come back, or the whole call fails with NotFound, while
    # DescribeInstances still shows the terminated instance
    if not_found:
        with pytest.raises(ClientError) as excinfo:
            ask()
        assert error_code(excinfo) == "InvalidInstanceID.NotFound"
        assert pair.primary_instance_id in str(excinfo.value)
        standby = ec2.describe_instance_status(InstanceIds=[pair.standby_instance_id])
        assert len(standby["InstanceStatuses"]) == 1
    else:
        assert ask() == sorted(both)
    reservations = ec2.describe_instances(InstanceIds=[pair.primary_instance_id])
    assert reservations["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"
