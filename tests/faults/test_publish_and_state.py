"""SNS, SQS and DynamoDB failing around a failover: the outcome's publish, the dead-letter
send, the pair's lease and the idempotency record.

Each fault is the service's own error (SNS Throttled, SQS RequestThrottled, DynamoDB
ProvisionedThroughputExceededException) raised by moto's backend in place of the change, so
botocore retries it as it would against AWS (backoff recorded, not slept) and a refused
call changes nothing. Every fault outlasts botocore's attempts (Tuning.api_max_attempts).

What must hold: never a silent success (an invocation that did not finish its job fails, so
that Lambda retries it, or its outcome says what happened), never a second move, and once
things recover exactly one truthful notification.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models import DynamoDBBackend
from moto.sns.exceptions import SNSException
from moto.sns.models import SNSBackend
from moto.sqs.exceptions import SQSException
from moto.sqs.models import SQSBackend

from eni_failover.errors import AwsCallFailed, DeadLetterFailed
from eni_failover.pair_record import PairRecord, PairRecords
from eni_failover_emulator.deployment import FakeLambdaContext
from tests.faults.views import ONE_SWAP, LambdaDeadline, Scene, facts, outcome_of
from tests.integration.conftest import TEST_TUNING
from tests.support import sns_event

# One whole round of botocore's attempts fails: the function sees the error.
ATTEMPTS = TEST_TUNING.api_max_attempts
CONFIRMS = "An earlier attempt of this trigger made the move; this confirms it."


class ServiceFault:
    """A moto backend method answering with a service error while armed.

    ``when`` sees the method's arguments by name and picks the calls that fail.
    """

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        backend: type,
        method: str,
        error: Callable[[], Exception],
        *,
        times: int,
        when: Callable[[dict[str, Any]], bool],
    ) -> None:
        self.left = times
        self.raised = 0
        original = getattr(backend, method)
        signature = inspect.signature(original)

        def failing(*args: Any, **kwargs: Any) -> Any:
            arguments = signature.bind(*args, **kwargs).arguments
            if self.left > 0 and when(arguments):
                self.left -= 1
                self.raised += 1
                raise error()
            return original(*args, **kwargs)

        monkeypatch.setattr(backend, method, failing)


def pair_key(arguments: dict[str, Any], name: str) -> str:
    """The state table key a DynamoDB call names: 'pair#…' or an idempotency record's."""
    return str(arguments[name]["id"]["S"])


def idempotency_record(arguments: dict[str, Any], name: str) -> bool:
    """Neither a pair record nor the looks that concurrent moves share (shared_looks)."""
    return not pair_key(arguments, name).startswith(("pair#", "looks#"))


def throttled_dynamodb() -> Exception:
    return DynamodbException(
        ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    )


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> Callable[..., ServiceFault]:
    def arm(*args: Any, **kwargs: Any) -> ServiceFault:
        return ServiceFault(monkeypatch, *args, **kwargs)

    return arm


def record_of(scene: Scene) -> PairRecord:
    settings = scene.deployment.settings
    return PairRecords(scene.deployment.clients.dynamodb, settings.state_table_name).read("nat")


def lease_holder(scene: Scene) -> str | None:
    """Who holds the pair's lease now, as the state table says."""
    item = scene.deployment.clients.dynamodb.get_item(
        TableName=scene.deployment.settings.state_table_name, Key={"id": {"S": "pair#nat"}}
    ).get("Item", {})
    holder = item.get("lease_owner", {}).get("S")
    return None if holder is None else str(holder)


def sns_publish_to_operators(
    scene: Scene, failing: Callable[..., ServiceFault], *, times: int
) -> ServiceFault:
    topic = scene.deployment.settings.notification_topic_arn
    return failing(
        SNSBackend,
        "publish",
        lambda: SNSException("Throttled", "Rate exceeded"),
        times=times,
        when=lambda a: a["arn"] == topic,
    )


# --- the outcome cannot be published -------------------------------------------------------


def test_outcome_publish_failing_after_the_swap_fails_the_invocation_and_the_retry_tells_it_once(
    scene: Scene, failing: Callable[..., ServiceFault]
) -> None:
    # Given a failed primary, and SNS refusing the outcome through all of botocore's attempts
    scene.sim.set_status(scene.primary, instance="impaired")
    refused = sns_publish_to_operators(scene, failing, times=ATTEMPTS)
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the swap is made, but nobody was told, so the invocation fails (Lambda retries
    # it), naming the publish that failed; the pair record already knows the move
    assert refused.raised == ATTEMPTS
    assert isinstance(first.error, AwsCallFailed)
    assert str(first.error).startswith("Publish failed: Throttled: ")
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    assert scene.notifications() == []
    assert record_of(scene).last_outcome == "swapped"

    # When Lambda retries the same event and SNS answers again
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))

    # Then the retry moves nothing and tells the swap, once, as this trigger's own
    assert retry.error is None
    assert scene.moves == ONE_SWAP
    [notification] = scene.notifications()
    assert outcome_of(notification) == "swapped"
    assert facts(notification)["notes"] == [CONFIRMS]
    # And a later delivery of the same event replays that answer without telling again
    assert scene.deliver(event, FakeLambdaContext()).error is None
    assert scene.notifications() == []
    assert scene.moves == ONE_SWAP


def test_outcome_publish_failing_on_every_attempt_fails_each_one_and_never_moves_twice(
    scene: Scene, failing: Callable[..., ServiceFault]
) -> None:
    # Given a failed primary, and SNS refusing every publish for longer than Lambda retries
    scene.sim.set_status(scene.primary, instance="impaired")
    sns_publish_to_operators(scene, failing, times=3 * ATTEMPTS)
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives and Lambda retries it twice
    attempts = [
        scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))
        for _ in range(3)
    ]

    # Then every attempt fails (after the last, Lambda sends the event to the on-failure
    # destination, the dead-letter queue whose alarm tells the operators), the interface
    # moved once, and the pair record says so for `eni-failover status`
    assert [type(a.error) for a in attempts] == [AwsCallFailed] * 3
    assert scene.moves == ONE_SWAP
    assert scene.interface().instance_id == scene.standby
    assert scene.notifications() == []
    assert record_of(scene).last_outcome == "swapped"
    assert lease_holder(scene) is None


# --- the dead-letter queue cannot be written -----------------------------------------------


def test_dead_letter_send_failing_fails_the_invocation_and_the_retry_dead_letters_once(
    scene: Scene, failing: Callable[..., ServiceFault]
) -> None:
    # Given a record the function cannot parse, and SQS refusing the dead-letter queue
    queue = scene.deployment.settings.dead_letter_queue_url.rsplit("/", 1)[-1]
    refused = failing(
        SQSBackend,
        "send_message",
        lambda: SQSException("RequestThrottled", "Request is throttled."),
        times=ATTEMPTS,
        when=lambda a: a["queue_name"] == queue,
    )
    event, context = sns_event("this is not an alarm"), FakeLambdaContext()

    # When it arrives
    first = scene.deliver(event, context)

    # Then the invocation fails rather than drop the record, saying why
    assert refused.raised == ATTEMPTS
    assert isinstance(first.error, DeadLetterFailed)
    assert "could not dead-letter a record" in str(first.error)
    assert "RequestThrottled" in str(first.error)
    assert scene.deployment.dead_letters() == []

    # When Lambda retries it and SQS answers again
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))

    # Then the record is dead-lettered once, with its reason; nothing moved or was told
    assert retry.error is None
    [dead] = scene.deployment.dead_letters()
    assert "is not JSON" in dead["reason"]
    assert scene.moves == Counter()
    assert scene.notifications() == []


# --- DynamoDB throttles the lease or the idempotency record --------------------------------


def test_lease_throttled_fails_before_anything_moves_and_the_retry_swaps_once(
    scene: Scene, failing: Callable[..., ServiceFault]
) -> None:
    # Given a failed primary, and DynamoDB throttling the write that takes the pair's lease
    scene.sim.set_status(scene.primary, instance="impaired")
    failing(
        DynamoDBBackend,
        "update_item",
        throttled_dynamodb,
        times=ATTEMPTS,
        when=lambda a: (
            pair_key(a, "key") == "pair#nat"
            and a["update_expression"].startswith("SET lease_owner")
        ),
    )
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the invocation fails before deciding anything: nothing moved, nobody told
    assert isinstance(first.error, AwsCallFailed)
    assert str(first.error).startswith("UpdateItem failed: ProvisionedThroughputExceeded")
    assert scene.moves == Counter()
    assert scene.notifications() == []

    # When Lambda retries it
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))

    # Then the retry swaps, and says so once
    assert retry.error is None
    assert scene.moves == ONE_SWAP
    assert [outcome_of(n) for n in scene.notifications()] == ["swapped"]


def test_in_progress_record_throttled_fails_before_anything_moves_and_the_retry_swaps_once(
    scene: Scene, failing: Callable[..., ServiceFault]
) -> None:
    # Given a failed primary, and DynamoDB throttling Powertools' in-progress record
    scene.sim.set_status(scene.primary, instance="impaired")
    failing(
        DynamoDBBackend,
        "put_item",
        throttled_dynamodb,
        times=ATTEMPTS,
        when=lambda a: idempotency_record(a, "item_attrs"),
    )
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the invocation fails before the failover starts
    assert isinstance(first.error, AwsCallFailed)
    assert str(first.error).startswith("Idempotency failed: IdempotencyPersistenceLayerError")
    assert scene.moves == Counter()
    assert scene.notifications() == []

    # When Lambda retries it
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))

    # Then the retry swaps, and says so once
    assert retry.error is None
    assert scene.moves == ONE_SWAP
    assert [outcome_of(n) for n in scene.notifications()] == ["swapped"]


def test_completion_record_throttled_after_the_outcome_is_told_neither_fails_nor_tells_again(
    scene: Scene, failing: Callable[..., ServiceFault]
) -> None:
    # Given a failed primary, and DynamoDB throttling Powertools' record that the trigger
    # completed, written after the swap and its notification
    scene.sim.set_status(scene.primary, instance="impaired")
    failing(
        DynamoDBBackend,
        "update_item",
        throttled_dynamodb,
        times=ATTEMPTS,
        when=lambda a: idempotency_record(a, "key"),
    )
    event = scene.alarm()
    first_context = LambdaDeadline(remaining_seconds=7.0)

    # When the alarm arrives
    first = scene.deliver(event, first_context)

    # Then the invocation succeeds: the swap was made and told, and failing now would only
    # make Lambda's retry tell it again (and, once the retries ran out, dead-letter a
    # trigger that was handled)
    assert first.error is None
    assert first.report is not None
    assert [o["outcome"] for o in first.report["outcomes"]] == ["swapped"]
    assert scene.moves == ONE_SWAP
    assert [outcome_of(n) for n in scene.notifications()] == ["swapped"]

    # When the same event comes again once the in-progress record has expired (an SNS
    # redelivery: the idempotency record never completed)
    first_context.wait_until_passed()
    again = scene.deliver(event, FakeLambdaContext())

    # Then the pair record's memory of the told outcome answers: nothing moves, nobody is
    # told twice, and the answer says so
    assert again.error is None
    assert again.report is not None
    [replayed] = again.report["outcomes"]
    assert replayed["outcome"] == "swapped"
    assert any("already" in note for note in replayed["notes"]), replayed["notes"]
    assert scene.moves == ONE_SWAP
    assert scene.notifications() == []
    assert lease_holder(scene) is None


def test_lease_release_throttled_after_the_outcome_is_told_neither_fails_nor_tells_again(
    scene: Scene, failing: Callable[..., ServiceFault]
) -> None:
    # Given a failed primary, and DynamoDB throttling the write that records the outcome
    # and gives the lease back, after the swap was told
    scene.sim.set_status(scene.primary, instance="impaired")
    refused = failing(
        DynamoDBBackend,
        "update_item",
        throttled_dynamodb,
        times=ATTEMPTS,
        when=lambda a: (
            pair_key(a, "key") == "pair#nat" and "REMOVE lease_owner" in a["update_expression"]
        ),
    )
    event = scene.alarm()

    # When the alarm arrives
    first = scene.deliver(event, FakeLambdaContext())

    # Then the invocation succeeds: the operators have the swap, and a failed invocation
    # would only have Lambda's retry tell it again
    assert refused.raised == ATTEMPTS
    assert first.error is None
    assert scene.moves == ONE_SWAP
    assert [outcome_of(n) for n in scene.notifications()] == ["swapped"]
    # And a redelivery of the same event replays the answer, telling nobody again
    assert scene.deliver(event, FakeLambdaContext()).error is None
    assert scene.notifications() == []
    assert scene.moves == ONE_SWAP
