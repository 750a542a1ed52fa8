"""RequestLimitExceeded on the calls a swap makes, injected in moto's EC2 backend.

The error is a real EC2 error response, so botocore's standard retry mode retries it with
backoff (recorded, not slept) exactly as it would against AWS; the failover sees it only
when botocore's attempts (Tuning.api_max_attempts) run out.
"""

from __future__ import annotations

from collections import Counter

import pytest

from eni_failover.errors import FailoverIncomplete
from eni_failover.failover import RESERVE_SECONDS
from eni_failover_emulator.deployment import FakeLambdaContext
from tests.faults.views import ONE_SWAP, LambdaDeadline, Scene, facts, outcome_of
from tests.integration.conftest import TEST_TUNING

ATTEMPTS = TEST_TUNING.api_max_attempts
THROTTLED = "RequestLimitExceeded"
PLAIN_SWAP = ["detach requested", "detached", "attach requested", "attached"]


@pytest.mark.parametrize(
    "operation",
    [
        "DescribeNetworkInterfaces",
        "DescribeInstances",
        "DescribeInstanceStatus",
        "DetachNetworkInterface",
        "AttachNetworkInterface",
    ],
)
def test_throttling_within_botocores_retries_is_invisible_to_the_swap(
    scene: Scene, retry_sleeps: list[float], operation: str
) -> None:
    # Given a failed primary, and EC2 throttling the next attempts of one call, one
    # fewer than botocore will make
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.fail(operation, THROTTLED, times=ATTEMPTS - 1)

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then botocore retried with backoff and the swap went through in one invocation
    assert delivery.error is None
    assert len(retry_sleeps) == ATTEMPTS - 1
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    # And the one notification shows a plain swap: the failover never saw the throttling
    [notification] = scene.notifications()
    assert outcome_of(notification) == "swapped"
    assert [s["step"] for s in facts(notification)["steps"]] == PLAIN_SWAP


@pytest.mark.parametrize(
    "operation",
    [
        "DescribeNetworkInterfaces",
        "DescribeInstances",
        "DescribeInstanceStatus",
        "DetachNetworkInterface",
    ],
)
def test_throttling_beyond_the_retry_budget_before_the_move_fails_and_the_retry_swaps(
    scene: Scene, operation: str
) -> None:
    # Given a failed primary, and EC2 throttling every attempt botocore makes of one call
    # that comes before anything has moved
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.fail(operation, THROTTLED, times=ATTEMPTS)
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the invocation fails, so that Lambda retries it, saying which call failed;
    # nothing has moved
    assert isinstance(first.error, FailoverIncomplete)
    assert str(first.error).startswith(f"pair nat: {operation} failed: {THROTTLED}: ")
    assert scene.moves["DetachNetworkInterface"] == 0
    eni = scene.interface()
    assert (eni.instance_id, eni.attachment_status) == (scene.primary, "attached")
    # And the operators are told it failed, why, and that the interface is still on the primary
    [failed] = scene.notifications()
    assert failed["subject"] == "ENI failover nat: failover FAILED, action needed"
    report = facts(failed)
    assert report["outcome"] == "failed"
    assert f"{operation} failed: {THROTTLED}" in report["error"]
    [interface] = report["interfaces"]
    assert interface["attached_to"] == scene.primary

    # When Lambda retries the same event (same request ID) and EC2 answers again
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))

    # Then the retry makes the swap, and says so once
    assert retry.error is None
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    assert [outcome_of(n) for n in scene.notifications()] == ["swapped"]


def test_attach_throttled_beyond_the_retry_budget_is_retried_by_the_swap_itself(
    scene: Scene,
) -> None:
    # Given a failed primary, and EC2 throttling one whole round of botocore's attach
    # attempts (the interface is already detached by then)
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.fail("AttachNetworkInterface", THROTTLED, times=ATTEMPTS)

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then the swap tries the attach again within its deadline and finishes
    assert delivery.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.attachment_status) == (scene.standby, "attached")
    assert eni.device_index == scene.topology.device_index
    assert scene.moves == ONE_SWAP
    # And the single notification is a swap whose timeline shows the retried attach
    [notification] = scene.notifications()
    assert outcome_of(notification) == "swapped"
    steps = facts(notification)["steps"]
    assert [s["step"] for s in steps] == [
        "detach requested",
        "detached",
        "attach failed, retrying",
        "attach requested",
        "attached",
    ]
    assert THROTTLED in steps[2]["detail"]


def test_describe_throttled_while_the_interface_floats_is_a_missed_poll(scene: Scene) -> None:
    # Given a failed primary, and EC2 throttling the interface polls right after the detach
    # (longer than botocore's attempts: two whole polls fail)
    sim = scene.sim
    sim.set_status(scene.primary, instance="impaired")
    sim.on(
        "DetachNetworkInterface",
        lambda _: sim.fail("DescribeNetworkInterfaces", THROTTLED, times=2 * ATTEMPTS),
        times=1,
    )

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then the throttled polls are polls missed, not a move given up: the same invocation
    # sees the interface float, attaches it and reports one swap, noting the throttling
    assert delivery.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.device_index) == (scene.standby, scene.topology.device_index)
    assert scene.moves == ONE_SWAP
    [swapped] = scene.notifications()
    assert outcome_of(swapped) == "swapped"
    steps = [s["step"] for s in facts(swapped)["steps"]]
    assert steps == ["detach requested", "poll throttled, polling on", *PLAIN_SWAP[1:]]


def test_describe_throttled_past_the_deadline_is_reported_and_resumed(scene: Scene) -> None:
    # Given a failed primary, EC2 throttling every interface poll after the detach, and an
    # invocation with little time left
    sim = scene.sim
    sim.set_status(scene.primary, instance="impaired")
    sim.on(
        "DetachNetworkInterface",
        lambda _: sim.fail("DescribeNetworkInterfaces", THROTTLED, times=100_000),
        times=1,
    )
    event = scene.alarm()
    context = LambdaDeadline(remaining_seconds=RESERVE_SECONDS + 1)

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the swap polls on until its deadline and then reports a failure that says it
    # does not know where the interface is; Lambda will retry
    assert isinstance(first.error, FailoverIncomplete)
    assert scene.moves == Counter(DetachNetworkInterface=1)
    [failed] = scene.notifications()
    assert outcome_of(failed) == "failed"
    report = facts(failed)
    assert f"DescribeNetworkInterfaces failed: {THROTTLED}" in report["error"]
    [interface] = report["interfaces"]
    assert interface["status"] == "unknown (EC2 did not answer)"

    # When EC2 answers again and Lambda retries the same event
    scene.ec2_recovers()
    context.wait_until_passed()
    retry = scene.deliver(event, context.retry_context())

    # Then the retry resumes the move: one attach, at the original device index
    assert retry.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.device_index) == (scene.standby, scene.topology.device_index)
    assert scene.moves == ONE_SWAP
    [swapped] = scene.notifications()
    assert outcome_of(swapped) == "swapped"
    assert facts(swapped)["resumed"] is True
    assert "resumed an interrupted move" in swapped["message"]
