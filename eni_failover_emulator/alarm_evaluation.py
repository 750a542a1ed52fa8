"""CloudWatch's evaluation of an alarm on missing data, which moto never does.

The "detection degraded" alarm watches the prober's heartbeat with missing data treated as
breaching: when no heartbeat arrives for its evaluation window, CloudWatch sets it to ALARM
and runs its actions. moto stores alarms and metrics but evaluates nothing; this evaluates
one alarm once, over a window the caller chooses (tests shorten CloudWatch's minutes), and
sets its state as CloudWatch would, so the bridge's AlarmActions publishes the change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
}


def evaluate(
    cloudwatch: CloudWatchClient, alarm_name: str, *, now: datetime, window: timedelta
) -> str:
    """Evaluate the alarm over the last `window`; set and return its new state."""
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    statistic: Any = alarm["Statistic"]
    datapoints: list[Any] = cloudwatch.get_metric_statistics(
        Namespace=alarm["Namespace"],
        MetricName=alarm["MetricName"],
        Dimensions=alarm.get("Dimensions", []),
        StartTime=now - window,
        EndTime=now,
        Period=max(1, int(window.total_seconds())),
        Statistics=[statistic],
    )["Datapoints"]
    compare = _COMPARE[alarm["ComparisonOperator"]]
    if datapoints:
        breaching = any(compare(float(p[statistic]), alarm["Threshold"]) for p in datapoints)
        reason = f"{len(datapoints)} datapoint(s) in the last {window.total_seconds():.0f} s"
    else:
        breaching = alarm.get("TreatMissingData") == "breaching"
        reason = f"no datapoints in the last {window.total_seconds():.0f} s (missing data)"
    state: Literal["ALARM", "OK"] = "ALARM" if breaching else "OK"
    if state != alarm["StateValue"]:
        cloudwatch.set_alarm_state(
            AlarmName=alarm_name, StateValue=state, StateReason=f"Threshold Crossed: {reason}"
        )
    return state
