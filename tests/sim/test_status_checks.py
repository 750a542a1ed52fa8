"""DescribeInstanceStatus as EC2 answers it (moto reports every running instance "ok")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from eni_failover_ec2sim import build_pair
from tests.sim.conftest import IN_PROCESS, StartSim

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef

# Time and status are decided in the simulator, the same for both transports; the
# scenario test drives them through the server too.
pytestmark = pytest.mark.parametrize("transport", [IN_PROCESS], indirect=True)


def statuses(ec2: EC2Client, *instance_ids: str, **options: Any) -> dict[str, dict[str, Any]]:
    found = ec2.describe_instance_status(InstanceIds=list(instance_ids), **options)
    return {status["InstanceId"]: dict(status) for status in found["InstanceStatuses"]}


def test_impaired_checks_are_reported(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given a primary whose system check is impaired and whose instance check is not
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)

    # When its status checks are set and described
    sim.set_status(pair.primary_instance_id, system="impaired", instance="ok")
    primary = statuses(ec2, pair.primary_instance_id)[pair.primary_instance_id]

    # Then EC2 reports the failed reachability check, since when, and the other one passed
    system = primary["SystemStatus"]
    assert system["Status"] == "impaired"
    (detail,) = system["Details"]
    assert (detail["Name"], detail["Status"]) == ("reachability", "failed")
    assert "ImpairedSince" in detail
    assert primary["InstanceStatus"]["Status"] == "ok"
    assert primary["InstanceStatus"]["Details"][0]["Status"] == "passed"


def test_status_check_filters_are_honoured(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given an impaired primary and a standby whose checks are still initializing
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    sim.set_status(pair.primary_instance_id, instance="impaired")
    sim.set_status(pair.standby_instance_id, system="initializing", instance="initializing")
    names = {pair.primary_instance_id: "primary", pair.standby_instance_id: "standby"}
    expected_by_filter: list[tuple[FilterTypeDef, set[str]]] = [
        ({"Name": "instance-status.status", "Values": ["impaired"]}, {"primary"}),
        ({"Name": "instance-status.reachability", "Values": ["failed"]}, {"primary"}),
        ({"Name": "system-status.status", "Values": ["ok"]}, {"primary"}),
        ({"Name": "system-status.reachability", "Values": ["initializing"]}, {"standby"}),
        ({"Name": "instance-status.status", "Values": ["ok", "initializing"]}, {"standby"}),
        ({"Name": "availability-zone", "Values": ["us-east-1b"]}, set()),
    ]

    # When statuses are described with each status-check filter
    found = {
        str(wanted): {names[i] for i in statuses(ec2, *names, Filters=[wanted])}
        for wanted, _ in expected_by_filter
    }

    # Then only the matching instances come back (moto ignores these filters)
    assert found == {str(wanted): expected for wanted, expected in expected_by_filter}


@pytest.mark.parametrize("stop", ["stop_instances", "terminate_instances"])
def test_stopped_and_terminated_instances_need_include_all_instances(
    ec2: EC2Client, start_sim: StartSim, stop: str
) -> None:
    # Given an impaired primary that is then stopped (or terminated)
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    sim.set_status(pair.primary_instance_id, system="impaired")
    getattr(ec2, stop)(InstanceIds=[pair.primary_instance_id])

    # When statuses are described without and with IncludeAllInstances
    default = statuses(ec2, pair.primary_instance_id)
    everything = statuses(ec2, pair.primary_instance_id, IncludeAllInstances=True)

    # Then it is left out by default, and shown with its state and no applicable checks
    assert default == {}
    primary = everything[pair.primary_instance_id]
    assert primary["InstanceState"]["Name"] == (
        "stopped" if stop == "stop_instances" else "terminated"
    )
    assert primary["SystemStatus"]["Status"] == "not-applicable"
    assert primary["InstanceStatus"]["Status"] == "not-applicable"
