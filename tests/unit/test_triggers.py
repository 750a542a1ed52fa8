"""Parsing what arrives on the trigger topic, from real-format sample events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from eni_failover.errors import UnparseableRecord
from eni_failover.triggers import TriggerKind, parse_sns_event
from tests.support import alarm_message, load_event, sns_event, state_change_message


def test_status_check_alarm_becomes_a_failure_trigger_for_its_instance() -> None:
    # Given the SNS event a real StatusCheckFailed alarm sends
    event = load_event("alarm-status-check-failed.json")

    # When it is parsed
    [(message_id, trigger)] = parse_sns_event(event)

    # Then it is a failure of the instance in the alarm's dimension, with a region code
    assert message_id == "95df01b4-ee98-5cb9-9903-4c221d41eb5e"
    assert not isinstance(trigger, UnparseableRecord)
    assert trigger.kind is TriggerKind.ALARM
    assert trigger.source == "EniFailover-primary-primary-status"
    assert trigger.instance_id == "i-0123456789abcdef0"
    assert trigger.is_failure
    assert trigger.region == "us-east-1"  # from the ARN, not "US East (N. Virginia)"
    assert trigger.account_id == "123456789012"
    assert trigger.occurred_at == datetime(2026, 11, 26, 9, 12, 34, 567000, tzinfo=UTC)


def test_alarm_trigger_id_is_the_same_for_a_redelivered_message() -> None:
    # Given one alarm transition delivered twice under different SNS message IDs
    message = alarm_message(alarm_name="a", instance_id="i-0123456789abcdef0")
    first = parse_sns_event(sns_event(message))[0][1]
    second = parse_sns_event(sns_event(message))[0][1]

    # Then both carry the same trigger ID, the key that stops a second swap
    assert not isinstance(first, UnparseableRecord)
    assert not isinstance(second, UnparseableRecord)
    assert first.trigger_id == second.trigger_id


def test_ok_alarm_is_parsed_but_is_not_a_failure() -> None:
    [(_, trigger)] = parse_sns_event(load_event("alarm-ok.json"))
    assert not isinstance(trigger, UnparseableRecord)
    assert trigger.state == "OK"
    assert not trigger.is_failure


def test_metric_math_alarm_is_parsed_without_an_instance() -> None:
    # Metric-math alarms carry Trigger.Metrics instead of Dimensions: identified by name only.
    [(_, trigger)] = parse_sns_event(load_event("alarm-metric-math.json"))
    assert not isinstance(trigger, UnparseableRecord)
    assert trigger.instance_id is None
    assert trigger.is_failure


def test_state_change_event_becomes_a_failure_trigger() -> None:
    [(_, trigger)] = parse_sns_event(load_event("ec2-state-change-stopped.json"))
    assert not isinstance(trigger, UnparseableRecord)
    assert trigger.kind is TriggerKind.STATE_CHANGE
    assert trigger.instance_id == "i-0123456789abcdef0"
    assert trigger.state == "stopped"
    assert trigger.is_failure
    assert trigger.trigger_id == "event:7bf73129-1428-4cd3-a780-95db273d1602"


@pytest.mark.parametrize(
    ("state", "is_failure"),
    [
        ("stopping", True),
        ("stopped", True),
        ("shutting-down", True),
        ("terminated", True),
        ("running", False),
        ("pending", False),
    ],
)
def test_only_states_that_stop_service_are_failures(state: str, is_failure: bool) -> None:
    message = state_change_message(instance_id="i-0123456789abcdef0", state=state)
    [(_, trigger)] = parse_sns_event(sns_event(message))
    assert not isinstance(trigger, UnparseableRecord)
    assert trigger.is_failure is is_failure


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("not json at all", "is not JSON"),
        ("[1, 2]", "expected an object"),
        ('{"hello": "world"}', "neither a CloudWatch alarm"),
        (json.dumps({"AlarmName": "x", "NewStateValue": "ALARM"}), "AWSAccountId"),
        (
            json.dumps(
                {**alarm_message(alarm_name="x", instance_id="i-1"), "NewStateValue": "BAD"}
            ),
            "NewStateValue",
        ),
        (
            json.dumps(
                {**alarm_message(alarm_name="x", instance_id="i-1"), "StateChangeTime": "yesterday"}
            ),
            "StateChangeTime",
        ),
        (
            json.dumps(
                {
                    **state_change_message(instance_id="i-1", state="stopped"),
                    "detail-type": "AWS API Call via CloudTrail",
                }
            ),
            "expected aws.ec2",
        ),
        (
            json.dumps({**state_change_message(instance_id="i-1", state="stopped"), "detail": {}}),
            "instance-id",
        ),
    ],
)
def test_malformed_messages_are_rejected_with_the_reason(message: str, expected: str) -> None:
    [(_, problem)] = parse_sns_event(sns_event(message))
    assert isinstance(problem, UnparseableRecord)
    assert expected in str(problem)


def test_one_bad_record_does_not_hide_a_good_one() -> None:
    good = alarm_message(alarm_name="a", instance_id="i-0123456789abcdef0")
    parsed = parse_sns_event(sns_event("garbage", good))
    assert isinstance(parsed[0][1], UnparseableRecord)
    assert not isinstance(parsed[1][1], UnparseableRecord)


@pytest.mark.parametrize("event", [{}, {"Records": "no"}, [], "text", {"Records": [{"x": 1}]}])
def test_an_event_that_is_not_from_sns_is_rejected(event: object) -> None:
    with pytest.raises(UnparseableRecord, match="not an SNS event"):
        parse_sns_event(event)
