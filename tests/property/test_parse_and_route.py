"""Parsing and routing, over generated events: cheap, so many examples.

Whatever arrives, parsing raises only UnparseableRecord (for an event that is not SNS) and
otherwise answers per record, with a reason for every record it cannot read; routing
returns a pair only for a failure trigger of that pair's alarm or primary, in this account
and region, and otherwise a reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eni_failover import decide
from eni_failover.config import Pair
from eni_failover.errors import UnparseableRecord
from eni_failover.triggers import Trigger, TriggerKind, parse_event
from tests.property.strategies import (
    FAILURE_STATES,
    Configured,
    alarm_noise,
    as_message,
    fresh_time,
    hostile_event,
    records_event,
    sns_noise,
    state_change_noise,
    valid_alarm,
    valid_among_hostile,
    without_sns_identity,
)
from tests.support import ACCOUNT_ID, REGION, state_change_message

PAIR = Pair(
    name="nat",
    primary_instance_id="i-0123456789abcdef0",
    standby_instance_id="i-0fedcba9876543210",
    interface_ids=("eni-0123456789abcdef0",),
    alarm_name="EniFailover-nat-primary-status",
)
CONFIGURED = Configured(alarm_name=PAIR.alarm_name, primary_instance_id=PAIR.primary_instance_id)
MANY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def parse(event: Any) -> list[tuple[str, Trigger | UnparseableRecord]] | UnparseableRecord:
    try:
        return parse_event(event)
    except UnparseableRecord as whole_event:
        return whole_event


def is_valid_failure_of(trigger: Trigger, pair: Pair) -> bool:
    """The definition the routing must follow, written out independently."""
    if trigger.account_id != ACCOUNT_ID or trigger.region not in (None, REGION):
        return False
    if not trigger.is_failure:
        return False
    if trigger.kind is TriggerKind.ALARM:
        # Every instance its metrics name (all of a metric-math alarm's) is the primary
        named = {trigger.instance_id, *trigger.watched_instances} - {None}
        return trigger.source == pair.alarm_name and named <= {pair.primary_instance_id}
    return trigger.instance_id == pair.primary_instance_id


@MANY
@given(event=hostile_event(CONFIGURED))
def test_hostile_events_parse_to_reasons_and_route_to_no_pair_unless_valid(event: Any) -> None:
    # When a hostile event is parsed (any other exception fails the test)
    parsed = parse(event)

    # Then an event that is not SNS is one reason; otherwise each record gets an answer
    if isinstance(parsed, UnparseableRecord):
        assert str(parsed).startswith("not an SNS event")
        return
    assert len(parsed) == len(event["Records"])
    for _message_id, item in parsed:
        if isinstance(item, UnparseableRecord):
            assert str(item).strip()
            continue
        # And routing names a pair only for a valid failure trigger of that pair
        routed = decide.route(item, (PAIR,), account_id=ACCOUNT_ID, region=REGION)
        if isinstance(routed, decide.Ignore):
            assert routed.reason.strip()
            assert not is_valid_failure_of(item, PAIR)
        else:
            assert routed == PAIR
            assert is_valid_failure_of(item, PAIR)


@MANY
@given(event_and_position=valid_among_hostile(CONFIGURED))
def test_valid_failure_alarm_among_hostile_records_routes_to_its_pair(
    event_and_position: tuple[dict[str, Any], int],
) -> None:
    # Given one valid failure alarm (with noise such as the metric-math form) among
    # hostile records
    event, position = event_and_position

    # When the event is parsed and routed
    parsed = parse(event)

    # Then the valid record, wherever it is, is a fresh failure routed to the pair
    assert not isinstance(parsed, UnparseableRecord)
    _message_id, item = parsed[position]
    assert isinstance(item, Trigger)
    assert decide.route(item, (PAIR,), account_id=ACCOUNT_ID, region=REGION) == PAIR
    assert (datetime.now(UTC) - item.occurred_at).total_seconds() < 300


@MANY
@given(message=st.text(max_size=200))
def test_any_text_message_parses_to_a_trigger_or_a_reason(message: str) -> None:
    parsed = parse(records_event([as_message(message)]))
    assert not isinstance(parsed, UnparseableRecord)
    [(_message_id, item)] = parsed
    assert isinstance(item, Trigger | UnparseableRecord)


@st.composite
def valid_failure_message(draw: st.DrawFn) -> str:
    """A valid failure trigger of the pair, with noise: an alarm or a state change."""
    if draw(st.booleans()):
        return as_message(draw(alarm_noise(valid_alarm(CONFIGURED))))
    message = state_change_message(
        instance_id=PAIR.primary_instance_id,
        state=draw(st.sampled_from(FAILURE_STATES)),
        at=fresh_time(),
    )
    return as_message(draw(state_change_noise(message)))


@MANY
@given(data=st.data())
def test_record_without_fields_the_failover_never_reads_still_routes(
    data: st.DataObject,
) -> None:
    # Given a valid failure trigger in a record whose signature, URLs, type, subject,
    # attributes and envelope fields are missing or placeholders (and, for a state change,
    # without version or resources)
    event = data.draw(sns_noise(records_event([data.draw(valid_failure_message())])))

    # When it is parsed and routed
    parsed = parse(event)

    # Then it is the trigger it carries, routed to its pair
    assert not isinstance(parsed, UnparseableRecord), parsed
    [(_message_id, item)] = parsed
    assert isinstance(item, Trigger), item
    assert decide.route(item, (PAIR,), account_id=ACCOUNT_ID, region=REGION) == PAIR


@MANY
@given(data=st.data())
def test_record_without_what_identifies_it_is_not_an_sns_event(data: st.DataObject) -> None:
    # Given an event (a valid failure among hostile records) in which one record lacks, or
    # has no usable, topic ARN, message, message ID or timestamp
    event, _position = data.draw(valid_among_hostile(CONFIGURED))
    event, field = data.draw(without_sns_identity(event))

    # When it is parsed
    parsed = parse(event)

    # Then the whole event is not SNS, and the reason names the field
    assert isinstance(parsed, UnparseableRecord)
    assert str(parsed).startswith("not an SNS event: Records.")
    assert f".Sns.{field}" in str(parsed)
