"""Logger, metrics and tracer, created once for the whole function.

Their settings come from POWERTOOLS_* environment variables that the stack sets (and
tests set to quiet values), so nothing here reads configuration itself.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from eni_failover.cloudwatch import DIMENSION_PAIR

logger = Logger(service="eni-failover")
metrics = Metrics(service="eni-failover")
tracer = Tracer(service="eni-failover")


def pair_metric(name: str, unit: MetricUnit, value: float, *, pair: str) -> None:
    """One metric for one pair, written at once, so the dashboard can draw each pair.

    `metrics` keeps one set of dimensions per invocation, while a sweep or a check covers
    several pairs. Powertools' single_metric prints even with POWERTOOLS_METRICS_DISABLED
    (which the emulator and the tests set), hence the check.
    """
    if is_metrics_disabled():
        return
    with single_metric(name=name, unit=unit, value=value) as metric:
        metric.add_dimension(name=DIMENSION_PAIR, value=pair)
