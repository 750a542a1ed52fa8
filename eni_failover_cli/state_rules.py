"""Which of the stack's EC2 state-change rules covers a pair's primary, as EventBridge says.

A stack lists its configured primaries by instance ID across several rules (EventBridge
caps a pattern at 2,048 characters): the first is named `STACK-instance-state` (the output
StateRuleName), the others by CloudFormation. A stack that discovers pairs by tags keeps one
rule for every instance. So the output names the right rule for the first pair only: the
rules are read from EventBridge instead, once per command for every pair, as the rules that
target the trigger topic (ListRuleNamesByTarget) and their patterns and states (DescribeRule).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

STATE_CHANGE_SOURCE = "aws.ec2"
STATE_CHANGE_DETAIL_TYPE = "EC2 Instance State-change Notification"
# What a primary in no rule means, said where status and pause show the rule.
UNCOVERED = "no state-change rule covers this primary: its stop will not be noticed until the sweep"


@dataclass(frozen=True)
class StateRule:
    """One rule that sends EC2 state changes to the trigger topic."""

    name: str
    state: str | None
    # The instances its pattern lists; None: every instance (a stack with tagged pairs).
    instance_ids: frozenset[str] | None

    def covers(self, instance_id: str) -> bool:
        return self.instance_ids is None or instance_id in self.instance_ids


def read(events: EventBridgeClient, trigger_topic_arn: str) -> tuple[StateRule, ...]:
    """The state-change rules that publish to the trigger topic, in name order.

    Raises botocore's errors: the caller shows them where the rule would be.
    """
    names: list[str] = []
    for page in events.get_paginator("list_rule_names_by_target").paginate(
        TargetArn=trigger_topic_arn
    ):
        names += page.get("RuleNames", [])
    rules = []
    for name in sorted(names):
        found = events.describe_rule(Name=name)
        state_change, instance_ids = _state_change_instances(found.get("EventPattern"))
        if state_change:
            rules.append(StateRule(name=name, state=found.get("State"), instance_ids=instance_ids))
    return tuple(rules)


def covering(rules: tuple[StateRule, ...], instance_id: str) -> tuple[StateRule, ...]:
    """The rules whose pattern matches this instance's state changes."""
    return tuple(rule for rule in rules if rule.covers(instance_id))


def _state_change_instances(pattern_text: str | None) -> tuple[bool, frozenset[str] | None]:
    """Whether the pattern is an EC2 state-change one (not an alarm rule sharing the topic),
    and the instance IDs it lists (None: every instance)."""
    pattern: Any = json.loads(pattern_text) if pattern_text else None
    if not isinstance(pattern, dict) or (
        STATE_CHANGE_SOURCE not in pattern.get("source", [])
        or STATE_CHANGE_DETAIL_TYPE not in pattern.get("detail-type", [])
    ):
        return False, None
    detail = pattern.get("detail")
    listed = detail.get("instance-id") if isinstance(detail, dict) else None
    if listed is None:
        return True, None
    return True, frozenset(str(i) for i in listed if isinstance(i, str))
