"""Detection, modelled: how long from a failure until the function is invoked.

Not measured (nothing here runs CloudWatch or EventBridge): each stage's time comes from
AWS's documentation where it states one, and is marked as an assumption where it does
not. Combined with the measured swap time, it gives an honest end-to-end figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from eni_failover.config import DEFAULT_EVALUATION_PERIODS
from eni_failover_cdk.settings import STATUS_CHECK_PERIOD_SECONDS

STATUS_CHECKS_DOCS = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-system-instance-status-check.html"
STATUS_METRICS_DOCS = (
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/viewing_metrics_with_cloudwatch.html"
)
ALARM_DOCS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html"
)
EVENT_DELIVERY_DOCS = "https://docs.aws.amazon.com/eventbridge/latest/ref/event-delivery-level.html"
EC2_EVENTS_DOCS = "https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ec2.html"
ASYNC_INVOKE_DOCS = "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html"
SNS_LAMBDA_DOCS = "https://docs.aws.amazon.com/sns/latest/dg/sns-lambda-as-subscriber.html"
LAMBDA_MEMORY_DOCS = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html"


@dataclass(frozen=True)
class Stage:
    name: str
    low: float
    typical: float
    high: float
    documented: bool  # False: AWS publishes no figure; the values are an assumption
    basis: str
    source: str


@dataclass(frozen=True)
class DetectionPath:
    trigger: str
    covers: str
    stages: tuple[Stage, ...]

    def totals(self) -> tuple[float, float, float]:
        return (
            sum(s.low for s in self.stages),
            sum(s.typical for s in self.stages),
            sum(s.high for s in self.stages),
        )


SNS_DELIVERY = Stage(
    "SNS trigger topic delivers to the function (asynchronous invoke)",
    0.1,
    0.5,
    2.0,
    documented=False,
    basis="no published latency; SNS pushes to Lambda, which queues and runs the event",
    source=SNS_LAMBDA_DOCS,
)
ASYNC_START = Stage(
    "Lambda takes the event off its queue and starts the handler",
    0.0,
    0.2,
    1.0,
    documented=False,
    basis="no published latency (a cold start adds the time measured in section 4)",
    source=ASYNC_INVOKE_DOCS,
)


def delivery_stages() -> tuple[Stage, ...]:
    """From a message on the trigger topic to the handler running: every trigger's last leg,
    but the prober's (direct_delivery_stages)."""
    return (SNS_DELIVERY, ASYNC_START)


def direct_delivery_stages() -> tuple[Stage, ...]:
    """The prober's trigger: its own asynchronous invoke of the function, no SNS
    (eni_failover.functions); the topic only when Lambda does not take the invoke."""
    return (
        Stage(
            "The prober's asynchronous invoke reaches Lambda (Invoke, InvocationType Event, "
            "from its subnets)",
            0.01,
            0.03,
            0.2,
            documented=False,
            basis="one HTTPS request in the region, answered 202 once queued; AWS publishes "
            "no figure",
            source=ASYNC_INVOKE_DOCS,
        ),
        ASYNC_START,
    )


def detection_paths(
    evaluation_periods: int = DEFAULT_EVALUATION_PERIODS,
    period_seconds: int = STATUS_CHECK_PERIOD_SECONDS,
) -> tuple[DetectionPath, ...]:
    state_change = DetectionPath(
        trigger="EC2 state change (EventBridge rule)",
        covers="the primary stops, is stopped, or terminates (including scheduled retirement, "
        "Spot interruption, an operator's stop)",
        stages=(
            Stage(
                "EC2 emits 'EC2 Instance State-change Notification' to EventBridge",
                0.5,
                1.0,
                5.0,
                documented=False,
                basis="AWS publishes no latency; delivery is best effort or durable per service",
                source=EVENT_DELIVERY_DOCS,
            ),
            Stage(
                "The rule matches and publishes to the trigger topic",
                0.1,
                0.5,
                2.0,
                documented=False,
                basis="no published latency",
                source=EC2_EVENTS_DOCS,
            ),
            *delivery_stages(),
        ),
    )
    alarm = DetectionPath(
        trigger=f"Status-check alarm ({period_seconds} s period, {evaluation_periods} "
        "evaluation periods)",
        covers="the primary keeps running but fails its system or instance status check "
        "(hardware, network, kernel, exhausted memory)",
        stages=(
            Stage(
                "EC2's next status check sees the failure",
                0.0,
                30.0,
                60.0,
                documented=True,
                basis="status checks run every minute; the failure lands anywhere in that minute",
                source=STATUS_CHECKS_DOCS,
            ),
            Stage(
                f"StatusCheckFailed breaches for {evaluation_periods} consecutive 1-minute "
                "datapoints",
                float((evaluation_periods - 1) * period_seconds),
                float((evaluation_periods - 1) * period_seconds),
                float((evaluation_periods - 1) * period_seconds),
                documented=True,
                basis="the metric has 1-minute datapoints; the alarm needs all "
                f"{evaluation_periods} evaluation periods breaching",
                source=STATUS_METRICS_DOCS,
            ),
            Stage(
                "CloudWatch evaluates the alarm and it goes to ALARM",
                0.0,
                30.0,
                60.0,
                documented=True,
                basis="an alarm with a period of a minute or more is evaluated every minute",
                source=ALARM_DOCS,
            ),
            Stage(
                "The alarm action publishes to the trigger topic",
                0.1,
                0.5,
                2.0,
                documented=False,
                basis="no published latency; the delay before a datapoint reaches CloudWatch "
                "is not published either and is not included",
                source=ALARM_DOCS,
            ),
            *delivery_stages(),
        ),
    )
    return state_change, alarm
