"""A readiness check of many pairs is paced, so its DryRuns never empty the Attach and Detach
request buckets a real failover needs (nor ReplaceRoute's and AssociateAddress's); what does
not fit waits for the next run."""

from __future__ import annotations

from typing import Any

import boto3

from eni_failover.config import FailoverConfig, Pair
from eni_failover.operations import (
    READINESS_PACE_SECONDS,
    READINESS_RESERVE_SECONDS,
    READINESS_UNPACED_PAIRS,
)
from eni_failover_ec2sim import FaithfulEC2, build_pair
from eni_failover_ec2sim.topology import build_address_pair
from eni_failover_emulator.deployment import FakeLambdaContext, LocalDeployment
from tests.integration.conftest import TEST_TUNING, pair_of
from tests.support import FakeClock


def test_a_check_of_many_pairs_is_paced_and_postpones_what_does_not_fit(
    sim: FaithfulEC2, stack_template: dict[str, Any]
) -> None:
    # Given more pairs than are checked unpaced
    ec2 = boto3.client("ec2", region_name="us-east-1")
    count = READINESS_UNPACED_PAIRS + 2
    pairs = tuple(
        pair_of(build_pair(ec2, name=f"nat{i}", sim=sim), name=f"nat-{i}") for i in range(count)
    )
    clock = FakeClock()
    deployment = LocalDeployment.from_template(
        FailoverConfig(pairs=pairs, tuning=TEST_TUNING), stack_template, clock=clock
    )
    # When the scheduled check runs with time for one paced pair beyond the unpaced ones
    remaining = READINESS_RESERVE_SECONDS + READINESS_PACE_SECONDS * 1.5
    answer = deployment.invoke(
        {"action": "check", "scheduled": True}, FakeLambdaContext(remaining_seconds=remaining)
    )
    # Then the first pairs are checked at once, the next after one pause, and the last
    # waits for the next run (named, so the operator knows)
    checked = [c["pair"] for c in answer["checks"]]
    assert checked == [p.name for p in pairs[: READINESS_UNPACED_PAIRS + 1]]
    assert clock.slept == [READINESS_PACE_SECONDS]
    assert answer["postponed"] == [pairs[-1].name]
    # And the next run starts with the pair checked longest ago: the one never checked
    clock.ticks += 3600
    again = deployment.invoke(
        {"action": "check", "scheduled": True}, FakeLambdaContext(remaining_seconds=remaining)
    )
    assert again["checks"][0]["pair"] == pairs[-1].name


def test_a_pair_with_many_route_tables_and_elastic_ips_waits_longer(
    sim: FaithfulEC2, stack_template: dict[str, Any]
) -> None:
    # Given more pairs than are checked unpaced, the last listing four route tables and
    # two Elastic IPs: six DryRuns (ReplaceRoute, AssociateAddress) where an interface
    # pair makes two (its detach and attach)
    ec2 = boto3.client("ec2", region_name="us-east-1")
    topology = build_address_pair(ec2, route_tables=0, elastic_ips=0)

    def pair(index: int, tables: int, eips: int) -> Pair:
        return Pair(
            name=f"edge-{index}",
            primary_instance_id=topology.primary_instance_id,
            standby_instance_id=topology.standby_instance_id,
            route_table_ids=tuple(f"rtb-{index:08x}{t:09x}" for t in range(tables)),
            route_cidrs=("10.9.0.10/32",) if tables else (),
            eip_allocation_ids=tuple(f"eipalloc-{index:08x}{e:09x}" for e in range(eips)),
        )

    pairs = (
        *(pair(i, 1, 0) for i in range(READINESS_UNPACED_PAIRS + 1)),
        pair(READINESS_UNPACED_PAIRS + 1, 4, 2),
    )
    clock = FakeClock()
    deployment = LocalDeployment.from_template(
        FailoverConfig(pairs=pairs, tuning=TEST_TUNING), stack_template, clock=clock
    )
    # When the scheduled check runs with time to spare
    answer = deployment.invoke(
        {"action": "check", "scheduled": True}, FakeLambdaContext(remaining_seconds=600)
    )
    # Then a pair of one route table is paced as an interface pair, and the last waits
    # three paces: one for each two of its DryRuns
    assert [c["pair"] for c in answer["checks"]] == [p.name for p in pairs]
    assert clock.slept == [READINESS_PACE_SECONDS, READINESS_PACE_SECONDS * 3]
