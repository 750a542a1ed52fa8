"""AttachedEbsStatus in DescribeInstanceStatus, which moto does not report at all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from eni_failover_ec2sim import build_pair
from tests.sim.conftest import IN_PROCESS, StartSim

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

# Status is decided in the simulator, the same for both transports.
pytestmark = pytest.mark.parametrize("transport", [IN_PROCESS], indirect=True)


def statuses(ec2: EC2Client, *instance_ids: str, **options: Any) -> dict[str, dict[str, Any]]:
    found = ec2.describe_instance_status(InstanceIds=list(instance_ids), **options)
    return {status["InstanceId"]: dict(status) for status in found["InstanceStatuses"]}


def test_attached_ebs_check_is_ok_until_set_impaired(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given a pair whose primary's attached-EBS check fails while its other checks pass
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    sim.set_status(pair.primary_instance_id, attached_ebs="impaired")

    # When the statuses are described, and filtered on the attached-EBS check
    found = statuses(ec2, pair.primary_instance_id, pair.standby_instance_id)
    impaired = statuses(
        ec2,
        pair.primary_instance_id,
        pair.standby_instance_id,
        Filters=[{"Name": "attached-ebs-status.status", "Values": ["impaired"]}],
    )

    # Then EC2 reports the failed check beside the passing ones, and the standby's as ok
    primary = found[pair.primary_instance_id]
    assert primary["AttachedEbsStatus"]["Status"] == "impaired"
    (detail,) = primary["AttachedEbsStatus"]["Details"]
    assert (detail["Name"], detail["Status"]) == ("reachability", "failed")
    assert "ImpairedSince" in detail
    assert primary["SystemStatus"]["Status"] == primary["InstanceStatus"]["Status"] == "ok"
    assert found[pair.standby_instance_id]["AttachedEbsStatus"]["Status"] == "ok"
    assert set(impaired) == {pair.primary_instance_id}


def test_a_stopped_instance_has_no_applicable_attached_ebs_check(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a stopped primary whose attached-EBS check had failed
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    sim.set_status(pair.primary_instance_id, attached_ebs="impaired")
    ec2.stop_instances(InstanceIds=[pair.primary_instance_id])

    # When its status is described with IncludeAllInstances
    primary = statuses(ec2, pair.primary_instance_id, IncludeAllInstances=True)[
        pair.primary_instance_id
    ]

    # Then no check applies to it
    assert primary["AttachedEbsStatus"]["Status"] == "not-applicable"
