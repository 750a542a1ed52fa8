"""Pairs declared by tags (discovery=tags): found at run time, moved by the shared rule's
state-change events, listed with the configured pairs, and never acted on when malformed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from eni_failover.config import FailoverConfig
from eni_failover.discovery import (
    DISCOVERY_TTL_SECONDS,
    MIN_REFRESH_INTERVAL_SECONDS,
    PAIR_TAG,
    ROLE_TAG,
    ROUTES_TAG,
)
from eni_failover.timeline import Clock, SystemClock
from eni_failover_ec2sim import FaithfulEC2, PairTopology, build_pair
from eni_failover_ec2sim.topology import build_address_pair
from eni_failover_emulator.deployment import LocalDeployment
from tests.integration.conftest import TEST_TUNING, pair_of
from tests.integration.test_handler import machine_readable, where_is
from tests.support import sns_event, state_change_message

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import TagTypeDef


def tag(topology: PairTopology, pair: str, *, standby_role: str = "standby") -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    for resource, role in (
        (topology.primary_instance_id, "primary"),
        (topology.standby_instance_id, standby_role),
        (topology.interface_id, "floating"),
    ):
        ec2.create_tags(
            Resources=[resource],
            Tags=[{"Key": PAIR_TAG, "Value": pair}, {"Key": ROLE_TAG, "Value": role}],
        )


@pytest.fixture
def tagged(sim: FaithfulEC2) -> PairTopology:
    built = build_pair(boto3.client("ec2", region_name="us-east-1"), name="proxy", sim=sim)
    tag(built, "proxy")
    return built


def discovering(
    stack_template: dict[str, Any], *pairs: Any, clock: Clock | None = None
) -> LocalDeployment:
    config = FailoverConfig(pairs=tuple(pairs), tuning=TEST_TUNING, discover_tags=True)
    return LocalDeployment.from_template(config, stack_template, clock=clock)


class SecondsLater(SystemClock):
    """Real time plus the seconds a test lets pass without waiting them out, on both
    clocks the function reads (the discovery's cache keeps time by the monotonic one)."""

    def __init__(self) -> None:
        self.passed = 0.0

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self.passed)

    def monotonic(self) -> float:
        return super().monotonic() + self.passed


def test_a_tagged_pair_is_failed_over_by_its_state_change_event(
    tagged: PairTopology, stack_template: dict[str, Any]
) -> None:
    # Given a stack that discovers pairs by tags and configures none
    deployment = discovering(stack_template)
    # When the tagged primary stops and its event arrives through the shared rule
    boto3.client("ec2", region_name="us-east-1").stop_instances(
        InstanceIds=[tagged.primary_instance_id]
    )
    deployment.invoke(
        sns_event(state_change_message(instance_id=tagged.primary_instance_id, state="stopped"))
    )
    # Then the interface is on the tagged standby, and the operators are told once
    assert where_is(tagged)["Attachment"]["InstanceId"] == tagged.standby_instance_id
    [notification] = deployment.notifications()
    facts = machine_readable(notification)
    assert (facts["pair"], facts["outcome"]) == ("proxy", "swapped")


def test_a_pair_tagged_after_the_cache_was_loaded_fails_over_on_its_first_trigger(
    sim: FaithfulEC2, stack_template: dict[str, Any]
) -> None:
    # Given a warm function whose cache of tagged pairs was loaded before the pair existed
    clock = SecondsLater()
    deployment = discovering(stack_template, clock=clock)
    assert deployment.invoke({"action": "pairs"})["pairs"] == []
    # And a pair tagged afterwards, well within the cache's TTL (so only the look that a
    # stranger triggers can find it) and past the floor between two such looks
    late = build_pair(boto3.client("ec2", region_name="us-east-1"), name="late", sim=sim)
    tag(late, "late")
    clock.passed = DISCOVERY_TTL_SECONDS / 2
    assert clock.passed > MIN_REFRESH_INTERVAL_SECONDS
    # When its primary stops and the first trigger about it arrives
    boto3.client("ec2", region_name="us-east-1").stop_instances(
        InstanceIds=[late.primary_instance_id]
    )
    report = deployment.invoke(
        sns_event(
            state_change_message(
                instance_id=late.primary_instance_id, state="stopped", at=clock.now()
            )
        )
    )
    # Then that trigger moves it: nothing was ignored for want of a fresh look at the tags
    assert report["ignored"] == []
    assert where_is(late)["Attachment"]["InstanceId"] == late.standby_instance_id
    [notification] = deployment.notifications()
    facts = machine_readable(notification)
    assert (facts["pair"], facts["outcome"]) == ("late", "swapped")


def test_configured_and_tagged_pairs_are_listed_together(
    sim: FaithfulEC2, tagged: PairTopology, stack_template: dict[str, Any]
) -> None:
    # Given a configured pair beside the tagged one
    configured = build_pair(boto3.client("ec2", region_name="us-east-1"), name="nat", sim=sim)
    deployment = discovering(stack_template, pair_of(configured))
    # When the CLI asks the function for its pairs
    answer = deployment.invoke({"action": "pairs"})
    # Then both are there, each saying where it comes from, and nothing is wrong
    assert [(p["name"], p["source"]) for p in answer["pairs"]] == [
        ("nat", "configured"),
        ("proxy", "tags"),
    ]
    assert answer["tag_problems"] == []


def test_a_malformed_tag_set_is_reported_and_never_acted_on(
    sim: FaithfulEC2, stack_template: dict[str, Any]
) -> None:
    # Given a pair whose "standby" is tagged primary too: two primaries, no standby
    broken = build_pair(boto3.client("ec2", region_name="us-east-1"), name="web", sim=sim)
    tag(broken, "web", standby_role="primary")
    deployment = discovering(stack_template)
    # When its primary stops
    boto3.client("ec2", region_name="us-east-1").stop_instances(
        InstanceIds=[broken.primary_instance_id]
    )
    report = deployment.invoke(
        sns_event(state_change_message(instance_id=broken.primary_instance_id, state="stopped"))
    )
    # Then nothing moves and no one is told of a failover: it is no pair's primary
    assert where_is(broken)["Attachment"]["InstanceId"] == broken.primary_instance_id
    assert deployment.notifications() == []
    assert len(report["ignored"]) == 1
    # And the check and the pair list say what is wrong with the tags
    checked = deployment.invoke({"action": "check"})
    [problem] = [p for p in checked["tag_problems"] if "primary" in p]
    assert "pair web" in problem
    assert deployment.invoke({"action": "pairs"})["pairs"] == []


def test_an_instance_in_no_pair_is_ignored_quietly(
    tagged: PairTopology, stack_template: dict[str, Any]
) -> None:
    # Given the shared rule forwards every instance's stop, a stranger's among them
    deployment = discovering(stack_template)
    report = deployment.invoke(
        sns_event(state_change_message(instance_id="i-0aaaaaaaaaaaaaaaa", state="stopped"))
    )
    # Then it is ignored, nothing is told and nothing is dead-lettered
    assert len(report["ignored"]) == 1
    assert report["dead_lettered"] == []
    assert deployment.notifications() == []
    assert where_is(tagged)["Attachment"]["InstanceId"] == tagged.primary_instance_id


def test_a_pair_of_tagged_route_tables_and_an_elastic_ip_fails_over_across_zones(
    sim: FaithfulEC2, stack_template: dict[str, Any]
) -> None:
    # Given instances in two zones, two route tables and an Elastic IP, all tagged into
    # pair "edge" (no interface floats), and a stack that discovers pairs by tags
    ec2 = boto3.client("ec2", region_name="us-east-1")
    topology = build_address_pair(ec2, name="edge")
    routes = ",".join(topology.route_cidrs)
    for resource, role in (
        (topology.primary_instance_id, "primary"),
        (topology.standby_instance_id, "standby"),
        *((t, "route-table") for t in topology.route_table_ids),
        (topology.allocation_ids[0], "elastic-ip"),
    ):
        tags: list[TagTypeDef] = [
            {"Key": PAIR_TAG, "Value": "edge"},
            {"Key": ROLE_TAG, "Value": role},
        ]
        if role == "route-table":
            tags.append({"Key": ROUTES_TAG, "Value": routes})
        ec2.create_tags(Resources=[resource], Tags=tags)
    deployment = discovering(stack_template)
    # When the tagged primary stops and its event arrives through the shared rule
    ec2.stop_instances(InstanceIds=[topology.primary_instance_id])
    deployment.invoke(
        sns_event(state_change_message(instance_id=topology.primary_instance_id, state="stopped"))
    )
    # Then every route and the Elastic IP point at the standby's interface in the other zone
    sim.settle()
    tables = ec2.describe_route_tables(RouteTableIds=list(topology.route_table_ids))
    assert {
        r.get("NetworkInterfaceId")
        for t in tables["RouteTables"]
        for r in t["Routes"]
        if r.get("DestinationCidrBlock") in topology.route_cidrs
    } == {topology.standby_interface_id}
    [address] = ec2.describe_addresses(AllocationIds=list(topology.allocation_ids))["Addresses"]
    assert address["NetworkInterfaceId"] == topology.standby_interface_id
    # And the operators are told once, with the pair's addresses
    [notification] = deployment.notifications()
    facts = machine_readable(notification)
    assert (facts["pair"], facts["outcome"]) == ("edge", "swapped")
    assert len(facts["addresses"]) == 3
