"""A deployed failover in the emulator, on the faithful EC2 with short, non-zero latencies."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from ec2sim import FaithfulEC2, PairTopology, build_pair
from emulator.deployment import LocalDeployment
from eni_failover.config import FailoverConfig, Pair, Tuning

ALARM_NAME = "EniFailover-nat-primary-status"
TEST_TUNING = Tuning(
    swap_deadline_seconds=8,
    poll_interval_seconds=0.05,
    detach_grace_seconds=1.0,
    lease_wait_seconds=0.5,
    api_max_attempts=5,
)


@pytest.fixture
def topology(sim: FaithfulEC2) -> PairTopology:
    built = build_pair(boto3.client("ec2", region_name="us-east-1"), name="nat", sim=sim)
    sim.reset_counts()  # count only what the failover calls
    return built


def pair_of(topology: PairTopology, name: str = "nat", alarm_name: str = ALARM_NAME) -> Pair:
    return Pair(
        name=name,
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        interface_ids=(topology.interface_id,),
        alarm_name=alarm_name,
    )


@pytest.fixture
def deployment(topology: PairTopology, stack_template: dict[str, Any]) -> LocalDeployment:
    return LocalDeployment.from_template(
        FailoverConfig(pairs=(pair_of(topology),), tuning=TEST_TUNING), stack_template
    )
