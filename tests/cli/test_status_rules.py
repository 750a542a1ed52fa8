"""`status` and `pause` name the state-change rule that really lists each pair's primary.

A fleet's primaries are split across several rules (eni_failover_cdk/triggers.py `state_rules`: the
first named STACK-instance-state, the others by CloudFormation); a stack of tagged pairs has
one rule for every instance. The rules are laid out here in EventBridge (moto) as the stack
deploys them (tests/infra/test_scale_limits.py pins that layout), beside the pairs' real
instances and interfaces (ec2sim), in the package's sandbox beside its own stack.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from eni_failover.clients import AwsClients
from eni_failover_cli import status
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.outputs import StackOutputs
from eni_failover_cli.pause import triggers
from eni_failover_ec2sim import PairTopology, build_pair
from eni_failover_emulator.endpoint import fake_session
from tests.cli.conftest import RunningSandbox
from tests.faults.unreachable import FOR_GOOD, NoAnswer

# Not the sandbox's stack: this test's rules and topic sit beside the sandbox's.
STACK = "Fleet"
FIRST_RULE = f"{STACK}-instance-state"
# A name as CloudFormation makes one for a rule the stack leaves unnamed.
SECOND_RULE = f"{STACK}-TriggersPrimaryStateRule2-1X2Y3Z4W5V6U"
ALARM_RULE = f"{STACK}-alarm-state"
READINESS_RULE = f"{STACK}-readiness"
# Sorts before the others: a rule listed first by name must not hide an enabled one.
CATCH_ALL_RULE = f"{STACK}-AAA-every-instance"
FAILURE_STATES = ["stopping", "stopped", "shutting-down", "terminated"]
UNCOVERED = "no state-change rule covers this primary: its stop will not be noticed until the sweep"


def state_change_pattern(primaries: list[str] | None) -> str:
    detail: dict[str, Any] = {"state": FAILURE_STATES}
    if primaries is not None:
        detail = {"instance-id": primaries, **detail}
    return json.dumps(
        {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Instance State-change Notification"],
            "detail": detail,
        }
    )


class _Pairs:
    """The function as `status` asks it: only for its list of pairs."""

    name = "eni-failover"

    def __init__(self, pairs: list[dict[str, Any]]) -> None:
        self.pairs = pairs

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        assert request == {"action": "pairs"}
        return {"pairs": self.pairs, "tag_problems": []}


@dataclass
class Fleet:
    deployment: Deployment
    first: PairTopology  # its primary is in the first rule
    second: PairTopology  # its primary is in the second rule
    events: Any

    def put_rule(self, name: str, primaries: list[str] | None) -> None:
        """A state-change rule on the trigger topic, as the stack deploys one."""
        self.events.put_rule(Name=name, EventPattern=state_change_pattern(primaries))
        self.events.put_targets(
            Rule=name,
            Targets=[{"Id": "Target0", "Arn": self.deployment.outputs.trigger_topic_arn}],
        )

    def remove_rule(self, name: str) -> None:
        """Gone from EventBridge, if it was there."""
        if name not in {r.get("Name") for r in self.events.list_rules(NamePrefix=name)["Rules"]}:
            return
        targets = self.events.list_targets_by_rule(Rule=name)["Targets"]
        if targets:
            self.events.remove_targets(Rule=name, Ids=[t["Id"] for t in targets])
        self.events.delete_rule(Name=name)

    def status(self) -> dict[str, dict[str, Any]]:
        return {p["pair"]: p for p in status.collect(self.deployment, None)["pairs"]}

    def text(self) -> str:
        return status.describe(status.collect(self.deployment, None))


def pair_blocks(text: str) -> dict[str, str]:
    """Status text by pair: "Pair db" -> its lines."""
    return {block.split(":")[0]: block for block in text.split("\n\n")}


def _pair(name: str, topology: PairTopology) -> dict[str, Any]:
    return {
        "name": name,
        "primary_instance_id": topology.primary_instance_id,
        "standby_instance_id": topology.standby_instance_id,
        "interface_ids": [topology.interface_id],
        "alarm_name": f"{STACK}-{name}-primary-status",
    }


@pytest.fixture(scope="module")
def fleet_pairs(running: RunningSandbox) -> Iterator[tuple[PairTopology, PairTopology]]:
    """Two pairs' instances and interfaces in the package's sandbox, built once."""
    clients = running.sandbox.clients
    first = build_pair(clients.ec2, name="web", sim=running.sandbox.sim)
    second = build_pair(clients.ec2, name="db", sim=running.sandbox.sim)
    yield first, second
    clients.ec2.terminate_instances(
        InstanceIds=[
            i
            for pair in (first, second)
            for i in (pair.primary_instance_id, pair.standby_instance_id)
        ]
    )


@pytest.fixture
def fleet(
    running: RunningSandbox, fleet_pairs: tuple[PairTopology, PairTopology]
) -> Iterator[Fleet]:
    """A stack of its own (not the sandbox's: its rules and topic are this test's), whose
    pair web has its primary in the first state-change rule and db in the second."""
    first, second = fleet_pairs
    clients = running.sandbox.clients
    topic = clients.sns.create_topic(Name="Fleet-triggers")["TopicArn"]
    outputs = StackOutputs(
        stack_name=STACK,
        function_name="eni-failover",
        trigger_topic_arn=topic,
        notification_topic_arn=topic,
        state_table_name=running.table,
        dead_letter_queue_url=running.sandbox.info.outputs["DeadLetterQueueUrl"],
        state_rule_name=FIRST_RULE,
    )
    deployment = Deployment(
        outputs=outputs,
        clients=clients,
        function=_Pairs([_pair("web", first), _pair("db", second)]),
        where="a fleet",
    )
    built = Fleet(deployment, first, second, clients.events)
    # The first rule full of other primaries and web's; db's primary in the second rule
    others = [f"i-{n:017x}" for n in range(84)]
    built.put_rule(FIRST_RULE, [*others, first.primary_instance_id])
    built.put_rule(SECOND_RULE, [second.primary_instance_id])
    # And rules of the stack that are no state-change rules: the alarms' rule on the same
    # topic, and the readiness schedule elsewhere
    built.events.put_rule(
        Name=ALARM_RULE,
        EventPattern=json.dumps(
            {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}
        ),
    )
    built.events.put_targets(Rule=ALARM_RULE, Targets=[{"Id": "Target0", "Arn": topic}])
    built.events.put_rule(Name=READINESS_RULE, ScheduleExpression="rate(1 day)")
    yield built
    for name in (FIRST_RULE, SECOND_RULE, ALARM_RULE, READINESS_RULE):
        built.remove_rule(name)
    clients.sns.delete_topic(TopicArn=topic)


def test_a_pair_in_the_second_rule_shows_that_rule(fleet: Fleet) -> None:
    # Given a fleet whose pair db has its primary in the stack's second state-change rule
    # When the operator asks for the status
    pairs = fleet.status()
    # Then each pair shows the rule that lists its primary, with its state
    assert (pairs["db"]["rule"]["name"], pairs["db"]["rule"]["state"]) == (SECOND_RULE, "ENABLED")
    assert (pairs["web"]["rule"]["name"], pairs["web"]["rule"]["state"]) == (FIRST_RULE, "ENABLED")
    assert [r["name"] for r in pairs["db"]["rules"]] == [SECOND_RULE]
    blocks = pair_blocks(fleet.text())
    assert re.search(rf"rule\s+{SECOND_RULE}\s+ENABLED", blocks["Pair db"])
    assert re.search(rf"rule\s+{FIRST_RULE}\s+ENABLED", blocks["Pair web"])


def test_disabling_the_second_rule_shows_on_its_pair_only(fleet: Fleet) -> None:
    # Given the second rule was disabled (by hand, or a half-done change)
    fleet.events.disable_rule(Name=SECOND_RULE)
    # When the operator asks for the status
    pairs = fleet.status()
    # Then the pair of that rule shows it disabled, and its state-change triggers lost
    assert pairs["db"]["rule"]["state"] == "DISABLED"
    assert pairs["db"]["automation"]["rule_enabled"] is False
    # And the pair of the first rule still shows its own rule enabled
    assert pairs["web"]["rule"]["state"] == "ENABLED"
    assert pairs["web"]["automation"]["rule_enabled"] is True
    blocks = pair_blocks(fleet.text())
    assert re.search(rf"rule\s+{SECOND_RULE}\s+DISABLED", blocks["Pair db"])
    assert "its state-change rule is DISABLED" in blocks["Pair db"]
    assert "DISABLED" not in blocks["Pair web"]


def test_a_primary_in_no_rule_is_said_plainly(fleet: Fleet) -> None:
    # Given db's primary was left out of every rule (its rule deleted by hand)
    fleet.remove_rule(SECOND_RULE)
    # When the operator asks for the status
    pairs = fleet.status()
    # Then the pair says that its stop waits for the sweep, and no rule is named
    assert pairs["db"]["rule"]["name"] is None
    assert pairs["db"]["rules"] == []
    blocks = pair_blocks(fleet.text())
    assert re.search(rf"rule\s+none\s+{UNCOVERED}", blocks["Pair db"])
    assert UNCOVERED not in blocks["Pair web"]
    # And pause's announcement says so too
    db = fleet.deployment.pair("db")
    assert triggers(fleet.deployment, db) == f"the alarm {db.alarm_name} ({UNCOVERED})"


def test_a_tags_stack_shows_its_rule_for_every_instance(fleet: Fleet) -> None:
    # Given a stack that discovers pairs by tags: one rule, for every instance
    for name in (FIRST_RULE, SECOND_RULE):
        fleet.remove_rule(name)
    fleet.put_rule(FIRST_RULE, None)
    # Then every pair shows that rule
    pairs = fleet.status()
    assert {p["rule"]["name"] for p in pairs.values()} == {FIRST_RULE}
    assert {p["rule"]["covers"] for p in pairs.values()} == {"every instance"}


def test_pause_names_the_rule_that_lists_the_primary(fleet: Fleet) -> None:
    db, web = fleet.deployment.pair("db"), fleet.deployment.pair("web")
    assert triggers(fleet.deployment, db) == (
        f"the alarm {db.alarm_name} and the state changes of rule {SECOND_RULE}"
    )
    assert triggers(fleet.deployment, web) == (
        f"the alarm {web.alarm_name} and the state changes of rule {FIRST_RULE}"
    )


def test_the_rules_are_read_once_for_every_pair(fleet: Fleet) -> None:
    # Given EventBridge's requests counted as the command makes them
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls.update([model.name])

    hooks = fleet.deployment.clients.events.meta.events
    hooks.register("before-call.events.*", count)
    # When status looks at both pairs
    try:
        fleet.status()
    finally:
        hooks.unregister("before-call.events.*", count)  # the sandbox's clients are shared
    # Then it listed the topic's rules once, and described each once: not once per pair
    assert calls["ListRuleNamesByTarget"] == 1
    assert calls["DescribeRule"] == 3  # two state-change rules, the alarms' rule


def test_a_primary_in_two_rules_shows_the_one_that_still_sends(fleet: Fleet) -> None:
    # Given web's primary also in a rule for every instance (say, while a stack moves to
    # tags), and that rule disabled
    fleet.put_rule(CATCH_ALL_RULE, None)
    fleet.events.disable_rule(Name=CATCH_ALL_RULE)
    try:
        pairs = fleet.status()
    finally:
        fleet.remove_rule(CATCH_ALL_RULE)
    # Then web shows the enabled rule, which still brings its stop, and lists both
    assert (pairs["web"]["rule"]["name"], pairs["web"]["rule"]["state"]) == (FIRST_RULE, "ENABLED")
    assert pairs["web"]["automation"]["rule_enabled"] is True
    assert {(r["name"], r["state"]) for r in pairs["web"]["rules"]} == {
        (FIRST_RULE, "ENABLED"),
        (CATCH_ALL_RULE, "DISABLED"),
    }


def test_rules_that_cannot_be_read_show_as_unknown(running: RunningSandbox, fleet: Fleet) -> None:
    # Given EventBridge does not answer the operator (clients of their own: no retries)
    sandbox = running.sandbox
    clients = AwsClients(
        fake_session(sandbox.info.region),
        region=sandbox.info.region,
        endpoint_url=sandbox.endpoint,
        max_attempts=1,
    )
    NoAnswer(clients.events, "ListRuleNamesByTarget", EndpointConnectionError, times=FOR_GOOD)
    fleet.deployment = replace(fleet.deployment, clients=clients)
    # When the operator asks for the status
    pairs = fleet.status()
    # Then each pair's rule is unknown, with the reason, and no rule is named as its own
    for pair in pairs.values():
        assert pair["rule"]["name"] is None
        assert pair["rule"]["error"].startswith("cannot list the state-change rules: ")
        assert pair["automation"]["rule_enabled"] is None
    assert re.search(r"rule\s+none\s+unknown: cannot list", pair_blocks(fleet.text())["Pair db"])
    # And pause's announcement names no rule it could not read
    db = fleet.deployment.pair("db")
    assert triggers(fleet.deployment, db) == (
        f"the alarm {db.alarm_name} and the state changes of the stack's state-change rules"
    )
