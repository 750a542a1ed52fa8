"""SNS-to-Lambda delivery, as Lambda's SNS event source shapes it.

moto delivers SNS to SQS but cannot invoke Lambda without Docker. What SNS delivered to
the stand-in queue is the same notification, in SNS's JSON envelope; Lambda receives it as
a record with a few keys renamed. This turns one into the other, field for field.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def lambda_record(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": envelope["Type"],
            "MessageId": envelope["MessageId"],
            "TopicArn": envelope["TopicArn"],
            "Subject": envelope.get("Subject"),
            "Message": envelope["Message"],
            "Timestamp": envelope["Timestamp"],
            "SignatureVersion": envelope.get("SignatureVersion", "1"),
            "Signature": envelope.get("Signature", ""),
            # The SQS envelope spells these with "URL"; the Lambda event with "Url".
            "SigningCertUrl": envelope.get("SigningCertURL", envelope.get("SigningCertUrl")),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL", envelope.get("UnsubscribeUrl")),
            "MessageAttributes": envelope.get("MessageAttributes", {}),
        },
    }


def sns_delivery(message: dict[str, Any], *, topic_arn: str) -> dict[str, Any]:
    """The event Lambda gets when SNS delivers ``message`` (JSON) from ``topic_arn``."""
    envelope = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": json.dumps(message),
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    }
    return {"Records": [lambda_record(envelope, f"{topic_arn}:{uuid.uuid4()}")]}


def take_lambda_events(
    sqs: SQSClient, queue_url: str, subscription_arn: str
) -> list[dict[str, Any]]:
    """Every delivery waiting in the stand-in queue, each as the event Lambda would get."""
    return [
        {"Records": [lambda_record(json.loads(body), subscription_arn)]}
        for body in drain(sqs, queue_url)
    ]


def drain(sqs: SQSClient, queue_url: str) -> list[str]:
    """Receive and delete every message in a queue, oldest first."""
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def hold_all(sqs: SQSClient, queue_url: str, *, seconds: int) -> list[tuple[str, str]]:
    """Receive every message in a queue, oldest first, without deleting any: each body with
    its receipt handle. Received messages stay out of sight for `seconds` (so the loop ends);
    `take` deletes them, `release` shows them again at once."""
    held: list[tuple[str, str]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=seconds
        ).get("Messages", [])
        if not messages:
            return held
        held += [(message["Body"], message["ReceiptHandle"]) for message in messages]


def take(sqs: SQSClient, queue_url: str, receipts: list[str]) -> None:
    for receipt in receipts:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)


def release(sqs: SQSClient, queue_url: str, receipts: list[str]) -> None:
    for receipt in receipts:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
        )


@dataclass(frozen=True)
class Invocation:
    """One asynchronous invocation of the function with one delivery, and how it ended."""

    message_id: str
    result: dict[str, Any] | None
    error: Exception | None  # what Lambda reports as a FunctionError, and retries


def invoke_each_at_once(
    events: list[dict[str, Any]], invoke: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[Invocation]:
    """Lambda's part: one invocation per SNS delivery, all at once (each thread stands for
    an execution environment of its own); their ends, in delivery order."""

    def one(event: dict[str, Any]) -> Invocation:
        message_id = str(event["Records"][0]["Sns"]["MessageId"])
        try:
            return Invocation(message_id, invoke(event), None)
        except Exception as error:  # any error ends the invocation, as in Lambda
            return Invocation(message_id, None, error)

    if not events:
        return []
    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        return list(pool.map(one, events))
