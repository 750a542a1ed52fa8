"""Parse what arrives on the trigger topic into triggers.

Five messages reach the function through SNS: a CloudWatch alarm's state change (a JSON
string in Records[].Sns.Message); EventBridge events forwarded to the same topic, either an
EC2 state-change event or a "CloudWatch Alarm State Change" of an alarm a pair names in
`triggerAlarms`; the prober's "Service Probe Failed" event; and the sweep's "Missed Failure
Found", one per pair it hands off. This module builds the last two as well, so the sender
and the function share one model of each. Anything else is
unparseable and goes to the dead-letter queue with a reason.

Exact where it matters, liberal where it does not: the models require what identifies a
trigger and what the failover reads, and nothing else. Signature and URL fields, the
EventBridge `version` and `resources` may be placeholders or absent (the Lambda console's
test template, `sam local generate-event`, AWS's documented examples).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from eni_failover.errors import UnparseableRecord
from eni_failover.probe import ProbeResult

# EC2 states in which the primary cannot serve: the EventBridge rule forwards exactly these.
FAILURE_STATES = frozenset({"stopping", "stopped", "shutting-down", "terminated"})
STATE_CHANGE_SOURCE = "aws.ec2"
STATE_CHANGE_DETAIL_TYPE = "EC2 Instance State-change Notification"
ALARM_EVENT_SOURCE = "aws.cloudwatch"
ALARM_EVENT_DETAIL_TYPE = "CloudWatch Alarm State Change"
PROBE_SOURCE = "eni-failover.prober"
PROBE_DETAIL_TYPE = "Service Probe Failed"
SWEEP_SOURCE = "eni-failover.sweep"
SWEEP_DETAIL_TYPE = "Missed Failure Found"
SWEEP_ID_PREFIX = "sweep:"
# An alarm message is small; a multi-megabyte "message" is not something we should parse.
MAX_MESSAGE_BYTES = 256 * 1024


class TriggerKind(StrEnum):
    ALARM = "alarm"  # the pair's own status-check alarm
    STATE_CHANGE = "state-change"
    SERVICE_ALARM = "service-alarm"  # one of the pair's triggerAlarms went to ALARM
    PROBE = "probe"  # the prober saw the service stop answering
    SWEEP = "sweep"  # the minute's sweep found a failed primary still holding an interface
    # The sweep saw the repaired primary healthy for the whole hold-down (failback=auto).
    FAILBACK = "failback"
    MANUAL = "manual"

    @property
    def about_the_service(self) -> bool:
        """The trigger says the service failed, not the instance: EC2 may well call the
        primary healthy, and that is no reason to doubt it."""
        return self in (TriggerKind.SERVICE_ALARM, TriggerKind.PROBE)


@dataclass(frozen=True)
class ProbeEvidence:
    """What the prober saw: the failed probes of the service, and the standby's own answer."""

    probe: str
    failures: tuple[ProbeResult, ...]
    # None when the probe goes through the pair (a NAT's forwarding): the standby's own
    # address cannot stand in for it.
    standby: ProbeResult | None


@dataclass(frozen=True)
class Trigger:
    """One reason to consider a failover, whatever it came from."""

    trigger_id: str  # stable across redeliveries of the same message: the idempotency key
    kind: TriggerKind
    source: str  # alarm name, or the EC2 event's detail-type
    instance_id: str | None  # the instance the trigger is about, when it names one
    state: str  # ALARM / OK / INSUFFICIENT_DATA, or the EC2 state
    is_failure: bool
    reason: str
    occurred_at: datetime
    account_id: str
    region: str | None  # a region code when the message carries one
    # Every InstanceId an alarm's metrics name (a metric-math alarm has several metrics).
    watched_instances: tuple[str, ...] = ()
    # The pair a probe trigger names (other triggers are routed by alarm or instance).
    pair_name: str | None = None
    evidence: ProbeEvidence | None = None

    def describe(self) -> str:
        if self.kind in (TriggerKind.ALARM, TriggerKind.SERVICE_ALARM):
            return f"alarm {self.source} -> {self.state}: {self.reason}"
        if self.kind is TriggerKind.STATE_CHANGE:
            return f"EC2 state change: {self.instance_id} is {self.state}"
        if self.kind in (TriggerKind.PROBE, TriggerKind.SWEEP, TriggerKind.FAILBACK):
            return f"{self.kind.value}: {self.reason}"
        return f"manual request: {self.reason}"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Dimension(_Lenient):
    name: str
    value: str


class _Metric(_Lenient):
    Dimensions: list[_Dimension] = Field(default_factory=list)


class _MetricStat(_Lenient):
    Metric: _Metric


class _MetricQuery(_Lenient):
    """One entry of a metric-math alarm's Metrics: a metric (MetricStat) or an Expression."""

    MetricStat: _MetricStat | None = None


class _AlarmDetail(_Lenient):
    MetricName: str | None = None
    Namespace: str | None = None
    Dimensions: list[_Dimension] = Field(default_factory=list)
    # Metric-math alarms carry Metrics instead of MetricName/Dimensions.
    Metrics: list[_MetricQuery] | None = None

    def instance_ids(self) -> tuple[str, ...]:
        """The InstanceId dimensions of the alarm's metric and of every metric it computes on."""
        dimensions = [
            *self.Dimensions,
            *(
                d
                for q in self.Metrics or ()
                if q.MetricStat
                for d in q.MetricStat.Metric.Dimensions
            ),
        ]
        return tuple(dict.fromkeys(d.value for d in dimensions if d.name == "InstanceId"))


class AlarmMessage(_Lenient):
    """The JSON a CloudWatch alarm publishes to SNS (see AWS-FACTS for the fields)."""

    AlarmName: str = Field(min_length=1, max_length=255)
    AlarmArn: str | None = Field(default=None, max_length=2048)
    AWSAccountId: str = Field(pattern=r"^\d{12}$")
    NewStateValue: Literal["ALARM", "OK", "INSUFFICIENT_DATA"]
    OldStateValue: Literal["ALARM", "OK", "INSUFFICIENT_DATA"] | None = None
    NewStateReason: str = Field(default="", max_length=4096)
    StateChangeTime: AwareDatetime
    Trigger: _AlarmDetail | None = None


class _StateChangeDetail(_Lenient):
    instance_id: str = Field(alias="instance-id", min_length=1, max_length=64)
    state: str = Field(min_length=1, max_length=32)


class _EventKind(_Lenient):
    """What an EventBridge event says it is, read before its detail is."""

    source: str
    detail_type: str = Field(alias="detail-type")


class StateChangeEvent(_Lenient):
    """An EC2 state-change event: its identity and what the failover reads.

    Powertools' EventBridgeModel also requires `version` and `resources`, which AWS's own
    documented example of this event leaves out and the failover never reads.
    """

    id: str = Field(min_length=1)
    source: str
    detail_type: str = Field(alias="detail-type")
    account: str
    time: AwareDatetime  # a time without a zone cannot be compared with the trigger age
    region: str
    detail: _StateChangeDetail
    version: str | None = None
    resources: list[str] = Field(default_factory=list)


def _colon_in_offset(value: object) -> object:
    # CloudWatch writes "2026-11-26T09:12:34.551+0000"; ISO 8601 parsers want "+00:00".
    if isinstance(value, str):
        return re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value)
    return value


class _AlarmState(_Lenient):
    value: Literal["ALARM", "OK", "INSUFFICIENT_DATA"]
    reason: str = Field(default="", max_length=4096)
    # When the alarm changed state; absent in some samples, then the event's time stands in.
    timestamp: Annotated[AwareDatetime | None, BeforeValidator(_colon_in_offset)] = None


class _AlarmChangeDetail(_Lenient):
    alarmName: str = Field(min_length=1, max_length=255)
    state: _AlarmState


class AlarmChangeEvent(_Lenient):
    """CloudWatch's "Alarm State Change" event, for an alarm a pair names in triggerAlarms."""

    id: str = Field(min_length=1)
    account: str
    time: AwareDatetime
    region: str
    resources: list[str] = Field(default_factory=list)  # the alarm's ARN
    detail: _AlarmChangeDetail


class _ProbeAnswer(_Lenient):
    target: str = Field(max_length=300)
    ok: bool
    at: AwareDatetime
    latency_seconds: float = Field(ge=0)
    error: str | None = Field(default=None, max_length=1000)

    def result(self) -> ProbeResult:
        return ProbeResult(
            target=self.target,
            ok=self.ok,
            at=self.at,
            latency_seconds=self.latency_seconds,
            error=self.error,
        )

    @classmethod
    def of(cls, result: ProbeResult) -> _ProbeAnswer:
        return cls(
            target=result.target,
            ok=result.ok,
            at=result.at,
            latency_seconds=round(result.latency_seconds, 4),
            error=result.error,
        )


class _ProbeDetail(_Lenient):
    pair: str = Field(min_length=1, max_length=40)
    probe: str = Field(min_length=1, max_length=300)
    failures: list[_ProbeAnswer] = Field(min_length=1, max_length=20)
    standby: _ProbeAnswer | None = None


class ProbeFailedEvent(_Lenient):
    """The prober's trigger: EventBridge's envelope, so it reads like the other events."""

    id: str = Field(min_length=1)
    source: Literal["eni-failover.prober"]
    detail_type: Literal["Service Probe Failed"] = Field(alias="detail-type")
    account: str
    time: AwareDatetime
    region: str
    detail: _ProbeDetail


def probe_failed_message(
    *,
    pair: str,
    probe: str,
    failures: tuple[ProbeResult, ...],
    standby: ProbeResult | None,
    account_id: str,
    region: str,
    at: datetime,
    failing_since: datetime | None = None,
) -> str:
    """The prober's trigger message, as parse_message reads it back."""
    since = failing_since or failures[0].at
    event = ProbeFailedEvent.model_validate(
        {
            # One failure episode, one ID: a redelivery, or the same trigger sent again
            # after a publish whose answer was lost, is the same trigger.
            "id": f"{pair}:{since.isoformat()}",
            "source": PROBE_SOURCE,
            "detail-type": PROBE_DETAIL_TYPE,
            "account": account_id,
            "time": at,
            "region": region,
            "detail": {
                "pair": pair,
                "probe": probe,
                "failures": [_ProbeAnswer.of(f) for f in failures],
                "standby": _ProbeAnswer.of(standby) if standby else None,
            },
        }
    )
    return event.model_dump_json(by_alias=True)


class _MissedFailureDetail(_Lenient):
    pair: str = Field(min_length=1, max_length=40)
    instance_id: str = Field(alias="instance-id", min_length=1, max_length=64)
    condition: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=1, max_length=4096)


class MissedFailureEvent(_Lenient):
    """The sweep's trigger for one pair, in EventBridge's envelope like the prober's."""

    # The failure's identity (the trigger ID without its prefix): every sweep that finds
    # the same failure sends the same ID, so idempotency and the pair record absorb repeats.
    id: str = Field(min_length=1, max_length=1024)
    source: Literal["eni-failover.sweep"]
    detail_type: Literal["Missed Failure Found"] = Field(alias="detail-type")
    account: str
    time: AwareDatetime
    region: str
    detail: _MissedFailureDetail


def missed_failure_message(trigger: Trigger) -> str:
    """The sweep's trigger as the trigger topic carries it; parse_message reads it back as
    the same trigger (ID included)."""
    if (
        trigger.kind is not TriggerKind.SWEEP
        or trigger.pair_name is None
        or trigger.instance_id is None
        or not trigger.trigger_id.startswith(SWEEP_ID_PREFIX)
    ):
        raise ValueError(f"not a sweep's trigger for a pair: {trigger.trigger_id}")
    event = MissedFailureEvent.model_validate(
        {
            "id": trigger.trigger_id.removeprefix(SWEEP_ID_PREFIX),
            "source": SWEEP_SOURCE,
            "detail-type": SWEEP_DETAIL_TYPE,
            "account": trigger.account_id,
            "time": trigger.occurred_at,
            "region": trigger.region,
            "detail": {
                "pair": trigger.pair_name,
                "instance-id": trigger.instance_id,
                "condition": trigger.state,
                "reason": trigger.reason,
            },
        }
    )
    return event.model_dump_json(by_alias=True)


class _Notification(_Lenient):
    """An SNS record's Sns object, as far as the failover reads it.

    The signature, its certificate URL and the unsubscribe URL are never read (the function
    trusts the subscription, not the signature) and are placeholders in the Lambda console's
    test template and in `sam local generate-event`, so they are not required.
    """

    TopicArn: str
    MessageId: str
    Message: str
    Timestamp: datetime


class _SnsRecord(_Lenient):
    Sns: _Notification


class SnsEvent(_Lenient):
    """The event an SNS subscription delivers to Lambda."""

    Records: list[_SnsRecord]


# The events the project's own functions invoke the failover function with directly (the
# prober, skipping SNS's delivery); every other trigger arrives through the trigger topic.
DIRECT_SOURCES = frozenset({PROBE_SOURCE})


def parse_event(event: object) -> list[tuple[str, Trigger | UnparseableRecord]]:
    """Parse each SNS record on its own, so one bad record cannot hide a good one, or the
    prober's own event when it invoked the function directly.

    Returns (message id, trigger or the reason it could not be parsed) per record.
    Raises UnparseableRecord when the event is neither.
    """
    if isinstance(event, dict) and event.get("source") in DIRECT_SOURCES:
        event_id = str(event.get("id") or "direct")
        try:
            return [(event_id, parse_message(json.dumps(event), message_id=event_id))]
        except UnparseableRecord as problem:
            return [(event_id, problem)]
    try:
        envelope = SnsEvent.model_validate(event)
    except ValidationError as error:
        raise UnparseableRecord(f"not an SNS event: {_first_problem(error)}") from error
    if not envelope.Records:
        raise UnparseableRecord("not an SNS event: Records is empty")
    parsed: list[tuple[str, Trigger | UnparseableRecord]] = []
    for record in envelope.Records:
        message = record.Sns.Message
        message_id = record.Sns.MessageId
        try:
            parsed.append((message_id, parse_message(message, message_id=message_id)))
        except UnparseableRecord as problem:
            parsed.append((message_id, problem))
    return parsed


def parse_message(message: str, *, message_id: str) -> Trigger:
    if len(message.encode("utf-8", errors="replace")) > MAX_MESSAGE_BYTES:
        raise UnparseableRecord(f"message {message_id} is larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        body = json.loads(message)
    except (json.JSONDecodeError, RecursionError) as error:
        raise UnparseableRecord(f"message {message_id} is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise UnparseableRecord(
            f"message {message_id} is JSON {type(body).__name__}, expected an object"
        )
    if "AlarmName" in body:
        return _from_alarm(body, message_id)
    if "source" in body or "detail-type" in body:
        return _from_event(body, message_id)
    raise UnparseableRecord(
        f"message {message_id} is neither a CloudWatch alarm (no AlarmName) nor an "
        "EventBridge event (no source or detail-type)"
    )


def _from_alarm(body: dict[str, Any], message_id: str) -> Trigger:
    alarm = _validated(AlarmMessage, body, what=f"alarm message {message_id}")
    watched = alarm.Trigger.instance_ids() if alarm.Trigger is not None else ()
    return Trigger(
        # The same transition always has the same ARN/name and change time, however
        # often SNS or Lambda redeliver it.
        trigger_id=f"alarm:{alarm.AlarmArn or alarm.AlarmName}:{alarm.StateChangeTime.isoformat()}",
        kind=TriggerKind.ALARM,
        source=alarm.AlarmName,
        # The one instance the alarm watches; with several, none (routing checks them all).
        instance_id=watched[0] if len(watched) == 1 else None,
        state=alarm.NewStateValue,
        is_failure=alarm.NewStateValue == "ALARM",
        reason=alarm.NewStateReason,
        occurred_at=alarm.StateChangeTime,
        account_id=alarm.AWSAccountId,
        # The message's Region is a display name ("US East (N. Virginia)"); the ARN has the code.
        region=_region_from_arn(alarm.AlarmArn),
        watched_instances=watched,
    )


def _from_event(body: dict[str, Any], message_id: str) -> Trigger:
    # What the event is comes first: a CloudWatch or Health event is named as such, not
    # reported as an EC2 event missing its instance-id.
    kind = _validated(_EventKind, body, what=f"event {message_id}")
    parsers = {
        (STATE_CHANGE_SOURCE, STATE_CHANGE_DETAIL_TYPE): _from_state_change,
        (ALARM_EVENT_SOURCE, ALARM_EVENT_DETAIL_TYPE): _from_alarm_change,
        (PROBE_SOURCE, PROBE_DETAIL_TYPE): _from_probe,
        (SWEEP_SOURCE, SWEEP_DETAIL_TYPE): _from_sweep,
    }
    parser = parsers.get((kind.source, kind.detail_type))
    if parser is None:
        expected = ", ".join(f"{s}/{d!r}" for s, d in parsers)
        raise UnparseableRecord(
            f"event {message_id} is {kind.source}/{kind.detail_type!r}, expected one of {expected}"
        )
    return parser(body, message_id)


def _from_state_change(body: dict[str, Any], message_id: str) -> Trigger:
    event = _validated(StateChangeEvent, body, what=f"EC2 event {message_id}")
    return Trigger(
        trigger_id=f"event:{event.id}",
        kind=TriggerKind.STATE_CHANGE,
        source=STATE_CHANGE_DETAIL_TYPE,
        instance_id=event.detail.instance_id,
        state=event.detail.state,
        is_failure=event.detail.state in FAILURE_STATES,
        reason=f"instance {event.detail.instance_id} entered {event.detail.state}",
        occurred_at=event.time,
        account_id=event.account,
        region=event.region,
    )


def _from_alarm_change(body: dict[str, Any], message_id: str) -> Trigger:
    event = _validated(AlarmChangeEvent, body, what=f"alarm change event {message_id}")
    state = event.detail.state
    changed_at = state.timestamp or event.time
    return Trigger(
        trigger_id=f"alarm-change:{event.detail.alarmName}:{changed_at.isoformat()}",
        kind=TriggerKind.SERVICE_ALARM,
        source=event.detail.alarmName,
        instance_id=None,
        state=state.value,
        is_failure=state.value == "ALARM",
        reason=state.reason,
        occurred_at=changed_at,
        account_id=event.account,
        region=event.region,
    )


def _from_probe(body: dict[str, Any], message_id: str) -> Trigger:
    event = _validated(ProbeFailedEvent, body, what=f"probe event {message_id}")
    detail = event.detail
    failures = tuple(f.result() for f in detail.failures)
    last = failures[-1]
    return Trigger(
        trigger_id=f"probe:{event.id}",
        kind=TriggerKind.PROBE,
        source="prober",
        instance_id=None,
        state="failed",
        is_failure=True,
        reason=(
            f"{len(failures)} probes ({detail.probe}) in a row failed, the last: {last.describe()}"
        ),
        # The first failure is when the service stopped answering, as far as anyone knows.
        occurred_at=failures[0].at,
        account_id=event.account,
        region=event.region,
        pair_name=detail.pair,
        evidence=ProbeEvidence(
            probe=detail.probe,
            failures=failures,
            standby=detail.standby.result() if detail.standby else None,
        ),
    )


def _from_sweep(body: dict[str, Any], message_id: str) -> Trigger:
    event = _validated(MissedFailureEvent, body, what=f"sweep event {message_id}")
    detail = event.detail
    return Trigger(
        trigger_id=f"{SWEEP_ID_PREFIX}{event.id}",
        kind=TriggerKind.SWEEP,
        source="sweep",
        instance_id=detail.instance_id,
        state=detail.condition,
        is_failure=True,
        reason=detail.reason,
        occurred_at=event.time,
        account_id=event.account,
        region=event.region,
        pair_name=detail.pair,
    )


_Model = TypeVar("_Model", bound=BaseModel)


def _validated(model: type[_Model], body: dict[str, Any], *, what: str) -> _Model:
    """The message as `model` reads it; a record that does not fit is unparseable, and the
    reason names the message and its first problem."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise UnparseableRecord(f"{what} is malformed: {_first_problem(error)}") from error


def _region_from_arn(arn: str | None) -> str | None:
    if not arn:
        return None
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(p) for p in problem["loc"]) or "(top level)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {problem['msg']}{more}"
