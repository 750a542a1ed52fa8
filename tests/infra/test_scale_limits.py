"""A stack at the sizes that break a deploy: 60 trigger alarms synthesize into rules and
policies that each fit EventBridge's and IAM's limits, and the app refuses, at synth, a
template whose pattern or policy would not fit (so a later change cannot regress silently).

Lengths are measured as the services count them once deployed: the pattern's JSON, and the
policy's JSON without whitespace, with the partition, Region and account ID at their
longest and every other reference as a long resource name or ARN.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam

from app import build_app
from eni_failover_cdk.stack import EniFailoverStack
from tests.infra.conftest import (
    SINGLE_PAIR_CONTEXT,
    Synthesized,
    as_list,
    cdk_json_context,
    render,
    synthesize,
)

EVENT_PATTERN_LIMIT = 2048
POLICY_LIMIT = 6144
ROLE_INLINE_LIMIT = 10240
MANAGED_POLICIES_PER_ROLE = 10
# What a reference can stand for at its longest once deployed.
LONGEST = {
    "${AWS::Partition}": "aws-iso-b",
    "${AWS::Region}": "ap-southeast-7xx",
    "${AWS::AccountId}": "123456789012",
    "${AWS::URLSuffix}": "amazonaws.com.cn",
}
LONG_REFERENCE = "x" * 256
ALARM_ARN = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
# 60 alarms of realistic names over four pairs: the count that cannot deploy today.
ALARM_COUNT = 60


def alarm_names(pair: str, count: int) -> list[str]:
    return [f"{pair}-checkout-service-{n:02d}-unhealthy-host-count" for n in range(count)]


PAIRS: list[dict[str, Any]] = [
    {
        "name": name,
        "primaryInstanceId": f"i-0{digit * 15}1",
        "standbyInstanceId": f"i-0{digit * 15}2",
        "eniIds": [f"eni-0{digit * 15}3"],
        "triggerAlarms": alarm_names(name, ALARM_COUNT // 4),
    }
    for name, digit in (("web", "a"), ("api", "b"), ("db", "c"), ("cache", "d"))
]
ALL_ALARMS = [name for pair in PAIRS for name in pair["triggerAlarms"]]


def longest(value: Any) -> str:
    """The value as JSON without whitespace, every reference at its longest."""
    text = json.dumps(_rendered(value), separators=(",", ":"))
    for reference, at_longest in LONGEST.items():
        text = text.replace(reference, at_longest)
    return re.sub(r"\$\{[^}]+\}", LONG_REFERENCE, text)


def _rendered(value: Any) -> Any:
    value = render(value)
    if isinstance(value, dict):
        return {k: _rendered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rendered(v) for v in value]
    return value


@pytest.fixture(scope="module")
def sixty_alarms(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    # synthesize() runs app.py's checks, cdk-nag included: it raises on any finding
    return synthesize(
        {"pairs": PAIRS, "notifyEmail": "ops@example.com"}, tmp_path_factory.mktemp("sixty")
    )


def test_sixty_trigger_alarms_synthesize_into_patterns_that_fit_eventbridge(
    sixty_alarms: Synthesized,
) -> None:
    # Given a stack whose pairs name 60 trigger alarms
    assert len(ALL_ALARMS) == ALARM_COUNT
    rules = sixty_alarms.of_type("AWS::Events::Rule").values()
    patterns = [r["Properties"]["EventPattern"] for r in rules if "EventPattern" in r["Properties"]]
    # Then every event pattern of the stack fits EventBridge's default quota
    for pattern in patterns:
        assert len(longest(pattern)) <= EVENT_PATTERN_LIMIT, longest(pattern)
    # And the alarm rules together match exactly the 60 alarms, each in one rule
    alarm_patterns = [p for p in patterns if p.get("source") == ["aws.cloudwatch"]]
    assert len(alarm_patterns) > 1
    routed = [render(arn) for p in alarm_patterns for arn in p["resources"]]
    assert routed == [ALARM_ARN + name for name in ALL_ALARMS]
    # And every one of them matches changes to ALARM only, and publishes to the trigger topic
    topic = sixty_alarms.ref(sixty_alarms.stack.triggers.topic)
    for rule in rules:
        if rule["Properties"].get("EventPattern", {}).get("source") == ["aws.cloudwatch"]:
            assert rule["Properties"]["EventPattern"]["detail"] == {"state": {"value": ["ALARM"]}}
            assert [t["Arn"] for t in rule["Properties"]["Targets"]] == [topic]


def test_every_rule_may_publish_to_the_trigger_topic_by_its_own_arn(
    sixty_alarms: Synthesized,
) -> None:
    # Given the alarm rules and the trigger topic's policy
    stack = sixty_alarms.stack
    assert stack.alarm_triggers is not None
    topic = sixty_alarms.ref(stack.triggers.topic)
    allowed = [
        s["Condition"]["ArnEquals"]["aws:SourceArn"]
        for p in sixty_alarms.of_type("AWS::SNS::TopicPolicy").values()
        if topic in p["Properties"]["Topics"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    # Then each rule is allowed by its ARN: none of them is left unable to publish
    for rule in stack.alarm_triggers.rules:
        assert sixty_alarms.arn(rule) in allowed


def test_sixty_trigger_alarms_synthesize_into_policies_that_fit_iam(
    sixty_alarms: Synthesized,
) -> None:
    # Given the stack's identity policies, inline and managed
    documents = {
        logical_id: resource["Properties"]
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for logical_id, resource in sixty_alarms.of_type(kind).items()
    }
    # Then each fits IAM's 6,144 characters, whitespace excluded
    for logical_id, properties in documents.items():
        size = len(longest(properties["PolicyDocument"]))
        assert size <= POLICY_LIMIT, f"{logical_id}: {size}"
    # And no role gets more managed policies than IAM attaches by default, nor more
    # inline characters than a role holds
    for role_id in sixty_alarms.of_type("AWS::IAM::Role"):
        role = {"Ref": role_id}
        managed = [
            p
            for logical_id, p in documents.items()
            if sixty_alarms.resources[logical_id]["Type"] == "AWS::IAM::ManagedPolicy"
            and role in p.get("Roles", [])
        ]
        inline = [
            len(longest(p["PolicyDocument"]))
            for logical_id, p in documents.items()
            if sixty_alarms.resources[logical_id]["Type"] == "AWS::IAM::Policy"
            and role in p.get("Roles", [])
        ]
        arns = sixty_alarms.resources[role_id]["Properties"].get("ManagedPolicyArns", [])
        assert len(managed) + len(arns) <= MANAGED_POLICIES_PER_ROLE, role_id
        assert sum(inline) <= ROLE_INLINE_LIMIT, role_id


def test_the_function_describes_exactly_the_sixty_alarms(sixty_alarms: Synthesized) -> None:
    # Given every statement of the failover role that grants a CloudWatch action
    role = sixty_alarms.ref(sixty_alarms.stack.failover.role)
    statements = [
        s
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for p in sixty_alarms.of_type(kind).values()
        if role in p["Properties"].get("Roles", [])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if any(a.startswith("cloudwatch:") for a in as_list(s["Action"]))
    ]
    # Then DescribeAlarms is granted on the 60 alarms' ARNs, each once, never on "*"
    assert {a for s in statements for a in as_list(s["Action"])} == {"cloudwatch:DescribeAlarms"}
    described = [render(r) for s in statements for r in as_list(s["Resource"])]
    assert described == [ALARM_ARN + name for name in ALL_ALARMS]
    # And the function waits for those policies: its first trigger must not race them
    function_id = sixty_alarms.logical_id(sixty_alarms.stack.failover.function)
    depends = sixty_alarms.resources[function_id].get("DependsOn", [])
    holders = [
        logical_id
        for logical_id, p in sixty_alarms.of_type("AWS::IAM::ManagedPolicy").items()
        if any(
            "cloudwatch:DescribeAlarms" in as_list(s["Action"])
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    assert holders
    assert set(holders) <= set(depends)


# --- the app refuses what would not deploy -------------------------------------------------


def stack_with(tmp_path: Path) -> tuple[cdk.App, EniFailoverStack]:
    app = cdk.App(outdir=str(tmp_path), context={**cdk_json_context(), **SINGLE_PAIR_CONTEXT})
    return app, build_app(app)


def log_groups_statement(stack: cdk.Stack, *, prefix: str, count: int) -> iam.PolicyStatement:
    """A statement naming `count` log groups: policy text of a known, growing length."""
    return iam.PolicyStatement(
        actions=["logs:PutLogEvents"],
        resources=[
            stack.format_arn(service="logs", resource="log-group", resource_name=f"{prefix}{k:04d}")
            for k in range(count)
        ],
    )


def test_synth_refuses_an_event_pattern_longer_than_eventbridge_takes(tmp_path: Path) -> None:
    # Given the stack, and a rule added to it whose pattern names 100 instances
    app, stack = stack_with(tmp_path)
    instances = [f"i-{n:017x}" for n in range(100)]
    events.Rule(
        stack,
        "TooWideRule",
        event_pattern=events.EventPattern(source=["aws.ec2"], detail={"instance-id": instances}),
    )
    # When it is synthesized
    with pytest.raises(Exception) as refused:  # noqa: PT011 - jsii raises a plain RuntimeError
        app.synth()
    # Then synth stops, naming the rule, its length and EventBridge's limit
    message = str(refused.value)
    assert "EniFailover/TooWideRule" in message
    assert "event pattern" in message
    assert "2,048" in message


def test_synth_refuses_a_policy_longer_than_iam_takes(tmp_path: Path) -> None:
    # Given the stack, and a managed policy added to it that names 200 log groups
    app, stack = stack_with(tmp_path)
    iam.ManagedPolicy(
        stack,
        "TooLongPolicy",
        statements=[log_groups_statement(stack, prefix="g", count=200)],
    )
    # When it is synthesized
    with pytest.raises(Exception) as refused:  # noqa: PT011 - jsii raises a plain RuntimeError
        app.synth()
    # Then synth stops, naming the policy and IAM's limit
    message = str(refused.value)
    assert "EniFailover/TooLongPolicy" in message
    assert "6,144" in message


def test_synth_refuses_more_managed_policies_on_a_role_than_iam_attaches(tmp_path: Path) -> None:
    # Given the stack, and eleven more managed policies on the failover function's role
    app, stack = stack_with(tmp_path)
    role = stack.failover.role
    for n in range(MANAGED_POLICIES_PER_ROLE + 1):
        iam.ManagedPolicy(
            stack,
            f"Extra{n}",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["sqs:GetQueueUrl"],
                    resources=[stack.format_arn(service="sqs", resource=f"queue-{n}")],
                )
            ],
        )
    # When it is synthesized
    with pytest.raises(Exception) as refused:  # noqa: PT011 - jsii raises a plain RuntimeError
        app.synth()
    # Then synth stops, naming the role and IAM's quota
    message = str(refused.value)
    assert "EniFailover/Default/Failover/Role" in message
    assert "managed policies" in message


# --- state-change rules: the configured primaries only ---------------------------------------

STATE_CHANGE = {
    "source": ["aws.ec2"],
    "detail-type": ["EC2 Instance State-change Notification"],
}
FAILURE_STATES = ["stopping", "stopped", "shutting-down", "terminated"]


def state_rules(synth: Synthesized) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in synth.of_type("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.ec2"]
    ]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    pairs = [
        {
            "name": f"pair-{n:03d}",
            "primaryInstanceId": f"i-{2 * n:017x}",
            "standbyInstanceId": f"i-{2 * n + 1:017x}",
            "eniIds": [f"eni-{n:017x}"],
        }
        for n in range(200)
    ]
    return synthesize(
        {"pairs": pairs, "notifyEmail": "ops@example.com"}, tmp_path_factory.mktemp("fleet")
    )


def test_200_configured_primaries_are_filtered_by_instance_id_in_rules_that_fit(
    fleet: Synthesized,
) -> None:
    # Given 200 configured pairs
    rules = state_rules(fleet)
    # Then their state changes come through several rules, each filtered by instance ID,
    # each pattern within EventBridge's 2,048 characters
    assert len(rules) > 1
    for rule in rules:
        pattern = rule["EventPattern"]
        assert {k: pattern[k] for k in STATE_CHANGE} == STATE_CHANGE
        assert pattern["detail"]["state"] == FAILURE_STATES
        assert len(longest(pattern)) <= EVENT_PATTERN_LIMIT
    # And together they name exactly the 200 primaries, each once: no standby, no other
    # instance, and no primary left out
    listed = [i for rule in rules for i in rule["EventPattern"]["detail"]["instance-id"]]
    assert sorted(listed) == sorted(f"i-{2 * n:017x}" for n in range(200))
    assert len(listed) == len(set(listed))
    # And each publishes to the trigger topic, which lets it by its own ARN; the first keeps
    # the stack's rule name (the CLI shows it)
    topic = fleet.ref(fleet.stack.triggers.topic)
    assert all([t["Arn"] for t in rule["Targets"]] == [topic] for rule in rules)
    assert [r.get("Name") for r in rules].count("EniFailover-instance-state") == 1
    assert len(fleet.stack.triggers.state_rules) == len(rules)


def test_tagged_pairs_keep_one_rule_for_every_instance(tmp_path: Path) -> None:
    # Given a stack that also protects pairs declared by tags, unknown at deploy
    synth = synthesize({**SINGLE_PAIR_CONTEXT, "discovery": "tags"}, tmp_path)
    # Then one rule matches every instance's failure states, the configured primary's
    # included: the function keeps the pairs' primaries and drops the rest
    (rule,) = state_rules(synth)
    assert rule["Name"] == "EniFailover-instance-state"
    assert rule["EventPattern"] == {**STATE_CHANGE, "detail": {"state": FAILURE_STATES}}


def test_synth_refuses_inline_policies_longer_than_a_role_holds(tmp_path: Path) -> None:
    # Given the stack, and two inline policies on the failover role, each within 6,144
    # characters but together over the 10,240 a role's inline policies share
    app, stack = stack_with(tmp_path)
    role = stack.failover.role
    for n in range(2):
        iam.Policy(
            stack,
            f"Inline{n}",
            roles=[role],
            statements=[log_groups_statement(stack, prefix=f"g{n}", count=70)],
        )
    # When it is synthesized
    with pytest.raises(Exception) as refused:  # noqa: PT011 - jsii raises a plain RuntimeError
        app.synth()
    # Then synth stops, naming the role and the limit, and neither policy on its own
    message = str(refused.value)
    assert "EniFailover/Default/Failover/Role" in message
    assert "10,240" in message
    assert "EniFailover/Inline0" not in message
