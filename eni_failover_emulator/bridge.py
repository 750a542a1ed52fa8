"""What moto leaves out between an alarm and the function, done for the sandbox.

CloudWatch alarm actions: moto never evaluates an alarm and never runs its actions, but
`set-alarm-state` does change an alarm's state. Every state change is noted as it happens
and published, in CloudWatch's own message format (AWS-FACTS: CloudWatch status-check
alarms), to the SNS actions of the new state (AlarmActions for ALARM) if the alarm's
actions were enabled at that moment - as CloudWatch does. Noting each change, rather than
polling the state, catches a change undone before the next poll; a "change" to the state
the alarm is already in does nothing, as in CloudWatch.

SNS to Lambda: moto delivers a topic's messages to an SQS subscription but cannot run a
function. What the trigger topic delivered to its stand-in queue is handed to the real
handler code as the event Lambda's SNS source builds (eni_failover_emulator.delivery).

Lambda's asynchronous retries (twice, after about one and two minutes) are not emulated:
a function error is reported and the event dropped.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moto.cloudwatch.models import Alarm, cloudwatch_backends

from eni_failover_emulator.delivery import take_lambda_events

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

# CloudWatch writes the Region of an alarm message as a display name, not a code.
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
}
SUBJECT_LIMIT = 100


@dataclass(frozen=True)
class AlarmState:
    value: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str
    at: datetime


@dataclass(frozen=True)
class AlarmChange:
    """One state change of an alarm, and where CloudWatch would have sent it."""

    alarm_name: str
    old: AlarmState
    new: AlarmState
    published_to: tuple[str, ...]
    skipped: str | None = None  # why nothing was published


def alarm_message(
    alarm: Alarm, old: AlarmState, new: AlarmState, *, account_id: str, region: str
) -> dict[str, Any]:
    """The JSON CloudWatch publishes to an alarm's SNS actions on a state change.

    A metric-math alarm's Trigger carries Metrics (the expression and each MetricStat)
    instead of MetricName, Namespace, Statistic and Dimensions.
    """
    queries = alarm.metric_data_queries
    trigger: dict[str, Any] = (
        {"Period": _period(alarm), "Metrics": [_query(q) for q in queries]}
        if queries
        else {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": (alarm.statistic or "").upper(),
            "Unit": alarm.unit,
            "Dimensions": _dimensions(alarm.dimensions),
            "Period": alarm.period,
        }
    )
    trigger |= {
        "EvaluationPeriods": alarm.evaluation_periods,
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": float(alarm.threshold),
        "TreatMissingData": alarm.treat_missing_data or "",
        "EvaluateLowSampleCountPercentile": "",
    }
    if alarm.datapoints_to_alarm is not None:
        trigger["DatapointsToAlarm"] = alarm.datapoints_to_alarm
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": _cloudwatch_time(
            _utc(alarm.configuration_updated_timestamp)
        ),
        "NewStateValue": new.value,
        "NewStateReason": new.reason,
        "StateChangeTime": _cloudwatch_time(new.at),
        "Region": REGION_NAMES.get(region, region),
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old.value,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": trigger,
    }


def _dimensions(dimensions: Any) -> list[dict[str, Any]]:
    # Lower-case keys: that is how CloudWatch writes them in this message.
    return [{"value": d.value, "name": d.name} for d in dimensions]


def _query(query: Any) -> dict[str, Any]:
    """One entry of a metric-math alarm's Trigger.Metrics (see tests/events)."""
    entry: dict[str, Any] = {"Id": query.id}
    if query.expression:
        entry |= {"Expression": query.expression, "Label": query.label or ""}
    stat = query.metric_stat
    if stat is not None:
        entry["MetricStat"] = {
            "Metric": {
                "Dimensions": _dimensions(stat.metric.dimensions),
                "MetricName": stat.metric.metric_name,
                "Namespace": stat.metric.namespace,
            },
            "Period": int(stat.period),
            "Stat": stat.stat,
        }
    entry["ReturnData"] = query.return_data in (True, "true", "True", None)
    return entry


def _period(alarm: Alarm) -> int | None:
    """A metric-math alarm has no period of its own: its metrics' is the one it evaluates."""
    periods = [int(q.metric_stat.period) for q in alarm.metric_data_queries if q.metric_stat]
    return periods[0] if periods else alarm.period


@dataclass(frozen=True)
class _Recorded:
    """A state change as it happened, with whether the actions were enabled then."""

    alarm: Alarm
    old: AlarmState
    new: AlarmState
    actions_enabled: bool


class AlarmActions:
    """CloudWatch's part: publish each state change of the watched alarms to their actions.

    Each watched alarm's update_state is wrapped (on the alarm object only, never on
    moto's class) to note every change the moment it happens, with whether its actions
    were enabled then: CloudWatch decides at the change, not when someone looks later.
    """

    def __init__(
        self, sns: SNSClient, *, alarm_names: list[str], account_id: str, region: str
    ) -> None:
        self._sns = sns
        self._account_id = account_id
        self._region = region
        self._alarm_names = list(alarm_names)
        self._recorded: deque[_Recorded] = deque()
        self._watched: dict[str, Alarm] = {}
        self._watch()

    def _watch(self) -> None:
        alarms = cloudwatch_backends[self._account_id][self._region].alarms
        for name in self._alarm_names:
            alarm = alarms.get(name)
            # A new object when the alarm is put again: watch that one.
            if alarm is not None and self._watched.get(name) is not alarm:
                self._record_changes_of(alarm)
                self._watched[name] = alarm

    def _record_changes_of(self, alarm: Alarm) -> None:
        update_state = alarm.update_state

        def recording_update_state(reason: str, reason_data: str, state_value: str) -> None:
            old = _state_of(alarm)
            update_state(reason, reason_data, state_value)
            self._recorded.append(_Recorded(alarm, old, _state_of(alarm), alarm.actions_enabled))

        # An instance attribute shadows the method for this alarm object alone.
        vars(alarm)["update_state"] = recording_update_state

    def close(self) -> None:
        """Give the alarms their own update_state back."""
        for alarm in self._watched.values():
            vars(alarm).pop("update_state", None)
        self._watched.clear()

    def poll(self) -> list[AlarmChange]:
        self._watch()
        changes = []
        while self._recorded:
            change = self._recorded.popleft()
            # Setting the state an alarm is in changes nothing; CloudWatch does nothing.
            if change.old.value != change.new.value:
                changes.append(self._act(change))
        return changes

    def _act(self, change: _Recorded) -> AlarmChange:
        alarm, old, new = change.alarm, change.old, change.new
        actions = {
            "ALARM": alarm.alarm_actions,
            "OK": alarm.ok_actions,
            "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
        }.get(new.value, [])
        if not change.actions_enabled:
            return AlarmChange(alarm.name, old, new, (), skipped="alarm actions are disabled")
        topics = tuple(a for a in actions if a.startswith("arn:aws:sns:"))
        if not topics:
            return AlarmChange(alarm.name, old, new, (), skipped=f"no SNS action for {new.value}")
        message = json.dumps(
            alarm_message(alarm, old, new, account_id=self._account_id, region=self._region)
        )
        subject = f'{new.value}: "{alarm.name}" in {REGION_NAMES.get(self._region, self._region)}'
        for topic in topics:
            self._sns.publish(TopicArn=topic, Subject=subject[:SUBJECT_LIMIT], Message=message)
        return AlarmChange(alarm.name, old, new, topics)


def _state_of(alarm: Alarm) -> AlarmState:
    return AlarmState(
        value=alarm.state_value,
        reason=alarm.state_reason,
        at=_utc(alarm.state_updated_timestamp),
    )


@dataclass(frozen=True)
class Delivery:
    """One SNS delivery to the function and how the invocation ended."""

    message_id: str
    result: dict[str, Any] | None
    error: str | None


class TriggerDelivery:
    """SNS's and Lambda's part: hand what the trigger topic delivered to the function."""

    def __init__(
        self,
        sqs: SQSClient,
        *,
        queue_url: str,
        subscription_arn: str,
        invoke: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._subscription_arn = subscription_arn
        self._invoke = invoke

    def poll(self) -> list[Delivery]:
        deliveries = []
        for event in take_lambda_events(self._sqs, self._queue_url, self._subscription_arn):
            message_id = str(event["Records"][0]["Sns"]["MessageId"])
            try:
                result = self._invoke(event)
            except Exception as error:  # what Lambda reports as a FunctionError
                deliveries.append(Delivery(message_id, None, f"{type(error).__name__}: {error}"))
            else:
                deliveries.append(Delivery(message_id, result, None))
        return deliveries


class Bridge:
    """Runs both parts in a background thread, every `interval_seconds`."""

    def __init__(
        self,
        alarms: AlarmActions,
        deliveries: TriggerDelivery,
        *,
        interval_seconds: float,
        narrate: Callable[[str], None],
    ) -> None:
        self.alarms = alarms
        self.deliveries = deliveries
        self.interval_seconds = interval_seconds
        self._narrate = narrate
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-bridge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            # An invocation in progress finishes first (its swap has its own deadline).
            self._thread.join(timeout_seconds)
        self.alarms.close()

    def run_once(self) -> None:
        for change in self.alarms.poll():
            self._narrate(describe_change(change))
        for delivery in self.deliveries.poll():
            self._narrate(describe_delivery(delivery))

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_seconds):
            try:
                self.run_once()
            except Exception as error:  # keep bridging; say what went wrong
                self._narrate(f"bridge error (will keep polling): {type(error).__name__}: {error}")


def describe_change(change: AlarmChange) -> str:
    head = f"alarm {change.alarm_name}: {change.old.value} -> {change.new.value}"
    if change.skipped:
        return f"{head}; nothing published ({change.skipped})"
    return f"{head}; CloudWatch message published to {', '.join(change.published_to)}"


def describe_delivery(delivery: Delivery) -> str:
    if delivery.error is not None:
        return (
            f"function invoked with SNS message {delivery.message_id}: FAILED {delivery.error} "
            "(Lambda would retry twice; the sandbox does not)"
        )
    result = delivery.result or {}
    outcomes = [f"{o.get('outcome')}: {o.get('summary')}" for o in result.get("outcomes", [])]
    ignored = [f"ignored: {reason}" for reason in result.get("ignored", [])]
    dead = [f"dead-lettered: {reason}" for reason in result.get("dead_lettered", [])]
    said = "; ".join(outcomes + ignored + dead) or "nothing to do"
    return f"function invoked with SNS message {delivery.message_id}: {said}"


def _utc(moment: datetime) -> datetime:
    # moto keeps naive UTC times.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _cloudwatch_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
