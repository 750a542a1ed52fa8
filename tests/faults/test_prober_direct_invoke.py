"""The prober hands its trigger straight to the failover function, and falls back to the
trigger topic when Lambda does not take it.

Lambda's Invoke runs nothing under moto without Docker, so the invoke is the one function
the prober is given for it (eni_failover.functions.invoke_async in AWS, tested at its
boundary below with botocore's Stubber); everything else is the prober's real loop against
moto and listeners that stand for the pair's service, the primary's refusing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from eni_failover.config import FailoverConfig, Probing
from eni_failover.errors import AwsCallFailed
from eni_failover.functions import invoke_async
from eni_failover.prober import INVOKE_FUNCTION, Prober
from eni_failover.triggers import parse_event
from eni_failover_ec2sim import PairTopology
from eni_failover_emulator.delivery import drain
from eni_failover_emulator.service import Behaviour
from tests.integration.conftest import TEST_TUNING, ProberAccount, pair_of, prober_account
from tests.support import REGION, FakeClock

# model_construct: the deployable minimum interval is 1 s, a test's is not.
FAST = Probing.model_construct(
    interval_seconds=0.2, timeout_seconds=0.1, failures=3, confirm_seconds=0.05, verify_tls=False
)
ROUNDS = FAST.failures + 3
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:EniFailover-Function"


@pytest.fixture
def account(topology: PairTopology) -> Iterator[ProberAccount]:
    pair = pair_of(topology).model_copy(update={"probe": "http://:80/health"})
    failover = FailoverConfig(pairs=(pair,), tuning=TEST_TUNING, probing=FAST)
    with prober_account(topology, failover) as account:
        account.services.primary.set(Behaviour.DOWN)
        yield account


def probe_on(account: ProberAccount, invoke: Any) -> Prober:
    clock = FakeClock()
    prober = Prober(
        settings=account.settings,
        clients=account.clients,
        clock=clock,
        resolve=account.services.resolve,
        invoke_function=invoke,
    )
    prober.run(
        should_stop=lambda: False, deadline=clock.monotonic() + ROUNDS * FAST.interval_seconds
    )
    return prober


def on_the_topic(account: ProberAccount) -> list[dict[str, Any]]:
    return [
        json.loads(json.loads(body)["Message"])
        for body in drain(account.clients.sqs, account.capture_url)
    ]


def test_a_failed_service_is_handed_to_the_function_directly_not_through_the_topic(
    account: ProberAccount,
) -> None:
    invoked: list[str] = []

    # When the prober sees the primary's service fail, with the function's invoke at hand
    prober = probe_on(account, invoked.append)

    # Then the function got the trigger once, as the event it parses, and the topic nothing
    [message] = invoked
    [(_, trigger)] = parse_event(json.loads(message))
    assert not isinstance(trigger, Exception)
    assert trigger.pair_name == "nat"
    assert on_the_topic(account) == []
    assert prober.triggers_sent == 1
    assert INVOKE_FUNCTION not in prober.aws_errors


def test_when_lambda_does_not_take_the_trigger_it_goes_through_the_topic_once(
    account: ProberAccount,
) -> None:
    tried: list[str] = []

    def throttled(message: str) -> None:
        tried.append(message)
        raise AwsCallFailed("Invoke", "TooManyRequestsException", "Rate exceeded")

    # When the prober sees the failure and Lambda throttles its invoke
    prober = probe_on(account, throttled)

    # Then the same trigger went through the trigger topic, once, and the episode is open
    [published] = on_the_topic(account)
    assert [json.loads(m)["id"] for m in tried] == [published["id"]]
    assert prober.triggers_sent == 1
    assert prober.trackers["nat"].episode_open
    # And the failed invoke is kept for `check`, which reports the prober's failing calls
    assert "TooManyRequestsException" in prober.aws_errors[INVOKE_FUNCTION].error


# --- the boundary: what the prober asks of Lambda ---------------------------------------


@pytest.fixture
def lambda_() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "lambda",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_the_invoke_is_asynchronous_with_the_trigger_as_the_event(
    lambda_: tuple[Any, Stubber],
) -> None:
    client, stubber = lambda_
    # An asynchronous invoke: Lambda queues the event and answers 202 at once, and the
    # function's own retries and on-failure queue apply, as to SNS's delivery.
    stubber.add_response(
        "invoke",
        {"StatusCode": 202},
        {"FunctionName": FUNCTION_ARN, "InvocationType": "Event", "Payload": b'{"id": "x"}'},
    )
    invoke_async(client, FUNCTION_ARN, '{"id": "x"}')


def test_an_invoke_lambda_refuses_or_answers_oddly_is_a_failed_call(
    lambda_: tuple[Any, Stubber],
) -> None:
    client, stubber = lambda_
    stubber.add_client_error("invoke", "TooManyRequestsException", "Rate exceeded", 429)
    with pytest.raises(AwsCallFailed, match="Invoke failed: TooManyRequestsException"):
        invoke_async(client, FUNCTION_ARN, "{}")
    # A synchronous answer (200) means the event was not queued the way the prober relies on.
    stubber.add_response("invoke", {"StatusCode": 200})
    with pytest.raises(AwsCallFailed, match="expected 202"):
        invoke_async(client, FUNCTION_ARN, "{}")
