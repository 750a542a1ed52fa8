"""The sweep looks at every pair each minute in a handful of describes, not three per pair:
a fleet's sweep must leave EC2's request buckets to the failovers. What it finds, it hands
off: one trigger per pair on the trigger topic, each moved by an invocation of its own, so
a wide impairment moves every pair at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3

from eni_failover.config import FailoverConfig
from eni_failover.errors import TriggerInProgress
from eni_failover_ec2sim import FaithfulEC2, PairTopology, build_pair
from eni_failover_emulator.clock import ShiftedClock
from eni_failover_emulator.deployment import LocalDeployment
from tests.faults.conftest import _atomic_dynamodb  # noqa: F401 - autouse: deliveries run at once
from tests.integration.conftest import TEST_TUNING, pair_of
from tests.integration.test_handler import machine_readable, where_is

PAIRS = 12
DESCRIBES = ("DescribeNetworkInterfaces", "DescribeInstances", "DescribeInstanceStatus")
MOVES = ("DetachNetworkInterface", "AttachNetworkInterface")
# Pairs impaired at once in the wide-impairment tests.
IMPAIRED = 6


def fleet(sim: FaithfulEC2, count: int) -> tuple[list[PairTopology], FailoverConfig]:
    """Pairs without a status-check alarm of their own, as tagged pairs are: the sweep is
    what notices their impaired primaries."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    built = [build_pair(ec2, name=f"nat{i}", sim=sim) for i in range(count)]
    pairs = tuple(
        pair_of(topology, name=f"nat-{i}", alarm_name="") for i, topology in enumerate(built)
    )
    return built, FailoverConfig(pairs=pairs, tuning=TEST_TUNING)


def outcomes_of(deployment: LocalDeployment) -> list[dict[str, Any]]:
    """Deliver what the trigger topic holds; every outcome the invocations returned."""
    delivered = deployment.deliver_triggers()
    assert [i.error for i in delivered] == [None] * len(delivered)
    return [o for i in delivered if i.result is not None for o in i.result["outcomes"]]


def test_the_sweep_of_many_pairs_costs_a_few_describes_and_still_finds_the_failed_one(
    sim: FaithfulEC2, stack_template: dict[str, Any]
) -> None:
    # Given a dozen pairs, one of whose primaries stopped with no event reaching the function
    built, config = fleet(sim, PAIRS)
    ec2 = boto3.client("ec2", region_name="us-east-1")
    stopped = built[5]
    ec2.stop_instances(InstanceIds=[stopped.primary_instance_id])
    sim.settle()
    sim.reset_counts()
    # When the sweep looks, two minutes later, and the pair it hands off is delivered
    deployment = LocalDeployment.from_template(
        config, stack_template, clock=ShiftedClock(timedelta(minutes=2))
    )
    answer = deployment.invoke({"action": "sweep"})
    assert [h["pair"] for h in answer["handed_off"]] == ["nat-5"]
    [outcome] = outcomes_of(deployment)
    # Then the failed pair is moved, and only it
    assert (outcome["pair"], outcome["outcome"]) == ("nat-5", "swapped")
    assert where_is(stopped)["Attachment"]["InstanceId"] == stopped.standby_instance_id
    # And looking at all twelve took one describe of each kind, not three per pair: the
    # move's own looks come on top
    assert sim.calls["DescribeInstances"] < PAIRS
    assert sim.calls["DescribeInstanceStatus"] < PAIRS


def test_a_wide_impairment_is_handed_off_pair_by_pair_and_moved_by_one_invocation_each(
    sim: FaithfulEC2, stack_template: dict[str, Any]
) -> None:
    # Given six alarm-less pairs whose primaries all fail their status checks at once (a
    # host or a zone's bad minute), and evaluationPeriods 2
    built, config = fleet(sim, IMPAIRED)
    for topology in built:
        sim.set_status(topology.primary_instance_id, instance="impaired")
    clock = ShiftedClock()
    deployment = LocalDeployment.from_template(config, stack_template, clock=clock)
    sim.reset_counts()

    # When the sweep looks 90 s in, inside the two minutes' tolerance
    clock.advance(90)
    early = deployment.invoke({"action": "sweep"})
    # Then it leaves every pair alone: a check failing for less than evaluationPeriods
    # minutes moves nothing
    assert early["handed_off"] == []
    assert deployment.deliver_triggers() == []

    # When the sweep looks again a minute later, past the tolerance
    clock.advance(60)
    swept = deployment.invoke({"action": "sweep"})
    # Then that one invocation hands every pair off, one trigger each, and moves none itself
    names = [p.name for p in config.pairs]
    assert [h["pair"] for h in swept["handed_off"]] == names
    assert len({h["trigger"] for h in swept["handed_off"]}) == IMPAIRED
    assert swept["outcomes"] == []
    assert swept["dead_lettered"] == []
    assert all(sim.calls[move] == 0 for move in MOVES)
    # And tells the operators nothing: the outcome is each pair's own invocation's to tell
    assert deployment.notifications() == []

    # When SNS delivers the triggers, each to an invocation of its own, all at once
    outcomes = outcomes_of(deployment)
    # Then each pair is on its standby, moved once, under its sweep trigger
    assert sorted((o["pair"], o["outcome"]) for o in outcomes) == [(n, "swapped") for n in names]
    for topology in built:
        assert where_is(topology)["Attachment"]["InstanceId"] == topology.standby_instance_id
    assert sim.calls["DetachNetworkInterface"] == sim.calls["AttachNetworkInterface"] == IMPAIRED
    # And the operators got exactly one outcome per pair, saying the sweep found it
    told = [machine_readable(n) for n in deployment.notifications()]
    assert sorted(t["pair"] for t in told) == names
    assert {t["trigger"]["kind"] for t in told} == {"sweep"}
    assert {t["trigger"]["id"] for t in told} == {h["trigger"] for h in swept["handed_off"]}


def test_a_failure_found_by_two_sweeps_before_its_trigger_is_handled_moves_and_tells_once(
    sim: FaithfulEC2, stack_template: dict[str, Any]
) -> None:
    # Given impaired primaries past the tolerance, and SNS slow enough that the next
    # minute's sweep finds them still holding their interfaces
    built, config = fleet(sim, 2)
    for topology in built:
        sim.set_status(topology.primary_instance_id, instance="impaired")
    clock = ShiftedClock(timedelta(minutes=3))
    deployment = LocalDeployment.from_template(config, stack_template, clock=clock)
    sim.reset_counts()
    first = deployment.invoke({"action": "sweep"})
    clock.advance(60)
    second = deployment.invoke({"action": "sweep"})
    # Then both sweeps name each failure with the same trigger
    assert first["handed_off"] == second["handed_off"]
    # When the four deliveries arrive at once
    delivered = deployment.deliver_triggers()
    # Then each pair moved once, and the duplicate was absorbed: replayed, or told to come
    # back later (Lambda retries it, and it replays)
    assert all(isinstance(i.error, TriggerInProgress) for i in delivered if i.error is not None)
    for topology in built:
        assert where_is(topology)["Attachment"]["InstanceId"] == topology.standby_instance_id
    assert sim.calls["DetachNetworkInterface"] == sim.calls["AttachNetworkInterface"] == 2
    told = [machine_readable(n) for n in deployment.notifications()]
    assert sorted((t["pair"], t["outcome"]) for t in told) == [
        ("nat-0", "swapped"),
        ("nat-1", "swapped"),
    ]


def test_a_hand_off_sns_refuses_is_dead_lettered_and_reported_never_dropped(
    sim: FaithfulEC2, stack_template: dict[str, Any]
) -> None:
    # Given a pair whose primary stopped with no event, and a trigger topic SNS refuses
    built, config = fleet(sim, 1)
    [topology] = built
    boto3.client("ec2", region_name="us-east-1").stop_instances(
        InstanceIds=[topology.primary_instance_id]
    )
    sim.settle()
    deployment = LocalDeployment.from_template(
        config, stack_template, clock=ShiftedClock(timedelta(minutes=2))
    )
    deployment.clients.sns.delete_topic(TopicArn=deployment.resources.trigger_topic_arn)
    # When the sweep finds the failure
    answer = deployment.invoke({"action": "sweep"})
    # Then its summary says the pair was not handed off, and why
    assert answer["handed_off"] == []
    [problem] = answer["dead_lettered"]
    assert "could not hand off pair nat-0" in problem
    assert "the next sweep tries again" in problem
    # And the dead-letter queue (whose alarm tells the operators) keeps the trigger itself
    [kept] = deployment.dead_letters()
    assert kept["reason"] == problem
    assert kept["record"]["detail"]["pair"] == "nat-0"
    assert kept["record"]["source"] == "eni-failover.sweep"
    # And nothing moved behind anyone's back
    assert where_is(topology)["Attachment"]["InstanceId"] == topology.primary_instance_id
