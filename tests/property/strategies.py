"""Hypothesis strategies for what may arrive on the trigger topic, hostile or not.

Each hostile record is built from a valid failure trigger for the configured pair plus at
least one spoiler that makes it not one (another alarm, another instance, OK, another
account or region, a stale or future time, a missing or wrong-typed field, another kind of
EventBridge event, not JSON...), so "no swap" is what every hostile example must end in.
Noise that keeps a record valid (extra fields, metric-math form, odd text in free-text
fields, SNS signature and URL fields missing or placeholders, an EventBridge event without
version or resources) is generated separately, to hide a valid trigger among hostile
siblings.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from eni_failover_emulator.events import metric_math_alarm_message
from tests.support import ACCOUNT_ID, alarm_message, sns_event, state_change_message

OTHER_REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")
ALARM_REQUIRED = ("AlarmName", "AWSAccountId", "NewStateValue", "StateChangeTime")
FAILURE_STATES = ("stopping", "stopped", "shutting-down", "terminated")
# What identifies an SNS record: without one of these it is not an SNS event.
SNS_REQUIRED = ("TopicArn", "Message", "MessageId", "Timestamp")
# What the failover never reads: absent or a placeholder in test templates.
SNS_UNREAD = (
    "Type",
    "Subject",
    "SignatureVersion",
    "Signature",
    "SigningCertUrl",
    "UnsubscribeUrl",
    "MessageAttributes",
)
RECORD_UNREAD = ("EventSource", "EventVersion", "EventSubscriptionArn")
STATE_CHANGE_UNREAD = ("version", "resources")
STATUS_CHECK_METRICS = ("StatusCheckFailed", "StatusCheckFailed_AttachedEBS")
# Other EventBridge events a misrouted rule could forward (source, detail-type). CloudWatch's
# alarm change is a trigger of its own (triggerAlarms), so it is not among them.
OTHER_EVENT_KINDS = (
    ("aws.health", "AWS Health Event"),
    ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    ("aws.autoscaling", "EC2 Instance Terminate Successful"),
)


@dataclass(frozen=True)
class Configured:
    """What the deployed function protects: the valid triggers are about this."""

    alarm_name: str
    primary_instance_id: str


# Text as hostile senders write it: control characters, lone surrogates (valid in JSON as
# \ud800 escapes), emoji, right-to-left marks, and plain letters.
nasty_characters = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),
    st.sampled_from(["\x00", "\n", "\r", "\t", "\u202e", "\ufeff", "💥", '"', "\\", "%"]),
)
nasty_text = st.text(alphabet=nasty_characters, max_size=40)
# Text that leaves a record valid: a lone surrogate anywhere makes the parser reject it.
odd_text = st.text(
    alphabet=st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from(["\x00", "💥"]))
)
huge_text = st.integers(min_value=5_000, max_value=20_000).map(lambda n: "Ω" * n)
any_text = st.one_of(nasty_text, huge_text, st.just(""))

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    nasty_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(nasty_text, children, max_size=3)
    ),
    max_leaves=8,
)
# A value of the wrong JSON type for a string field (pydantic does not coerce these).
not_a_string = st.one_of(
    st.none(),
    st.booleans(),
    st.lists(json_scalars, max_size=2),
    st.dictionaries(nasty_text, json_scalars, max_size=2),
)
instance_ids = st.from_regex(r"\Ai-[0-9a-f]{17}\Z")


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def fresh_time() -> datetime:
    # A trigger of the last minute; generated per example, so it is always fresh.
    return datetime.now(UTC) - timedelta(seconds=30)


@st.composite
def bad_times(draw: st.DrawFn) -> Any:
    """A StateChangeTime that cannot make a trigger fresh: old, far ahead, or not a time."""
    now = datetime.now(UTC)
    return draw(
        st.one_of(
            st.integers(min_value=16, max_value=60 * 24 * 365).map(
                lambda minutes: stamp(now - timedelta(minutes=minutes))
            ),
            st.integers(min_value=10, max_value=60 * 24 * 365 * 50).map(
                lambda minutes: stamp(now + timedelta(minutes=minutes))
            ),
            st.just("2026-11-26T09:12:34"),  # no time zone
            nasty_text,
            not_a_string,
            st.integers(min_value=0, max_value=10**9),  # seconds since 1970: stale
        )
    )


def valid_alarm(configured: Configured) -> dict[str, Any]:
    return alarm_message(
        alarm_name=configured.alarm_name,
        instance_id=configured.primary_instance_id,
        at=fresh_time(),
    )


@st.composite
def alarm_noise(draw: st.DrawFn, message: dict[str, Any]) -> dict[str, Any]:
    """Changes a real alarm message may carry that do not change what it means."""
    noisy = dict(message)
    if draw(st.booleans()):
        # A metric-math alarm: Trigger.Metrics instead of MetricName and Dimensions, over
        # one or more status checks, every one of them the same instance's.
        instance_id = noisy["Trigger"]["Dimensions"][0]["value"]
        names = draw(st.lists(st.sampled_from(STATUS_CHECK_METRICS), min_size=1, max_size=3))
        noisy["Trigger"] = metric_math_alarm_message(
            alarm_name="x", metrics=[(name, instance_id) for name in names]
        )["Trigger"]
    for key in ("AlarmDescription", "Region", "NewStateReason"):
        if draw(st.booleans()):
            noisy[key] = draw(odd_text.filter(lambda t: len(t) <= 4096))
    extra = draw(st.dictionaries(odd_text, odd_text, max_size=2))
    return {**{k: v for k, v in extra.items() if k not in noisy}, **noisy}


@st.composite
def hostile_alarm(draw: st.DrawFn, configured: Configured) -> dict[str, Any]:
    """An alarm message that is not a fresh failure of the configured pair's alarm."""
    message = draw(alarm_noise(valid_alarm(configured)))
    spoilers = draw(
        st.sets(
            st.sampled_from(
                ["name", "state", "instance", "account", "region", "time", "missing", "type"]
            ),
            min_size=1,
            max_size=3,
        )
    )
    if "name" in spoilers:
        message["AlarmName"] = draw(
            st.one_of(any_text, not_a_string).filter(lambda v: v != configured.alarm_name)
        )
    if "state" in spoilers:
        message["NewStateValue"] = draw(
            st.one_of(st.sampled_from(["OK", "INSUFFICIENT_DATA", "alarm", ""]), not_a_string)
        )
    if "instance" in spoilers:
        other = draw(instance_ids.filter(lambda i: i != configured.primary_instance_id))
        if draw(st.booleans()):
            message["Trigger"] = dict(alarm_message(alarm_name="x", instance_id=other)["Trigger"])
        else:
            # Metric math that takes another instance's metric, beside the primary's or not
            watched = draw(
                st.lists(st.sampled_from([configured.primary_instance_id, other]), max_size=3)
            )
            metrics = draw(st.permutations([other, *watched]))
            names = draw(
                st.lists(
                    st.sampled_from(STATUS_CHECK_METRICS),
                    min_size=len(metrics),
                    max_size=len(metrics),
                )
            )
            message["Trigger"] = metric_math_alarm_message(
                alarm_name="x", metrics=list(zip(names, metrics, strict=True))
            )["Trigger"]
    if "account" in spoilers:
        message["AWSAccountId"] = draw(
            st.one_of(st.from_regex(r"\A\d{12}\Z"), any_text, not_a_string).filter(
                lambda a: a != ACCOUNT_ID
            )
        )
    if "region" in spoilers:
        region = draw(st.sampled_from(OTHER_REGIONS))
        message["AlarmArn"] = (
            f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{message['AlarmName']}"
        )
    if "time" in spoilers:
        message["StateChangeTime"] = draw(bad_times())
    if "missing" in spoilers:
        del message[draw(st.sampled_from(ALARM_REQUIRED))]
    if "type" in spoilers:
        key = draw(st.sampled_from(["AlarmName", "AWSAccountId", "NewStateValue"]))
        message[key] = draw(not_a_string)
    return message


@st.composite
def hostile_state_change(draw: st.DrawFn, configured: Configured) -> dict[str, Any]:
    """An EventBridge message that is not a fresh failure of the configured primary."""
    message = state_change_message(
        instance_id=configured.primary_instance_id,
        state=draw(st.sampled_from(FAILURE_STATES)),
        at=fresh_time(),
    )
    spoiler = draw(
        st.sampled_from(
            [
                "instance",
                "state",
                "account",
                "region",
                "time",
                "source",
                "kind",
                "detail",
                "missing",
            ]
        )
    )
    if spoiler == "instance":
        message["detail"]["instance-id"] = draw(
            st.one_of(instance_ids, nasty_text).filter(
                lambda i: i != configured.primary_instance_id
            )
        )
    elif spoiler == "state":
        message["detail"]["state"] = draw(
            st.one_of(st.sampled_from(["pending", "running", "rebooting"]), nasty_text).filter(
                lambda s: s not in FAILURE_STATES
            )
        )
    elif spoiler == "account":
        message["account"] = draw(any_text.filter(lambda a: a != ACCOUNT_ID))
    elif spoiler == "region":
        message["region"] = draw(st.sampled_from(OTHER_REGIONS))
    elif spoiler == "time":
        message["time"] = draw(bad_times())
    elif spoiler == "source":
        message["source"] = draw(st.sampled_from(["aws.autoscaling", "custom.app", ""]))
    elif spoiler == "kind":
        # Another kind of event, whose detail is not an instance's state
        message["source"], message["detail-type"] = draw(st.sampled_from(OTHER_EVENT_KINDS))
        message["detail"] = draw(
            st.one_of(st.just({"alarmName": configured.alarm_name}), json_values)
        )
    elif spoiler == "detail":
        message["detail"] = draw(json_values)
    else:
        required = ["id", "source", "detail-type", "account", "time", "region", "detail"]
        del message[draw(st.sampled_from(required))]
    return message


def as_message(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@st.composite
def hostile_message(draw: st.DrawFn, configured: Configured) -> str:
    """The Message string of one hostile SNS record."""
    message: str = draw(
        st.one_of(
            st.builds(as_message, hostile_alarm(configured)),
            st.builds(as_message, hostile_state_change(configured)),
            any_text,  # not JSON (or JSON of the wrong kind, by chance)
            json_values.filter(lambda v: not isinstance(v, dict)).map(json.dumps),
            st.dictionaries(nasty_text, json_values, max_size=4).map(json.dumps),
            st.integers(min_value=256 * 1024 + 1, max_value=300_000).map(lambda n: "x" * n),
        )
    )
    return message


def records_event(messages: list[str]) -> dict[str, Any]:
    """An SNS event carrying these messages, one record each, with unique message IDs."""
    return sns_event(*messages, message_ids=[str(uuid.uuid4()) for _ in messages])


placeholder = st.one_of(st.just("EXAMPLE"), st.just(""), st.none(), odd_text)


@st.composite
def sns_noise(draw: st.DrawFn, event: dict[str, Any]) -> dict[str, Any]:
    """The same event with fields the failover never reads dropped or made placeholders.

    As the Lambda console's test template and `sam local generate-event` write them: the
    signature and URLs "EXAMPLE", a 1970 timestamp, envelope fields missing.
    """
    for record in event["Records"]:
        for holder, fields in ((record["Sns"], SNS_UNREAD), (record, RECORD_UNREAD)):
            for field in fields:
                change = draw(st.sampled_from(["keep", "drop", "placeholder"]))
                if change == "drop":
                    del holder[field]
                elif change == "placeholder":
                    holder[field] = draw(placeholder)
        if draw(st.booleans()):
            record["Sns"]["Timestamp"] = "1970-01-01T00:00:00.000Z"
    return event


@st.composite
def state_change_noise(draw: st.DrawFn, message: dict[str, Any]) -> dict[str, Any]:
    """A state-change event without the envelope fields the failover never reads."""
    noisy = dict(message)
    for field in STATE_CHANGE_UNREAD:
        if draw(st.booleans()):
            del noisy[field]
    return noisy


@st.composite
def without_sns_identity(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The event with one record missing (or mistyping) a field that identifies it.

    Returns the event and the field.
    """
    record = draw(st.sampled_from(event["Records"]))
    field = draw(st.sampled_from(SNS_REQUIRED))
    if draw(st.booleans()):
        del record["Sns"][field]
    else:
        # Not an integer: a number is a valid timestamp (seconds since 1970)
        record["Sns"][field] = draw(
            st.one_of(
                st.none(),
                st.lists(json_scalars, max_size=2),
                st.dictionaries(nasty_text, json_scalars, max_size=2),
            )
        )
    return event, field


@st.composite
def hostile_event(draw: st.DrawFn, configured: Configured) -> Any:
    """A whole event: SNS records of hostile messages, or something that is not SNS."""
    if draw(st.integers(min_value=0, max_value=4)) > 0:
        messages = draw(st.lists(hostile_message(configured), min_size=1, max_size=4))
        return draw(sns_noise(records_event(messages)))
    return draw(not_an_sns_event())


@st.composite
def not_an_sns_event(draw: st.DrawFn) -> Any:
    """Something that is not an SNS event (never an operator request: no "action" key)."""
    broken = records_event(["{}"])
    record = broken["Records"][0]
    choice = draw(st.sampled_from(["value", "records", "record", "sns", "field", "missing"]))
    if choice == "value":
        return draw(json_values.filter(lambda v: not (isinstance(v, dict) and "action" in v)))
    if choice == "records":
        broken["Records"] = draw(json_scalars)
    elif choice == "record":
        broken["Records"] = [draw(json_scalars)]
    elif choice == "sns":
        record["Sns"] = draw(
            st.one_of(json_scalars, st.dictionaries(nasty_text, json_scalars, max_size=3))
        )
    elif choice == "field":
        key = draw(st.sampled_from(SNS_REQUIRED))
        record["Sns"][key] = draw(
            st.one_of(st.just(None), st.lists(json_scalars, max_size=2), nasty_text)
        )
    else:
        del record["Sns"][draw(st.sampled_from(SNS_REQUIRED))]
    return broken


@st.composite
def valid_among_hostile(draw: st.DrawFn, configured: Configured) -> tuple[dict[str, Any], int]:
    """An SNS event with one valid failure alarm (with noise) among hostile records.

    Returns the event and the position of the valid record.
    """
    valid = as_message(draw(alarm_noise(valid_alarm(configured))))
    others = draw(st.lists(hostile_message(configured), max_size=3))
    position = draw(st.integers(min_value=0, max_value=len(others)))
    messages = [*others[:position], valid, *others[position:]]
    return draw(sns_noise(records_event(messages))), position
