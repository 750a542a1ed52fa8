"""Lambda: the prober hands its trigger straight to the failover function.

An asynchronous invoke (InvocationType "Event") is the same delivery SNS makes to a
subscribed function, minus SNS: Lambda queues the event and runs the function with the
function's own asynchronous settings (its retries, its maximum event age, its on-failure
queue), so a trigger invoked directly is retried and dead-lettered exactly as one that
came through the trigger topic. AWS publishes no latency for either hop; docs/benchmarks.md
(section 7) models what skipping SNS saves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eni_failover.errors import AWS_ERRORS, AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

# What Lambda answers when it has queued an asynchronous invocation.
QUEUED = 202


def invoke_async(client: LambdaClient, function_arn: str, message: str) -> None:
    """Queue one event (a trigger message's JSON text) for the function; raises
    AwsCallFailed when Lambda did not take it."""
    try:
        response = client.invoke(
            FunctionName=function_arn, InvocationType="Event", Payload=message.encode("utf-8")
        )
    except AWS_ERRORS as error:
        raise AwsCallFailed.from_client_error("Invoke", error) from error
    status = response.get("StatusCode")
    if status != QUEUED:
        raise AwsCallFailed(
            "Invoke", f"HTTP {status}", f"expected {QUEUED} (the event queued), got {status}"
        )
