"""Operator requests to the function: manual moves, dry runs, readiness, pause."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from eni_failover.errors import InvalidRequest
from eni_failover.pair_record import PairRecords
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.deployment import LocalDeployment
from tests.integration.conftest import ALARM_NAME
from tests.integration.test_failback_and_fence import restart_primary
from tests.support import alarm_message, sns_event


def attached_to(topology: PairTopology) -> str:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    [eni] = ec2.describe_network_interfaces(NetworkInterfaceIds=[topology.interface_id])[
        "NetworkInterfaces"
    ]
    return str(eni["Attachment"]["InstanceId"])


def test_manual_failover_of_a_healthy_primary_needs_force(
    deployment: LocalDeployment, topology: PairTopology
) -> None:
    # Given both instances are healthy
    # When an operator asks for a failover without --force
    refused = deployment.invoke({"action": "failover", "pair": "nat", "requested_by": "alice"})

    # Then nothing moves and the operator is told why (and so is everyone subscribed)
    assert refused["outcomes"][0]["outcome"] == "refused"
    assert "needs --force" in refused["outcomes"][0]["reasons"][0]
    assert attached_to(topology) == topology.primary_instance_id

    # When they insist
    forced = deployment.invoke({"action": "failover", "pair": "nat", "force": True})

    # Then it moves, saying which check was overridden
    assert forced["outcomes"][0]["outcome"] == "swapped"
    assert forced["outcomes"][0]["overridden_checks"] == ["source-healthy"]
    assert attached_to(topology) == topology.standby_instance_id
    subjects = [n["subject"] for n in deployment.notifications()]
    assert subjects == [
        "ENI failover nat: failover refused",
        f"ENI failover nat: moved to standby {topology.standby_instance_id}",
    ]


def test_failback_returns_the_interface_to_the_repaired_primary(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    # Given an automatic failover happened
    sim.set_status(topology.primary_instance_id, instance="impaired")
    deployment.invoke(
        sns_event(alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id))
    )
    assert attached_to(topology) == topology.standby_instance_id
    # And the primary was repaired (stopped and started: the detach from it was forced)
    restart_primary(topology, sim)

    # When the operator fails back
    report = deployment.invoke({"action": "failback", "pair": "nat", "requested_by": "bob"})

    # Then the interface is on the primary again and the notification says failback
    assert attached_to(topology) == topology.primary_instance_id
    outcome = report["outcomes"][0]
    assert (outcome["outcome"], outcome["direction"]) == ("swapped", "failback")
    last = deployment.notifications()[-1]
    assert last["subject"] == f"ENI failover nat: moved to primary {topology.primary_instance_id}"
    assert "failback requested by bob" in last["message"]


def test_dry_run_prints_the_plan_and_moves_nothing(
    deployment: LocalDeployment, topology: PairTopology
) -> None:
    report = deployment.invoke(
        {"action": "failover", "pair": "nat", "force": True, "dry_run": True}
    )

    assert report["plan"]["decision"] == "move"
    assert report["plan"]["moves"] == [
        {
            "interface_id": topology.interface_id,
            "from": topology.primary_instance_id,
            "to": topology.standby_instance_id,
            "device_index": topology.device_index,
            "network_card_index": 0,
        }
    ]
    assert attached_to(topology) == topology.primary_instance_id
    assert deployment.notifications() == []


def test_readiness_check_passes_every_check_on_a_healthy_pair(
    deployment: LocalDeployment,
) -> None:
    [result] = deployment.invoke({"action": "check"})["checks"]

    assert result["verdict"] == "READY"
    names = [c["check"] for c in result["checks"]]
    assert names[:5] == [
        "interfaces",
        "standby",
        "device index",
        "location",
        "delete on termination",
    ]
    permission_checks = [c for c in result["checks"] if "permission" in c["check"]]
    assert [c["ok"] for c in permission_checks] == [True, True]
    assert all("would be allowed" in c["detail"] for c in permission_checks)
    assert deployment.notifications() == []  # an operator's check announces nothing


def test_scheduled_readiness_check_announces_only_changes(
    deployment: LocalDeployment, topology: PairTopology
) -> None:
    scheduled = {"action": "check", "scheduled": True}
    # Given a healthy pair: the first verdict, READY, is not news
    deployment.invoke(scheduled)
    assert deployment.notifications() == []

    # When the standby stops, the next scheduled check says so, once
    boto3.client("ec2", region_name="us-east-1").stop_instances(
        InstanceIds=[topology.standby_instance_id]
    )
    [result] = deployment.invoke(scheduled)["checks"]
    deployment.invoke(scheduled)

    assert result["ready"] is False
    [announcement] = deployment.notifications()
    assert announcement["subject"] == "ENI failover nat: readiness is now NOT READY"
    assert "[FAIL] standby" in announcement["message"]


def test_paused_pair_refuses_automatic_failover(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    # Given an operator paused the pair (the CLI also disables the alarm actions and rule)
    PairRecords(deployment.clients.dynamodb, deployment.resources.state_table_name).set_paused(
        "nat",
        by="carol",
        now=datetime.now(UTC),
    )
    sim.set_status(topology.primary_instance_id, instance="impaired")

    # When an alarm that was already in flight arrives
    deployment.invoke(
        sns_event(alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id))
    )

    # Then nothing moves and the refusal names the pause
    assert attached_to(topology) == topology.primary_instance_id
    [notification] = deployment.notifications()
    assert "is paused (by carol" in notification["message"]


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"action": "explode", "pair": "nat"}, "action"),
        ({"action": "failover"}, "needs a pair"),
        ({"action": "failover", "pair": "nope"}, "no pair named 'nope'; configured: nat"),
        ({"action": "failover", "pair": "nat", "force": "perhaps"}, "force"),
    ],
)
def test_invalid_requests_are_refused_with_the_reason(
    deployment: LocalDeployment, request_: dict[str, object], expected: str
) -> None:
    with pytest.raises(InvalidRequest, match=expected):
        deployment.invoke(request_)
