"""The prober's Lambda entry point: a scheduled invocation that probes until relieved.

It shares the failover function's package, configuration, trigger models and notification
code; it only probes and sends triggers, and never moves anything itself.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from eni_failover import functions
from eni_failover.clients import AwsClients
from eni_failover.config import ProberSettings
from eni_failover.observability import logger
from eni_failover.prober import Prober, ProberLease, lease_id_for, run_invocation
from eni_failover.timeline import SystemClock

_prober: tuple[ProberSettings, AwsClients] | None = None


def build(environ: dict[str, str] | None = None) -> tuple[ProberSettings, AwsClients]:
    """Read the settings once and make the clients at cold start."""
    settings = ProberSettings.from_environment(environ if environ is not None else dict(os.environ))
    clients = AwsClients(region=settings.region, max_attempts=3)
    for client in (clients.ec2, clients.sns, clients.lambda_, clients.dynamodb, clients.cloudwatch):
        logger.debug("client ready", service=client.meta.service_model.service_name)
    return settings, clients


def direct_invoke(settings: ProberSettings, clients: AwsClients) -> Callable[[str], None] | None:
    """How the prober hands a trigger to the failover function directly. The stack always
    names the function; without it (a prober run outside a stack) the topic alone."""
    arn = settings.failover_function_arn
    if arn is None:
        return None
    return functools.partial(functions.invoke_async, clients.lambda_, arn)


def probe_until_relieved(
    settings: ProberSettings, clients: AwsClients, context: LambdaContext
) -> dict[str, Any]:
    prober = Prober(
        settings=settings,
        clients=clients,
        clock=SystemClock(),
        invoke_function=direct_invoke(settings, clients),
    )
    ended = run_invocation(
        prober,
        ProberLease(
            clients.dynamodb,
            settings.state_table_name,
            lease_id_for(settings.vantage, settings.vantages),
        ),
        owner=context.aws_request_id,
        remaining_seconds=context.get_remaining_time_in_millis() / 1000.0,
    )
    return {"ended": ended, "triggers_sent": prober.triggers_sent}


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _prober  # noqa: PLW0603 - built once per cold start, reused while warm
    if _prober is None:
        _prober = build()
    return probe_until_relieved(*_prober, context)
