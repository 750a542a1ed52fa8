"""Logger, metrics and tracer, created once for the whole function.

Their settings come from POWERTOOLS_* environment variables that the stack sets (and
tests set to quiet values); PairMetrics reads the same variables, once, at cold start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.exceptions import (
    MetricResolutionError,
    MetricUnitError,
    MetricValueError,
    SchemaValidationError,
)
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from eni_failover.cloudwatch import DIMENSION_PAIR

logger = Logger(service="eni-failover")
metrics = Metrics(service="eni-failover")
tracer = Tracer(service="eni-failover")


@dataclass(frozen=True)
class PairMetrics:
    """Metrics for one pair each, written at once, so the dashboard can draw each pair.

    `metrics` keeps one set of dimensions per invocation, while a sweep or a check covers
    several pairs. Powertools' single_metric prints even with POWERTOOLS_METRICS_DISABLED,
    so whether to write is decided here, once, from the cold start's environment (the
    emulator runs the function in the CLI's process, and sets that environment only then).
    """

    namespace: str | None
    enabled: bool

    @classmethod
    def from_environment(cls) -> PairMetrics:
        return cls(
            namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or None,
            enabled=not is_metrics_disabled(),
        )

    def put(self, name: str, unit: MetricUnit, value: float, *, pair: str) -> None:
        if not self.enabled or self.namespace is None:
            return
        try:
            with single_metric(
                name=name, unit=unit, value=value, namespace=self.namespace
            ) as metric:
                metric.add_dimension(name=DIMENSION_PAIR, value=pair)
        except (MetricResolutionError, MetricUnitError, MetricValueError, SchemaValidationError):
            # A metric is never worth failing a failover for.
            logger.exception("metric not written", metric=name, pair=pair)
