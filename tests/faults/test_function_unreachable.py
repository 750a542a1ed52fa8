"""The failover function when an AWS API does not answer: EC2, SNS, DynamoDB or SQS.

A connection refused, a connect timeout or a read timeout (tests/faults/unreachable.py)
through all of botocore's attempts is a failed call like a service's error answer: the same
outcome, the same retry, the same dead-letter path. Never an exception Lambda sees as a
crash with nothing told, never a second move, and once the API answers, exactly one
truthful notification.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError

from eni_failover.errors import AwsCallFailed, DeadLetterFailed, FailoverIncomplete
from eni_failover_emulator.deployment import FakeLambdaContext
from eni_failover_emulator.events import alarm_change_event
from tests.faults.unreachable import NO_ANSWERS, NoAnswer
from tests.faults.views import ONE_SWAP, Scene, facts, outcome_of
from tests.integration.conftest import TEST_TUNING
from tests.support import put_service_alarm, sns_event

ATTEMPTS = TEST_TUNING.api_max_attempts
SERVICE_ALARM = "web-unhealthy"

no_answer = pytest.mark.parametrize("error", NO_ANSWERS.values(), ids=NO_ANSWERS.keys())


def assert_the_retry_swaps_once(
    scene: Scene, event: dict[str, Any], context: FakeLambdaContext
) -> None:
    """Lambda's retry of the same event (same request ID) leaves the interface on the
    standby after exactly one swap, told once."""
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))
    assert retry.error is None
    assert scene.moves == ONE_SWAP
    assert [outcome_of(n) for n in scene.notifications()] == ["swapped"]


@pytest.mark.parametrize(
    "operation",
    [
        "DescribeNetworkInterfaces",
        "DescribeInstances",
        "DescribeInstanceStatus",
        "DetachNetworkInterface",
    ],
)
@no_answer
def test_ec2_without_answer_before_the_move_is_told_failed_and_the_retry_swaps(
    scene: Scene, error: type[BotoCoreError], operation: str
) -> None:
    # Given a failed primary, and EC2 not answering one call that comes before anything
    # has moved, through all of botocore's attempts
    scene.sim.set_status(scene.primary, instance="impaired")
    unanswered = NoAnswer(scene.deployment.clients.ec2, operation, error, times=ATTEMPTS)
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then nothing moved, the operators are told it failed and why, and the invocation
    # fails so that Lambda retries it
    assert unanswered.raised == ATTEMPTS
    assert isinstance(first.error, FailoverIncomplete)
    assert scene.moves == Counter()
    [failed] = scene.notifications()
    report = facts(failed)
    assert report["outcome"] == "failed"
    assert f"{operation} failed: {error.__name__}: " in report["error"]
    assert scene.interface().instance_id == scene.primary

    # When Lambda retries it and EC2 answers
    # Then the retry swaps, and says so once
    assert_the_retry_swaps_once(scene, event, context)


@no_answer
def test_attach_without_answer_is_tried_again_by_the_swap_itself(
    scene: Scene, error: type[BotoCoreError]
) -> None:
    # Given a failed primary, and EC2 not answering one whole round of botocore's attach
    # attempts (the interface is already detached by then)
    scene.sim.set_status(scene.primary, instance="impaired")
    unanswered = NoAnswer(
        scene.deployment.clients.ec2, "AttachNetworkInterface", error, times=ATTEMPTS
    )

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then the swap tries the attach again within its deadline and finishes: one swap,
    # one notification whose timeline shows the attach that got no answer
    assert unanswered.raised == ATTEMPTS
    assert delivery.error is None
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    [notification] = scene.notifications()
    assert outcome_of(notification) == "swapped"
    steps = facts(notification)["steps"]
    assert "attach failed, retrying" in [s["step"] for s in steps]
    assert any(error.__name__ in s.get("detail", "") for s in steps)


@no_answer
def test_cloudwatch_without_answer_about_a_service_alarm_is_told_failed_and_the_retry_swaps(
    scene: Scene, error: type[BotoCoreError]
) -> None:
    # Given a pair triggered by a service alarm that says ALARM, and CloudWatch not
    # answering the function's look at that alarm's state now
    failover = scene.deployment.settings.failover
    [pair] = failover.pairs
    scene.deployment = scene.environment_for(
        failover.model_copy(
            update={"pairs": (pair.model_copy(update={"trigger_alarms": (SERVICE_ALARM,)}),)}
        )
    )
    cloudwatch = scene.deployment.clients.cloudwatch
    put_service_alarm(cloudwatch, SERVICE_ALARM)
    unanswered = NoAnswer(cloudwatch, "DescribeAlarms", error, times=ATTEMPTS)
    event, context = sns_event(alarm_change_event(alarm_name=SERVICE_ALARM)), FakeLambdaContext()

    # When the alarm's change arrives
    first = scene.deliver(event, context)

    # Then nothing moved, the operators are told it failed and why, and Lambda will retry
    assert unanswered.raised == ATTEMPTS
    assert isinstance(first.error, FailoverIncomplete)
    assert scene.moves == Counter()
    [failed] = scene.notifications()
    assert f"DescribeAlarms failed: {error.__name__}: " in facts(failed)["error"]

    # When Lambda retries it and CloudWatch answers
    # Then the retry swaps, and says so once
    assert_the_retry_swaps_once(scene, event, context)


@no_answer
def test_sns_without_answer_after_the_swap_fails_the_invocation_and_the_retry_tells_it_once(
    scene: Scene, error: type[BotoCoreError]
) -> None:
    # Given a failed primary, and SNS not answering the outcome's publish
    scene.sim.set_status(scene.primary, instance="impaired")
    unanswered = NoAnswer(scene.deployment.clients.sns, "Publish", error, times=ATTEMPTS)
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the swap is made, nobody was told, and the invocation fails naming the publish
    assert unanswered.raised == ATTEMPTS
    assert isinstance(first.error, AwsCallFailed)
    assert str(first.error).startswith(f"Publish failed: {error.__name__}: ")
    assert scene.moves == ONE_SWAP
    assert scene.notifications() == []

    # When Lambda retries it and SNS answers
    # Then the retry moves nothing and tells the swap once
    assert_the_retry_swaps_once(scene, event, context)


@no_answer
def test_dynamodb_without_answer_for_the_lease_fails_before_anything_moves(
    scene: Scene, error: type[BotoCoreError]
) -> None:
    # Given a failed primary, and DynamoDB not answering the write that takes the lease
    scene.sim.set_status(scene.primary, instance="impaired")
    unanswered = NoAnswer(
        scene.deployment.clients.dynamodb,
        "UpdateItem",
        error,
        times=ATTEMPTS,
        when=lambda body: "pair#nat" in body and "SET lease_owner" in body,
    )
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the invocation fails before deciding anything, with the project's own error
    assert unanswered.raised == ATTEMPTS
    assert isinstance(first.error, AwsCallFailed)
    assert str(first.error).startswith(f"UpdateItem failed: {error.__name__}: ")
    assert scene.moves == Counter()
    assert scene.notifications() == []

    # When Lambda retries it
    # Then the retry swaps, and says so once
    assert_the_retry_swaps_once(scene, event, context)


@no_answer
def test_dynamodb_without_answer_for_the_in_progress_record_fails_before_anything_moves(
    scene: Scene, error: type[BotoCoreError]
) -> None:
    # Given a failed primary, and DynamoDB not answering Powertools' in-progress record
    scene.sim.set_status(scene.primary, instance="impaired")
    unanswered = NoAnswer(
        scene.deployment.clients.dynamodb,
        "PutItem",
        error,
        times=ATTEMPTS,
        when=lambda body: "pair#" not in body and "looks#" not in body,
    )
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the invocation fails before the failover starts, with the project's own error
    assert unanswered.raised == ATTEMPTS
    assert isinstance(first.error, AwsCallFailed)
    assert str(first.error).startswith("Idempotency failed: IdempotencyPersistenceLayerError")
    assert scene.moves == Counter()
    assert scene.notifications() == []

    # When Lambda retries it
    # Then the retry swaps, and says so once
    assert_the_retry_swaps_once(scene, event, context)


@no_answer
def test_sqs_without_answer_for_a_dead_letter_fails_the_invocation_and_the_retry_keeps_it(
    scene: Scene, error: type[BotoCoreError]
) -> None:
    # Given a record the function cannot parse, and SQS not answering
    unanswered = NoAnswer(scene.deployment.clients.sqs, "SendMessage", error, times=ATTEMPTS)
    event, context = sns_event("this is not an alarm"), FakeLambdaContext()

    # When it arrives
    first = scene.deliver(event, context)

    # Then the invocation fails rather than drop the record, saying why
    assert unanswered.raised == ATTEMPTS
    assert isinstance(first.error, DeadLetterFailed)
    assert error.__name__ in str(first.error)
    assert scene.deployment.dead_letters() == []

    # When Lambda retries it and SQS answers
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))

    # Then the record is dead-lettered once
    assert retry.error is None
    [dead] = scene.deployment.dead_letters()
    assert "is not JSON" in dead["reason"]
    assert scene.notifications() == []
