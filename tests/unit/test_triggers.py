"""Parsing what arrives on the trigger topic, from real-format sample events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from eni_failover import decide
from eni_failover.config import Pair
from eni_failover.errors import UnparseableRecord
from eni_failover.probe import ProbeResult
from eni_failover.triggers import (
    Trigger,
    TriggerKind,
    missed_failure_message,
    parse_event,
    probe_failed_message,
)
from eni_failover_emulator.events import metric_math_alarm_message
from tests.support import (
    ACCOUNT_ID,
    REGION,
    alarm_message,
    load_event,
    sns_event,
    state_change_message,
)

# The pair the checked-in samples are about (their alarm name and instance).
SAMPLE_PAIR = Pair(
    name="primary",
    primary_instance_id="i-0123456789abcdef0",
    standby_instance_id="i-0fedcba9876543210",
    interface_ids=("eni-0123456789abcdef0",),
    alarm_name="EniFailover-primary-primary-status",
)
OTHER_INSTANCE = "i-0aaaaaaaaaaaaaaaa"


def parsed_trigger(event: dict[str, Any]) -> Trigger:
    [(_, trigger)] = parse_event(event)
    assert isinstance(trigger, Trigger), trigger
    return trigger


def parse_problem(message: dict[str, Any] | str) -> str:
    [(_, problem)] = parse_event(sns_event(message))
    assert isinstance(problem, UnparseableRecord), problem
    return str(problem)


def route(trigger: Trigger) -> Pair | decide.Ignore:
    return decide.route(trigger, (SAMPLE_PAIR,), account_id="123456789012", region="us-east-1")


def test_status_check_alarm_becomes_a_failure_trigger_for_its_instance() -> None:
    # Given the SNS event a real StatusCheckFailed alarm sends
    event = load_event("alarm-status-check-failed.json")

    # When it is parsed
    [(message_id, trigger)] = parse_event(event)

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
    first = parse_event(sns_event(message))[0][1]
    second = parse_event(sns_event(message))[0][1]

    # Then both carry the same trigger ID, the key that stops a second swap
    assert not isinstance(first, UnparseableRecord)
    assert not isinstance(second, UnparseableRecord)
    assert first.trigger_id == second.trigger_id


def test_ok_alarm_is_parsed_but_is_not_a_failure() -> None:
    [(_, trigger)] = parse_event(load_event("alarm-ok.json"))
    assert not isinstance(trigger, UnparseableRecord)
    assert trigger.state == "OK"
    assert not trigger.is_failure


def test_metric_math_alarm_on_the_primary_routes_to_its_pair() -> None:
    # Given a metric-math alarm (Trigger.Metrics instead of Dimensions) over the primary's
    # StatusCheckFailed and StatusCheckFailed_AttachedEBS
    trigger = parsed_trigger(load_event("alarm-metric-math.json"))

    # Then the instance its metrics watch is read from their MetricStat dimensions
    assert trigger.watched_instances == ("i-0123456789abcdef0",)
    assert trigger.instance_id == "i-0123456789abcdef0"
    assert trigger.is_failure
    # And it routes to the pair whose primary that is
    assert route(trigger) == SAMPLE_PAIR


@pytest.mark.parametrize(
    "metrics",
    [
        [("StatusCheckFailed", "i-0123456789abcdef0"), ("StatusCheckFailed", OTHER_INSTANCE)],
        [("StatusCheckFailed", OTHER_INSTANCE), ("StatusCheckFailed_AttachedEBS", OTHER_INSTANCE)],
        [("StatusCheckFailed", OTHER_INSTANCE)],
    ],
    ids=["primary-and-another", "another-only", "one-metric-of-another"],
)
def test_metric_math_alarm_watching_another_instance_is_ignored_with_the_reason(
    metrics: list[tuple[str, str]],
) -> None:
    # Given the pair's alarm, turned by hand into metric math over another instance's metric
    message = metric_math_alarm_message(alarm_name=SAMPLE_PAIR.alarm_name, metrics=metrics)

    # When it is parsed and routed
    routed = route(parsed_trigger(sns_event(message)))

    # Then it is ignored, naming the other instance and the pair's primary
    assert isinstance(routed, decide.Ignore)
    assert routed.reason == (
        f"alarm {SAMPLE_PAIR.alarm_name!r} watches {OTHER_INSTANCE}, but pair 'primary' "
        "has primary i-0123456789abcdef0"
    )


def test_metric_math_alarm_naming_no_instance_routes_by_its_name() -> None:
    # An alarm on metrics without an InstanceId dimension is identified by its name alone,
    # as README promises ("whose dimension, if any, is that pair's primary").
    message = metric_math_alarm_message(
        alarm_name=SAMPLE_PAIR.alarm_name, metrics=[("StatusCheckFailed", "unused")]
    )
    dimensions = message["Trigger"]["Metrics"][1]["MetricStat"]["Metric"]["Dimensions"]
    dimensions[0]["name"] = "AutoScalingGroupName"
    trigger = parsed_trigger(sns_event(message))
    assert trigger.watched_instances == ()
    assert route(trigger) == SAMPLE_PAIR


def test_metric_math_alarm_whose_dimension_cannot_be_read_is_dead_lettered() -> None:
    # The dimensions are what says which instance the alarm watches: exact where it matters.
    message = metric_math_alarm_message(
        alarm_name=SAMPLE_PAIR.alarm_name, metrics=[("StatusCheckFailed", OTHER_INSTANCE)]
    )
    del message["Trigger"]["Metrics"][1]["MetricStat"]["Metric"]["Dimensions"][0]["value"]
    assert "Trigger.Metrics.1.MetricStat.Metric.Dimensions.0.value" in parse_problem(message)


def test_state_change_event_becomes_a_failure_trigger() -> None:
    [(_, trigger)] = parse_event(load_event("ec2-state-change-stopped.json"))
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
    [(_, trigger)] = parse_event(sns_event(message))
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
            "expected one of aws.ec2/'EC2 Instance State-change Notification'",
        ),
        (
            json.dumps({**state_change_message(instance_id="i-1", state="stopped"), "detail": {}}),
            "instance-id",
        ),
    ],
)
def test_malformed_messages_are_rejected_with_the_reason(message: str, expected: str) -> None:
    [(_, problem)] = parse_event(sns_event(message))
    assert isinstance(problem, UnparseableRecord)
    assert expected in str(problem)


def test_one_bad_record_does_not_hide_a_good_one() -> None:
    good = alarm_message(alarm_name="a", instance_id="i-0123456789abcdef0")
    parsed = parse_event(sns_event("garbage", good))
    assert isinstance(parsed[0][1], UnparseableRecord)
    assert not isinstance(parsed[1][1], UnparseableRecord)


@pytest.mark.parametrize("event", [{}, {"Records": "no"}, [], "text", {"Records": [{"x": 1}]}])
def test_an_event_that_is_not_from_sns_is_rejected(event: object) -> None:
    with pytest.raises(UnparseableRecord, match="not an SNS event"):
        parse_event(event)


@pytest.mark.parametrize(
    "sample", ["sns-console-test-template-alarm.json", "sns-sam-generate-event-alarm.json"]
)
def test_test_templates_with_placeholder_signature_and_urls_carry_an_alarm(sample: str) -> None:
    # Given the Lambda console's SNS test template (or `sam local generate-event sns
    # notification`) with a real alarm message pasted in: "EXAMPLE" for the signature and
    # the URLs, a 1970 timestamp, an unrendered placeholder in the subscription ARN
    event = load_event(sample)

    # When it is parsed
    trigger = parsed_trigger(event)

    # Then it is the alarm it carries, routed like the real notification
    assert trigger.kind is TriggerKind.ALARM
    assert trigger.source == "EniFailover-primary-primary-status"
    assert trigger.instance_id == "i-0123456789abcdef0"
    assert trigger.is_failure
    assert route(trigger) == SAMPLE_PAIR


UNREAD_SNS_FIELDS = (
    "Signature",
    "SignatureVersion",
    "SigningCertUrl",
    "UnsubscribeUrl",
    "Type",
    "Subject",
    "MessageAttributes",
)


@pytest.mark.parametrize("field", UNREAD_SNS_FIELDS)
def test_sns_record_without_a_field_the_failover_never_reads_still_parses(field: str) -> None:
    event = load_event("alarm-status-check-failed.json")
    del event["Records"][0]["Sns"][field]
    assert parsed_trigger(event).kind is TriggerKind.ALARM


@pytest.mark.parametrize("field", ["EventSource", "EventVersion", "EventSubscriptionArn"])
def test_sns_record_without_an_envelope_field_the_failover_never_reads_still_parses(
    field: str,
) -> None:
    event = load_event("alarm-status-check-failed.json")
    del event["Records"][0][field]
    assert parsed_trigger(event).kind is TriggerKind.ALARM


@pytest.mark.parametrize("field", ["TopicArn", "Message", "MessageId", "Timestamp"])
def test_sns_record_without_what_identifies_it_is_not_an_sns_event(field: str) -> None:
    event = load_event("sns-console-test-template-alarm.json")
    del event["Records"][0]["Sns"][field]
    with pytest.raises(UnparseableRecord, match=f"not an SNS event: Records.0.Sns.{field}"):
        parse_event(event)


def test_documented_state_change_event_without_version_is_a_failure_trigger() -> None:
    # Given the EC2 user guide's example event (no "version"), as EventBridge forwards it
    event = load_event("ec2-state-change-without-version.json")
    assert "version" not in json.loads(event["Records"][0]["Sns"]["Message"])

    # Then it is the state change it describes
    trigger = parsed_trigger(event)
    assert trigger.kind is TriggerKind.STATE_CHANGE
    assert trigger.instance_id == "i-0123456789abcdef0"
    assert trigger.is_failure
    assert trigger.trigger_id == "event:7bf73129-1428-4cd3-a780-95db273d1602"
    assert route(trigger) == SAMPLE_PAIR


@pytest.mark.parametrize("field", ["version", "resources"])
def test_state_change_event_without_a_field_the_failover_never_reads_parses(field: str) -> None:
    message = state_change_message(instance_id="i-0123456789abcdef0", state="stopped")
    del message[field]
    assert parsed_trigger(sns_event(message)).is_failure


@pytest.mark.parametrize(
    ("path", "named"),
    [
        (("id",), "id"),
        (("source",), "source"),
        (("detail-type",), "detail-type"),
        (("account",), "account"),
        (("time",), "time"),
        (("region",), "region"),
        (("detail",), "detail"),
        (("detail", "instance-id"), "detail.instance-id"),
        (("detail", "state"), "detail.state"),
    ],
)
def test_state_change_event_without_what_identifies_it_is_dead_lettered(
    path: tuple[str, ...], named: str
) -> None:
    message = state_change_message(instance_id="i-0123456789abcdef0", state="stopped")
    *parents, key = path
    holder = message
    for parent in parents:
        holder = holder[parent]
    del holder[key]
    assert f"{named}: Field required" in parse_problem(message)


CLOUDWATCH_ALARM_EVENT = {
    "version": "0",
    "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
    "detail-type": "CloudWatch Alarm State Change",
    "source": "aws.cloudwatch",
    "account": "123456789012",
    "time": "2026-11-26T09:12:34Z",
    "region": "us-east-1",
    "resources": [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:EniFailover-primary-primary-status"
    ],
    "detail": {
        "alarmName": "EniFailover-primary-primary-status",
        "state": {"value": "ALARM", "reason": "Threshold Crossed"},
        "previousState": {"value": "OK", "reason": "Threshold Crossed"},
        "configuration": {
            "metrics": [
                {
                    "id": "m1",
                    "metricStat": {
                        "metric": {
                            "namespace": "AWS/EC2",
                            "name": "StatusCheckFailed",
                            "dimensions": {"InstanceId": "i-0123456789abcdef0"},
                        },
                        "period": 60,
                        "stat": "Maximum",
                    },
                    "returnData": True,
                }
            ]
        },
    },
}
HEALTH_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "AWS Health Event",
    "source": "aws.health",
    "account": "123456789012",
    "time": "2026-11-26T09:00:00Z",
    "region": "us-east-1",
    "resources": ["i-0123456789abcdef0"],
    "detail": {
        "eventArn": "arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED/x",
        "service": "EC2",
        "eventTypeCode": "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
        "eventTypeCategory": "scheduledChange",
        "affectedEntities": [{"entityValue": "i-0123456789abcdef0"}],
    },
}


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (HEALTH_EVENT, "aws.health/'AWS Health Event'"),
        ({**HEALTH_EVENT, "source": "aws.ec2"}, "aws.ec2/'AWS Health Event'"),
    ],
    ids=["health", "ec2-other-detail-type"],
)
def test_other_eventbridge_events_are_rejected_for_what_they_are(
    event: dict[str, Any], kind: str
) -> None:
    # Given an EventBridge event of another kind on the trigger topic (its detail has no
    # instance-id)
    problem = parse_problem(event)

    # Then the reason says what it was and what was expected, not which detail is missing
    assert f"is {kind}, expected one of aws.ec2/'EC2 Instance State-change Notification'" in (
        problem
    )
    assert "instance-id" not in problem


def test_a_cloudwatch_alarm_change_event_is_a_service_alarm_trigger() -> None:
    # Given CloudWatch's own event for an alarm going to ALARM (a pair's triggerAlarms)
    [(_, trigger)] = parse_event(sns_event(CLOUDWATCH_ALARM_EVENT))
    # Then it is a service-alarm trigger named after the alarm, timed by the state change
    assert isinstance(trigger, Trigger)
    assert trigger.kind is TriggerKind.SERVICE_ALARM
    assert trigger.source == "EniFailover-primary-primary-status"
    assert (trigger.state, trigger.is_failure) == ("ALARM", True)
    assert trigger.occurred_at == datetime(2026, 11, 26, 9, 12, 34, tzinfo=UTC)
    assert trigger.trigger_id.startswith("alarm-change:EniFailover-primary-primary-status:")


# --- the sweep's hand-off: one trigger per pair, through the trigger topic ----------------


def sweep_trigger(*, pair: str = "primary", instance_id: str = "i-0123456789abcdef0") -> Trigger:
    """A missed failure as the sweep names it: the pair, the failure and the standby."""
    return Trigger(
        trigger_id=(f"sweep:{pair}:{instance_id}:stopped:2026-11-26T09:12:00+00:00:running/ok/ok"),
        kind=TriggerKind.SWEEP,
        source="sweep",
        instance_id=instance_id,
        state="stopped",
        is_failure=True,
        reason=f"the primary {instance_id} still holds eni-0123456789abcdef0; no event "
        "started a failover",
        occurred_at=datetime(2026, 11, 26, 9, 15, tzinfo=UTC),
        account_id="123456789012",
        region="us-east-1",
        pair_name=pair,
    )


def test_the_sweeps_trigger_reads_back_as_the_same_trigger_with_the_same_identity() -> None:
    # Given the trigger the sweep made for a missed failure
    made = sweep_trigger()
    # When it goes through the trigger topic and is parsed on the other side
    delivered = parsed_trigger(sns_event(missed_failure_message(made)))
    # Then it is the same trigger: the same ID (once per failure), kind, pair and reason
    assert delivered == made


def test_the_sweeps_trigger_routes_to_the_pair_it_names() -> None:
    assert route(parsed_trigger(sns_event(missed_failure_message(sweep_trigger())))) is SAMPLE_PAIR


def test_a_sweep_trigger_whose_pair_has_another_primary_now_is_ignored() -> None:
    # Given a trigger for the pair's old primary (the pair was changed since the sweep)
    stale = sweep_trigger(instance_id=OTHER_INSTANCE)
    # Then it names neither, and moves nothing
    routed = route(parsed_trigger(sns_event(missed_failure_message(stale))))
    assert isinstance(routed, decide.Ignore)
    assert OTHER_INSTANCE in routed.reason
    assert "'primary'" in routed.reason


def test_a_sweep_trigger_for_no_pair_is_ignored() -> None:
    routed = route(parsed_trigger(sns_event(missed_failure_message(sweep_trigger(pair="gone")))))
    assert isinstance(routed, decide.Ignore)
    assert "'gone'" in routed.reason


def _probe_message() -> str:
    at = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    failed = ProbeResult(
        target="10.0.1.50:443", ok=False, at=at, latency_seconds=0.0, error="connection refused"
    )
    return probe_failed_message(
        pair="nat",
        probe="tcp:443",
        failures=(failed, failed),
        standby=None,
        account_id=ACCOUNT_ID,
        region=REGION,
        at=at,
    )


def test_the_probers_trigger_invoked_directly_is_the_trigger_it_would_publish() -> None:
    # Given the prober's trigger, as it publishes it and as it invokes the function with it
    message = _probe_message()
    [(_, published)] = parse_event(sns_event(message))
    [(event_id, invoked)] = parse_event(json.loads(message))
    # Then both are the same trigger: one failure, one ID, however it arrived
    assert isinstance(invoked, Trigger)
    assert invoked == published
    assert event_id == json.loads(message)["id"]


def test_a_direct_event_of_ours_that_does_not_parse_says_why() -> None:
    broken = json.loads(_probe_message())
    del broken["detail"]["pair"]
    [(_, problem)] = parse_event(broken)
    assert isinstance(problem, UnparseableRecord)
    assert "detail.pair" in str(problem)


def test_an_eventbridge_event_of_someone_else_invoked_directly_is_not_a_trigger() -> None:
    # Only the project's own events (the prober's) are invoked directly; an EC2 event comes
    # through the trigger topic.
    direct = state_change_message(instance_id="i-0123456789abcdef0", state="stopped")
    with pytest.raises(UnparseableRecord, match="not an SNS event"):
        parse_event(direct)
