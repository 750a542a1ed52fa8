"""The attach after a successful detach: the standby failing, gone, or EC2 refusing.

By then the interface serves no one, so the swap keeps trying within its deadline. When it
cannot finish, it puts the interface back on the instance it came from, at the device index
it had there, and says so; Lambda's retry (or the sweep) decides again from what is true
then. Only when EC2 will not take even that attach is the interface left attached to
nothing, reported as such, with the journal kept for the retry to finish the move.
"""

from __future__ import annotations

from typing import Any

from eni_failover.errors import FailoverIncomplete
from eni_failover.failover import RESERVE_SECONDS
from eni_failover_ec2sim import CallEvent
from eni_failover_emulator.deployment import FakeLambdaContext
from tests.faults.views import ONE_SWAP, LambdaDeadline, Scene, facts, instance_state, outcome_of

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


def assert_failed_putting_it_back(
    scene: Scene, notification: dict[str, Any], *, device_index: int
) -> None:
    """A failure notice that says the interface went back where it came from."""
    assert notification["subject"] == "ENI failover nat: failover FAILED, action needed"
    report = facts(notification)
    assert report["outcome"] == "failed"
    assert f"put back on {scene.primary}" in report["error"]
    eni = scene.interface()
    assert (eni.instance_id, eni.device_index) == (scene.primary, device_index)


def test_standby_impaired_for_good_puts_the_interface_back_and_it_moves_once_recovered(
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

    # Then the swap waited for the standby within its deadline, never attached to the
    # impaired standby, and put the interface back on the primary at its device index
    # rather than leave it attached to nothing; the notice says so and why
    assert isinstance(first.error, FailoverIncomplete)
    assert scene.moves == ONE_SWAP  # the detach, and the attach back
    [failed] = scene.notifications()
    assert_failed_putting_it_back(scene, failed, device_index=2)
    assert "impaired" in facts(failed)["error"]

    # When Lambda retries while the standby is still impaired
    second = scene.deliver(event, context.retry_context(RESERVE_SECONDS + 1))

    # Then nothing moves: the standby cannot take it, and that is said
    assert second.error is None
    assert scene.moves == ONE_SWAP
    [refused] = scene.notifications()
    assert outcome_of(refused) == "refused"
    assert any("impaired" in reason for reason in facts(refused)["reasons"])
    assert scene.interface().instance_id == scene.primary

    # When the standby recovers and the failure is found again (the sweep's hand-off)
    sim.set_status(scene.standby, instance="ok")
    third = scene.deliver(scene.alarm(), FakeLambdaContext())

    # Then the move is made, at the device index the interface had on the primary
    assert third.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.device_index) == (scene.standby, 2)
    [swapped] = scene.notifications()
    assert outcome_of(swapped) == "swapped"


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
    # restore service): it goes back on the primary, and the notice says the standby is
    # stopped
    assert isinstance(first.error, FailoverIncomplete)
    assert instance_state(ec2, scene.standby) == "stopped"
    assert scene.moves == ONE_SWAP  # the detach, and the attach back
    [failed] = scene.notifications()
    assert_failed_putting_it_back(scene, failed, device_index=scene.topology.device_index)
    assert "stopped" in facts(failed)["error"]

    # When an operator starts the standby and Lambda retries the event
    ec2.start_instances(InstanceIds=[scene.standby])
    retry = scene.deliver(event, FakeLambdaContext(aws_request_id=context.aws_request_id))

    # Then the retry makes the move
    assert retry.error is None
    assert scene.interface().instance_id == scene.standby
    assert [outcome_of(n) for n in scene.notifications()] == ["swapped"]


def test_standby_terminated_during_the_move_puts_the_interface_back_and_says_so(
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

    # Then the interface is never attached to the terminated standby, nor left attached to
    # nothing: it is back on the primary it came from, and both attempts say why
    assert isinstance(first.error, FailoverIncomplete)
    assert instance_state(ec2, scene.standby) == "terminated"
    assert scene.moves == ONE_SWAP  # the detach, and the attach back
    failed, refused = scene.notifications()
    assert_failed_putting_it_back(scene, failed, device_index=scene.topology.device_index)
    assert "terminated" in facts(failed)["error"]
    assert retry.error is None
    assert outcome_of(refused) == "refused"
    assert any("terminated" in reason for reason in facts(refused)["reasons"])


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
