"""The operators' CloudWatch dashboard: how every pair has fared, on one page.

One graph per measure, each line a pair: the outcomes over time, how long each swap took,
the readiness verdicts, and for probed pairs the probe's success and latency; and the
dead-letter queue's depth, which every pair shares. Each graph is a metric search over the
pair dimension, not a list of pairs, so the dashboard stays the same size for 2 pairs or
200 (CloudWatch allows 500 widgets a dashboard, and the template 1 MB), and shows pairs
discovered by tags that the stack never saw. Every metric is the stack's own: the
function's and the prober's share the stack's namespace, with the pair as their dimension.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from eni_failover.cloudwatch import (
    DIMENSION_PAIR,
    DIMENSION_SERVICE,
    FUNCTION_SERVICE,
    METRIC_PROBE_LATENCY,
    METRIC_PROBE_SUCCESS,
    METRIC_READINESS_READY,
    METRIC_SWAP_SECONDS,
    OUTCOME_METRIC_PREFIX,
)
from eni_failover.outcome import OutcomeKind

PERIOD = Duration.minutes(5)
# The readiness check runs daily by default; an hour shows each verdict as a point.
READINESS_PERIOD = Duration.hours(1)
WIDTH = 6  # four graphs to a row of 24
HEIGHT = 6


class FailoverDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        namespace: str,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.namespace = namespace
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.days(7),
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown="# ENI Failover\nEach pair's outcomes, swap times, readiness and "
                "probe; below, the triggers no pair could handle.",
                width=18,
                height=HEIGHT,
            ),
            cloudwatch.SingleValueWidget(
                title="Dead letters waiting",
                metrics=[
                    dead_letter_queue.metric_approximate_number_of_messages_visible(
                        period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
                    )
                ],
                width=WIDTH,
                height=HEIGHT,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Outcomes, by pair",
                left=[
                    self._search(
                        f"{OUTCOME_METRIC_PREFIX}{kind.value}", "Sum", kind.value, function=True
                    )
                    for kind in OutcomeKind
                ],
                stacked=True,
                width=WIDTH,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Longest swap (seconds), by pair",
                left=[self._search(METRIC_SWAP_SECONDS, "Maximum", "longest", function=True)],
                width=WIDTH,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Readiness (1 ready, 0 not), by pair",
                left=[
                    self._search(
                        METRIC_READINESS_READY,
                        "Minimum",
                        "ready",
                        function=True,
                        period=READINESS_PERIOD,
                    )
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
                width=WIDTH,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Probe success ratio and latency p99 (ms), by pair",
                left=[self._search(METRIC_PROBE_SUCCESS, "Average", "success", function=False)],
                right=[self._search(METRIC_PROBE_LATENCY, "p99", "p99 ms", function=False)],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
                width=WIDTH,
                height=HEIGHT,
            ),
        )

    def _search(
        self,
        name: str,
        statistic: str,
        label: str,
        *,
        function: bool,
        period: Duration = PERIOD,
    ) -> cloudwatch.MathExpression:
        """Every pair's series of one metric. The function's metrics carry the service too
        (Powertools adds it), the prober's only the pair: a search schema names exactly the
        dimensions a metric has. CloudWatch puts `label` before each series' own label
        (the pair), so a line reads "swapped web"."""
        dimensions = f"{DIMENSION_PAIR},{DIMENSION_SERVICE}" if function else DIMENSION_PAIR
        service = f' {DIMENSION_SERVICE}="{FUNCTION_SERVICE}"' if function else ""
        seconds = int(period.to_seconds())
        query = f'{{"{self.namespace}",{dimensions}}} MetricName="{name}"{service}'
        return cloudwatch.MathExpression(
            expression=f"SEARCH('{query}', '{statistic}', {seconds})",
            using_metrics={},
            label=label,
            period=period,
        )
