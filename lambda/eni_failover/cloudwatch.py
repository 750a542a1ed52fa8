"""Every CloudWatch call the failover and the prober make. Each function takes its client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eni_failover.errors import AWS_ERRORS, AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

    from eni_failover.probe import ProbeResult

# Metric names the prober publishes, the dashboard draws and the degraded alarm watches.
METRIC_PROBE_SUCCESS = "ProbeSuccess"
METRIC_PROBE_LATENCY = "ProbeLatency"
METRIC_PROBER_ROUNDS = "ProberRounds"
DIMENSION_PAIR = "Pair"
# The failover function's metrics (Powertools, in the same namespace), per pair too.
OUTCOME_METRIC_PREFIX = "Outcome_"
METRIC_SWAP_SECONDS = "SwapSeconds"
# 1 when a readiness check found the pair ready, 0 when not (operations.check).
METRIC_READINESS_READY = "ReadinessReady"
# Powertools adds the service (POWERTOOLS_SERVICE_NAME, which the stack sets) as a dimension
# of the function's metrics, the per-pair ones included.
DIMENSION_SERVICE = "service"
FUNCTION_SERVICE = "eni-failover"
# PutMetricData takes at most 1000 metric entries per call.
MAX_METRICS_PER_CALL = 1000


def alarm_state(client: CloudWatchClient, alarm_name: str) -> str | None:
    """The metric alarm's state now (ALARM, OK, INSUFFICIENT_DATA), or None if there is none.

    Metric alarms only: the function's permission names the trigger alarms' ARNs, and
    CloudWatch describes a composite alarm only to a permission on "*" (AWS-FACTS), so a
    request for composites would be refused. A composite trigger alarm reads as missing.
    """
    try:
        response = client.describe_alarms(AlarmNames=[alarm_name], AlarmTypes=["MetricAlarm"])
    except AWS_ERRORS as error:
        raise AwsCallFailed.from_client_error("DescribeAlarms", error) from error
    found = response.get("MetricAlarms", [])
    return str(found[0]["StateValue"]) if found else None


def put_probe_metrics(
    client: CloudWatchClient,
    namespace: str,
    *,
    samples: Mapping[str, Sequence[ProbeResult]],
    rounds: int,
) -> None:
    """Each pair's probe results since the last call, as high-resolution metrics.

    Values/Counts carry many samples in one entry, so one request covers every pair for the
    whole flush interval. The rounds count has no dimension: it is the prober's heartbeat.
    """
    data: list[Any] = [
        {
            "MetricName": METRIC_PROBER_ROUNDS,
            "Value": float(rounds),
            "Unit": "Count",
            "StorageResolution": 1,
        },
    ]
    for pair, results in samples.items():
        if not results:
            continue
        dimensions = [{"Name": DIMENSION_PAIR, "Value": pair}]
        ok = sum(1 for r in results if r.ok)
        success = [
            (value, count) for value, count in ((1.0, ok), (0.0, len(results) - ok)) if count
        ]
        data.append(
            {
                "MetricName": METRIC_PROBE_SUCCESS,
                "Dimensions": dimensions,
                "Values": [v for v, _ in success],
                "Counts": [float(c) for _, c in success],
                "Unit": "Count",
                "StorageResolution": 1,
            }
        )
        data.append(
            {
                "MetricName": METRIC_PROBE_LATENCY,
                "Dimensions": dimensions,
                "Values": [round(r.latency_seconds * 1000, 1) for r in results],
                "Unit": "Milliseconds",
                "StorageResolution": 1,
            }
        )
    for start in range(0, len(data), MAX_METRICS_PER_CALL):
        try:
            client.put_metric_data(
                Namespace=namespace, MetricData=data[start : start + MAX_METRICS_PER_CALL]
            )
        except AWS_ERRORS as error:
            raise AwsCallFailed.from_client_error("PutMetricData", error) from error
