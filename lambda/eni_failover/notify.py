"""Publish outcomes to the notification topic, and dead-letter what cannot be handled."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from eni_failover.errors import AWS_ERRORS, AwsCallFailed, DeadLetterFailed
from eni_failover.outcome import Outcome

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


def publish_outcome(client: SNSClient, topic_arn: str, outcome: Outcome) -> str:
    """One message per handled trigger; attributes let subscribers filter by outcome or pair."""
    try:
        response = client.publish(
            TopicArn=topic_arn,
            Subject=outcome.subject(),
            Message=outcome.body(),
            MessageAttributes={
                "outcome": {"DataType": "String", "StringValue": outcome.kind.value},
                "pair": {"DataType": "String", "StringValue": outcome.pair},
                "direction": {"DataType": "String", "StringValue": outcome.direction},
            },
        )
    except AWS_ERRORS as error:
        raise AwsCallFailed.from_client_error("Publish", error) from error
    return response["MessageId"]


def publish_text(client: SNSClient, topic_arn: str, *, subject: str, message: str) -> None:
    """A plain notice (readiness changes, pause and resume) on the same topic."""
    try:
        client.publish(TopicArn=topic_arn, Subject=subject[:100], Message=message)
    except AWS_ERRORS as error:
        raise AwsCallFailed.from_client_error("Publish", error) from error


def publish_trigger(client: SNSClient, topic_arn: str, message: str) -> None:
    """A trigger for the failover function, on the trigger topic (the prober sends these)."""
    try:
        client.publish(TopicArn=topic_arn, Message=message)
    except AWS_ERRORS as error:
        raise AwsCallFailed.from_client_error("Publish", error) from error


# SQS takes 256 KiB per message; keep room for the attributes.
MAX_DEAD_LETTER_BYTES = 250_000


def dead_letter(client: SQSClient, queue_url: str, *, reason: str, record: object) -> None:
    """Keep an event we could not handle, with the reason, where operators will see it.

    Hostile input must not stop it from arriving: text that UTF-8 cannot carry (a lone
    surrogate) is replaced in the reason, and a record too large for SQS is kept as the
    start of its JSON text, marked as cut, so the body always parses.
    """
    reason = reason.encode("utf-8", errors="replace").decode("utf-8")
    body = json.dumps({"reason": reason, "record": record}, default=str)
    if len(body) > MAX_DEAD_LETTER_BYTES:
        text = json.dumps(record, default=str)
        body = json.dumps(
            {
                "reason": reason,
                "record_truncated": text[: MAX_DEAD_LETTER_BYTES // 2],
                "record_length": len(text),
            }
        )
    try:
        client.send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000]}},
        )
    except AWS_ERRORS as error:
        failed = AwsCallFailed.from_client_error("SendMessage", error)
        raise DeadLetterFailed(f"could not dead-letter a record ({reason}): {failed}") from error
