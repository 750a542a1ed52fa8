"""Logger, metrics and tracer, created once for the whole function.

Their settings come from POWERTOOLS_* environment variables that the stack sets (and
tests set to quiet values), so nothing here reads configuration itself.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="eni-failover")
metrics = Metrics(service="eni-failover")
tracer = Tracer(service="eni-failover")
