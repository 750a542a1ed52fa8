"""The sweep looks at every pair each minute in a handful of describes, not three per pair:
a fleet's sweep must leave EC2's request buckets to the failovers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3

from ec2sim import FaithfulEC2, build_pair
from emulator.clock import ShiftedClock
from emulator.deployment import LocalDeployment
from eni_failover.config import FailoverConfig
from tests.integration.conftest import TEST_TUNING, pair_of
from tests.integration.test_handler import where_is

PAIRS = 12
DESCRIBES = ("DescribeNetworkInterfaces", "DescribeInstances", "DescribeInstanceStatus")


def test_the_sweep_of_many_pairs_costs_a_few_describes_and_still_finds_the_failed_one(
    sim: FaithfulEC2, stack_template: dict[str, Any]
) -> None:
    # Given a dozen pairs, one of whose primaries stopped with no event reaching the function
    ec2 = boto3.client("ec2", region_name="us-east-1")
    built = [build_pair(ec2, name=f"nat{i}", sim=sim) for i in range(PAIRS)]
    pairs = tuple(pair_of(topology, name=f"nat-{i}") for i, topology in enumerate(built))
    stopped = built[5]
    ec2.stop_instances(InstanceIds=[stopped.primary_instance_id])
    sim.settle()
    sim.reset_counts()
    # When the sweep looks, two minutes later
    deployment = LocalDeployment.from_template(
        FailoverConfig(pairs=pairs, tuning=TEST_TUNING),
        stack_template,
        clock=ShiftedClock(timedelta(minutes=2)),
    )
    answer = deployment.invoke({"action": "sweep"})
    # Then the failed pair is moved, and only it
    [outcome] = answer["outcomes"]
    assert (outcome["pair"], outcome["outcome"]) == ("nat-5", "swapped")
    assert where_is(stopped)["Attachment"]["InstanceId"] == stopped.standby_instance_id
    # And looking at all twelve took one describe of each kind, not three per pair: the
    # move's own looks come on top
    assert sim.calls["DescribeInstances"] < PAIRS
    assert sim.calls["DescribeInstanceStatus"] < PAIRS
