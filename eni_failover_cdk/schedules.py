"""Invoking a function on an EventBridge schedule, the one way every schedule of the stack does.

EventBridge invokes the function asynchronously: a function error gets the function's own
retries and on-failure destination; an invoke EventBridge itself cannot make (throttled
past the event age, permission lost) lands in the dead-letter queue when one is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def invoke_on_schedule(
    scope: Construct,
    construct_id: str,
    *,
    function: lambda_.IFunction,
    schedule: str,
    description: str,
    request: Mapping[str, Any] | None,
    max_event_age: Duration,
    dead_letter_queue: sqs.IQueue | None,
) -> events.Rule:
    """A rule that invokes ``function`` on ``schedule`` with ``request`` as its event.

    Without a request the function receives EventBridge's own scheduled event.
    """
    rule = events.Rule(
        scope,
        construct_id,
        description=description,
        schedule=events.Schedule.expression(schedule),
    )
    rule.add_target(
        targets.LambdaFunction(
            function,
            event=None if request is None else events.RuleTargetInput.from_object(dict(request)),
            dead_letter_queue=dead_letter_queue,
            max_event_age=max_event_age,
        )
    )
    return rule
