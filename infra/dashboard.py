"""The operators' CloudWatch dashboard: how each pair has fared, on one page.

Per pair: the outcomes over time, how long each swap took, the readiness verdicts, and where
the pair is probed, the probe's success and latency. Once for the stack: the dead-letter
queue's depth, which every pair shares. Every metric is the stack's own: the function's and
the prober's share the stack's namespace, with the pair as their dimension.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from eni_failover.config import Pair
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
        pairs: Sequence[Pair],
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
        for pair in pairs:
            self.dashboard.add_widgets(*self._pair_widgets(pair))

    def _pair_widgets(self, pair: Pair) -> list[cloudwatch.IWidget]:
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title=f"{pair.name}: outcomes",
                left=[
                    self._function_metric(
                        pair, f"{OUTCOME_METRIC_PREFIX}{kind.value}", "Sum", kind.value
                    )
                    for kind in OutcomeKind
                ],
                stacked=True,
                width=WIDTH,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{pair.name}: swap seconds",
                left=[
                    self._function_metric(pair, METRIC_SWAP_SECONDS, "Maximum", "longest"),
                    self._function_metric(pair, METRIC_SWAP_SECONDS, "Average", "average"),
                ],
                width=WIDTH,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{pair.name}: readiness (1 ready, 0 not)",
                left=[
                    self._function_metric(
                        pair,
                        METRIC_READINESS_READY,
                        "Minimum",
                        "ready",
                        period=READINESS_PERIOD,
                    )
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
                width=WIDTH,
                height=HEIGHT,
            ),
        ]
        if pair.probe:
            widgets.append(
                cloudwatch.GraphWidget(
                    title=f"{pair.name}: probe {pair.probe}",
                    left=[self._metric(pair, METRIC_PROBE_SUCCESS, "Average", "success ratio")],
                    right=[self._metric(pair, METRIC_PROBE_LATENCY, "p99", "latency p99 (ms)")],
                    left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
                    width=WIDTH,
                    height=HEIGHT,
                )
            )
        return widgets

    def _function_metric(
        self,
        pair: Pair,
        name: str,
        statistic: str,
        label: str,
        *,
        period: Duration = PERIOD,
    ) -> cloudwatch.Metric:
        """The failover function's: Powertools adds the service to the pair's dimension."""
        return self._metric(pair, name, statistic, label, period=period, service=FUNCTION_SERVICE)

    def _metric(
        self,
        pair: Pair,
        name: str,
        statistic: str,
        label: str,
        *,
        period: Duration = PERIOD,
        service: str | None = None,
    ) -> cloudwatch.Metric:
        dimensions = {DIMENSION_PAIR: pair.name}
        if service is not None:
            dimensions[DIMENSION_SERVICE] = service
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=period,
            label=label,
        )
