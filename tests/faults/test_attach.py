"""The attach after a successful detach: the standby failing, gone, or EC2 refusing.

By then the interface serves no one, so the swap keeps trying within its deadline. When it
cannot finish, it reports the interface as detached and where it came from, keeps the
journal (the device index) and leaves the move for Lambda's retry to finish.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ec2sim import CallEvent
from emulator.deployment import FakeLambdaContext
from eni_failover.errors import FailoverIncomplete
from eni_failover.failover import RESERVE_SECONDS
from tests.faults.views import LambdaDeadline, Scene, facts, instance_state, outcome_of

ONE_SWAP = Counter(DetachNetworkInterface=1, AttachNetworkInterface=1)
DETACHED = "DETACHED, attached to nothing"


def assert_failed_leaving_it_detached(scene: Scene, notification: dict[str, Any]) -> None:
    """A failure notice that says the interface floats, and where it was taken from."""
    assert notification["subject"] == "ENI failover nat: failover FAILED, action needed"
    report = facts(notification)
    assert report["outcome"] == "failed"
    assert report["from_instance_id"] == scene.primary
    [interface] = report["interfaces"]
    assert interface["exists"] is True
    assert interface["attached_to"] is None
    assert DETACHED in str(notification["message"])
    assert scene.interface().floating


def test_standby_impaired_after_the_detach_is_waited_for_within_the_deadline(
    scene: Scene,
) -> None:
    # Given a failed primary, and a standby whose instance check fails just as the interface
    # comes off the primary, and passes again one look later
    sim = scene.sim

    def standby_blips(_: CallEvent) -> None:
        sim.set_status(scene.standby, instance="impaired")
        sim.on(
            "DescribeInstanceStatus",
            lambda _: sim.set_status(scene.standby, instance="ok"),
            times=1,
        )

    sim.set_status(scene.primary, instance="impaired")
    sim.on("DetachNetworkInterface", standby_blips, times=1)

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then the swap waits for the standby instead of giving up, and finishes the move
    assert delivery.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.attachment_status) == (scene.standby, "attached")
    assert scene.moves == ONE_SWAP
    [notification] = scene.notifications()
    report = facts(notification)
    assert report["outcome"] == "swapped"
    assert "waiting for the target" in [s["step"] for s in report["steps"]]


def test_standby_impaired_for_good_leaves_the_interface_detached_reported_and_resumable(
    scene: Scene,
) -> None:
    # Given the floating interface on the primary at device index 2, a failed primary, and
    # a standby whose instance check fails as the interface comes off the primary
    scene.reattach_at(2)
    sim = scene.sim
    sim.set_status(scene.primary, instance="impaired")
    sim.on(
        "DetachNetworkInterface",
        lambda _: sim.set_status(scene.standby, instance="impaired"),
        times=1,
    )
    event = scene.alarm()
    context = LambdaDeadline(remaining_seconds=RESERVE_SECONDS + 1)

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the interface is left detached, never attached to the impaired standby, and
    # the failure notice says so and why; Lambda will retry
    assert isinstance(first.error, FailoverIncomplete)
    assert scene.moves == Counter(DetachNetworkInterface=1)
    [failed] = scene.notifications()
    assert_failed_leaving_it_detached(scene, failed)
    assert "impaired" in facts(failed)["error"]

    # When Lambda retries while the standby is still impaired
    second = scene.deliver(event, context.retry_context(RESERVE_SECONDS + 1))

    # Then it is a failure again, not a calm refusal: the interface still serves no one
    assert isinstance(second.error, FailoverIncomplete)
    [failed_again] = scene.notifications()
    assert_failed_leaving_it_detached(scene, failed_again)
    assert any("impaired" in reason for reason in facts(failed_again)["reasons"])

    # When the standby recovers and Lambda retries once more
    sim.set_status(scene.standby, instance="ok")
    third = scene.deliver(event, context.retry_context())

    # Then the move is finished at the device index the interface had on the primary
    assert third.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.device_index) == (scene.standby, 2)
    assert scene.moves == ONE_SWAP
    [swapped] = scene.notifications()
    assert (outcome_of(swapped), facts(swapped)["resumed"]) == ("swapped", True)


def test_standby_stopped_during_the_move_is_reported_at_once_and_finished_once_started(
    scene: Scene,
) -> None:
    # Given a failed primary, and the standby stopped just as the interface comes off
    sim, ec2 = scene.sim, scene.ec2
    sim.set_status(scene.primary, instance="impaired")
    sim.on(
        "DetachNetworkInterface",
        lambda _: ec2.stop_instances(InstanceIds=[scene.standby]) and None,
        times=1,
    )
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the interface is not attached to the stopped standby (a warm attach would not
    # restore service): it is left detached, and the notice says the standby is stopped
    assert isinstance(first.error, FailoverIncomplete)
    assert instance_state(ec2, scene.standby) == "stopped"
    assert scene.moves == Counter(DetachNetworkInterface=1)
    [failed] = scene.notifications()
    assert_failed_leaving_it_detached(scene, failed)
    assert "stopped" in facts(failed)["error"]

    # When an operator starts the standby and Lambda retries the event
    ec2.start_instances(InstanceIds=[scene.standby])
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))

    # Then the retry finishes the move
    assert retry.error is None
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    assert [outcome_of(n) for n in scene.notifications()] == ["swapped"]


def test_standby_terminated_during_the_move_leaves_the_interface_detached_and_said_so(
    scene: Scene,
) -> None:
    # Given a failed primary, and the standby terminated just as the interface comes off
    sim, ec2 = scene.sim, scene.ec2
    sim.set_status(scene.primary, instance="impaired")
    sim.on(
        "DetachNetworkInterface",
        lambda _: ec2.terminate_instances(InstanceIds=[scene.standby]) and None,
        times=1,
    )
    event, context = scene.alarm(), FakeLambdaContext()

    # When the alarm arrives, and Lambda retries it
    first = scene.deliver(event, context)
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))

    # Then both attempts fail and say so: the interface floats, attached to nothing (not
    # to a terminated instance, not back to the failed primary)
    assert isinstance(first.error, FailoverIncomplete)
    assert isinstance(retry.error, FailoverIncomplete)
    assert instance_state(ec2, scene.standby) == "terminated"
    assert scene.moves == Counter(DetachNetworkInterface=1)
    failed, failed_again = scene.notifications()
    assert_failed_leaving_it_detached(scene, failed)
    assert_failed_leaving_it_detached(scene, failed_again)
    assert "terminated" in facts(failed)["error"]
    assert any("terminated" in reason for reason in facts(failed_again)["reasons"])


def test_attach_failing_until_the_deadline_is_reported_and_the_retry_resumes(
    scene: Scene,
) -> None:
    # Given a failed primary, and EC2 failing every attach for now
    sim = scene.sim
    sim.set_status(scene.primary, instance="impaired")
    sim.fail("AttachNetworkInterface", "InternalError", times=10_000)
    event = scene.alarm()
    context = LambdaDeadline(remaining_seconds=RESERVE_SECONDS + 1)

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then the swap retries the attach until its deadline, then reports the interface
    # detached, with the last error
    assert isinstance(first.error, FailoverIncomplete)
    [failed] = scene.notifications()
    assert_failed_leaving_it_detached(scene, failed)
    report = facts(failed)
    assert "kept failing" in report["error"]
    assert "InternalError" in report["error"]
    assert "attach failed, retrying" in [s["step"] for s in report["steps"]]

    # When EC2 recovers and Lambda retries the same event
    scene.clear_faults()
    retry = scene.deliver(event, context.retry_context())

    # Then the retry attaches the interface to the standby, at the same device index
    assert retry.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.device_index) == (scene.standby, scene.topology.device_index)
    [swapped] = scene.notifications()
    assert (outcome_of(swapped), facts(swapped)["resumed"]) == ("swapped", True)
