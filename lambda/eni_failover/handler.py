"""The Lambda entry point: parse, route, hand each trigger to the failover, report.

Thin on purpose. Everything it calls takes its clients and settings from a `Dispatcher`
built once per cold start (tests build their own against moto).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    BaseError as IdempotencyError,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from eni_failover import decide, failover, notify, operations
from eni_failover.clients import AwsClients
from eni_failover.cloudwatch import METRIC_SWAP_SECONDS, OUTCOME_METRIC_PREFIX
from eni_failover.config import Settings
from eni_failover.contract import is_request
from eni_failover.errors import AwsCallFailed, FailoverError, TriggerInProgress, UnparseableRecord
from eni_failover.observability import PairMetrics, logger, metrics, tracer
from eni_failover.outcome import Outcome
from eni_failover.triggers import Trigger, parse_event

# Idempotency records outlive every redelivery: SNS retries and Lambda's maximum event age.
IDEMPOTENCY_SECONDS = 24 * 3600


@dataclass
class Report:
    """What one invocation did, returned to the caller (the CLI shows it; tests read it)."""

    outcomes: list[dict[str, Any]]
    ignored: list[str]
    dead_lettered: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcomes": self.outcomes,
            "ignored": self.ignored,
            "dead_lettered": self.dead_lettered,
        }


class Dispatcher:
    def __init__(
        self, runtime: failover.Runtime, persistence: BasePersistenceLayer | None = None
    ) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.idempotency = IdempotencyConfig(expires_after_seconds=IDEMPOTENCY_SECONDS)
        store = persistence or DynamoDBPersistenceLayer(
            table_name=settings.state_table_name, boto3_client=runtime.clients.dynamodb
        )
        # Keyed on the pair and the trigger: a redelivered trigger returns the saved result
        # instead of moving (or notifying) again.
        self._handle_once = idempotent_function(
            data_keyword_argument="key", persistence_store=store, config=self.idempotency
        )(self._handle)
        # Results handled in this invocation, by idempotency key, until run() returns them.
        self._handled: dict[str, dict[str, Any]] = {}

    def on_event(self, event: Any, context: LambdaContext) -> dict[str, Any]:
        self.idempotency.register_lambda_context(context)
        if is_request(event):
            # An operator's request (CLI) or the daily readiness check (schedule).
            return operations.handle_request(
                self.runtime,
                event,
                request_id=context.aws_request_id,
                run=lambda request: self.run(request, context),
                remaining_seconds=context.get_remaining_time_in_millis() / 1000.0,
            )
        report = Report(outcomes=[], ignored=[], dead_lettered=[])
        try:
            records = parse_event(event)
        except UnparseableRecord as problem:
            self._dead_letter(report, str(problem), event)
            return report.as_dict()
        retry: FailoverError | None = None
        for message_id, item in records:
            logger.set_correlation_id(message_id)
            if isinstance(item, UnparseableRecord):
                self._dead_letter(report, str(item), _record_with_id(event, message_id))
                continue
            try:
                self._on_trigger(report, item, context)
            except FailoverError as error:
                # Finish the other records first; then fail the invocation so Lambda
                # retries (records already handled replay from the idempotency store).
                logger.warning("trigger not finished; Lambda will retry", error=str(error))
                retry = retry or error
        if retry is not None:
            raise retry
        return report.as_dict()

    def _on_trigger(self, report: Report, trigger: Trigger, context: LambdaContext) -> None:
        settings = self.runtime.settings
        routed = decide.route(
            trigger,
            self.runtime.all_pairs(instance_id=trigger.instance_id, pair_name=trigger.pair_name),
            account_id=settings.account_id,
            region=settings.region,
        )
        if isinstance(routed, decide.Ignore):
            logger.info("trigger ignored", reason=routed.reason, trigger=trigger.trigger_id)
            report.ignored.append(routed.reason)
            return
        request = failover.Request(pair=routed, trigger=trigger)
        report.outcomes.append(self.run(request, context))

    def run(self, request: failover.Request, context: LambdaContext) -> dict[str, Any]:
        """Handle one request at most once per trigger, however often it is delivered."""
        key = {
            "pair": request.pair.name,
            "trigger": request.trigger.trigger_id,
            "direction": request.direction.value,
        }
        logger.info("handling trigger", pair=request.pair.name, trigger=request.trigger.describe())
        try:
            result: dict[str, Any] = self._handle_once(key=key, request=request, context=context)
        except IdempotencyAlreadyInProgressError as error:
            raise TriggerInProgress(
                f"trigger {request.trigger.trigger_id} for pair {request.pair.name} is being "
                "handled by another invocation"
            ) from error
        except IdempotencyError as error:
            handled = self._handled.get(_key_id(key))
            if handled is None:
                raise AwsCallFailed("Idempotency", type(error).__name__, str(error)) from error
            # Handled and told; only Powertools' record of it failed. Failing now would bring
            # Lambda's retry back for nothing (the pair record knows the outcome was told)
            # and, once the retries ran out, dead-letter a trigger that was handled.
            logger.warning(
                "trigger handled; its idempotency record was not saved", error=str(error)
            )
            return handled
        finally:
            self._handled.pop(_key_id(key), None)
        return result

    def _handle(
        self, *, key: dict[str, str], request: failover.Request, context: LambdaContext
    ) -> dict[str, Any]:
        outcome = failover.handle(
            self.runtime,
            request,
            owner=f"{context.aws_request_id}:{key['trigger']}",
            remaining_seconds=context.get_remaining_time_in_millis() / 1000.0,
            holder=self.runtime.lease_holder(context.aws_request_id),
        )
        _record_metrics(self.runtime.pair_metrics, outcome)
        logger.info("outcome published", outcome=outcome.kind.value, summary=outcome.summary())
        result = outcome.to_dict()
        self._handled[_key_id(key)] = result
        return result

    def _dead_letter(self, report: Report, reason: str, record: object) -> None:
        logger.error("record dead-lettered", reason=reason)
        notify.dead_letter(
            self.runtime.clients.sqs,
            self.runtime.settings.dead_letter_queue_url,
            reason=reason,
            record=record,
        )
        metrics.add_metric(name="DeadLettered", unit=MetricUnit.Count, value=1)
        report.dead_lettered.append(reason)


def _key_id(key: dict[str, str]) -> str:
    return json.dumps(key, sort_keys=True)


def _record_with_id(event: Any, message_id: str) -> object:
    records = event.get("Records", []) if isinstance(event, dict) else []
    return next(
        (
            r
            for r in records
            if isinstance(r, dict) and r.get("Sns", {}).get("MessageId") == message_id
        ),
        event,
    )


def _record_metrics(pair_metrics: PairMetrics, outcome: Outcome) -> None:
    metrics.add_metric(name=f"Outcome_{outcome.kind.value}", unit=MetricUnit.Count, value=1)
    if outcome.swap_seconds is not None:
        metrics.add_metric(name="SwapSeconds", unit=MetricUnit.Seconds, value=outcome.swap_seconds)
    # The same per pair, for the dashboard.
    pair_metrics.put(
        f"{OUTCOME_METRIC_PREFIX}{outcome.kind.value}", MetricUnit.Count, 1, pair=outcome.pair
    )
    if outcome.swap_seconds is not None:
        pair_metrics.put(
            METRIC_SWAP_SECONDS, MetricUnit.Seconds, outcome.swap_seconds, pair=outcome.pair
        )


def build_dispatcher(environ: dict[str, str] | None = None) -> Dispatcher:
    """Read the settings once and prepare the clients; called on the first invocation."""
    settings = Settings.from_environment(environ if environ is not None else dict(os.environ))
    clients = AwsClients(
        region=settings.region, max_attempts=settings.failover.tuning.api_max_attempts
    )
    # Made now, not on first use: a client costs tens of milliseconds, better spent at cold
    # start than inside a failover (and the environment they read is the cold start's).
    for client in (clients.ec2, clients.sns, clients.sqs, clients.dynamodb, clients.cloudwatch):
        logger.debug("client ready", service=client.meta.service_model.service_name)
    return Dispatcher(failover.Runtime(settings=settings, clients=clients))


_dispatcher: Dispatcher | None = None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _dispatcher  # noqa: PLW0603 - built once per cold start, reused while warm
    if _dispatcher is None:
        _dispatcher = build_dispatcher()
    return _dispatcher.on_event(event, context)
