"""Detaches that hang: until forced, past one invocation's deadline, or for good.

AWS publishes no duration for a detach, and an interface stuck "detaching" for minutes on
an unhealthy instance is a known field report (AWS-FACTS). The swap polls within one
deadline, forces after Tuning.detach_grace_seconds, and otherwise gives up in time to say
where the interface is.
"""

from __future__ import annotations

from collections import Counter

from eni_failover.errors import FailoverIncomplete
from eni_failover.failover import RESERVE_SECONDS
from tests.faults.views import ONE_SWAP, LambdaDeadline, Scene, facts, outcome_of


def test_detach_from_an_impaired_primary_is_forced_at_once_and_a_hang_does_not_stall_it(
    scene: Scene,
) -> None:
    # Given a primary whose instance check fails, and whose guest would never let go of
    # the interface on a normal detach
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.hang_detach(scene.topology.interface_id)

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then the first detach is already forced, and the interface reaches the standby
    assert delivery.error is None
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    [notification] = scene.notifications()
    report = facts(notification)
    assert report["outcome"] == "swapped"
    assert report["forced_detach"] is True
    assert "force: the source is stopped or impaired" in report["steps"][0]["detail"]


def test_detach_that_hangs_until_forced_is_forced_after_the_grace_period(
    scene: Scene,
) -> None:
    # Given an alarm while the primary's checks read insufficient-data (not impaired, so
    # the detach starts gracefully), and a guest that never lets go on its own
    scene.sim.set_status(scene.primary, instance="insufficient-data")
    scene.sim.hang_detach(scene.topology.interface_id)

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then the swap forces the detach after the grace period and finishes
    assert delivery.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.attachment_status) == (scene.standby, "attached")
    assert scene.moves == Counter(DetachNetworkInterface=2, AttachNetworkInterface=1)
    [notification] = scene.notifications()
    report = facts(notification)
    assert report["outcome"] == "swapped"
    assert report["forced_detach"] is True
    assert [s["step"] for s in report["steps"]] == [
        "detach requested",
        "force detach",
        "detached",
        "attach requested",
        "attached",
    ]


def test_detach_that_never_finishes_is_given_up_in_time_and_reported_every_attempt(
    scene: Scene,
) -> None:
    # Given a failed primary whose interface stays "detaching" even after a forced detach,
    # and an invocation with a second of swap budget left before its reserve
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.hang_detach(scene.topology.interface_id, forever=True)
    event = scene.alarm()
    context = LambdaDeadline(remaining_seconds=RESERVE_SECONDS + 1)

    # When the alarm arrives (the runtime kills the invocation at its deadline)
    first = scene.deliver(event, context)

    # Then the swap gives up before the deadline, publishes a failure and asks for a retry
    assert isinstance(first.error, FailoverIncomplete)
    [failed] = scene.notifications()
    assert failed["subject"] == "ENI failover nat: failover FAILED, action needed"
    report = facts(failed)
    assert "the detach did not finish within 1 s" in report["error"]
    # And it says truthfully where the interface is: still on the primary, detaching
    [interface] = report["interfaces"]
    assert (interface["attached_to"], interface["attachment_status"]) == (
        scene.primary,
        "detaching",
    )
    assert f"attached to {scene.primary} at device index 1 (detaching)" in failed["message"]
    eni = scene.interface()
    assert (eni.instance_id, eni.attachment_status) == (scene.primary, "detaching")

    # When Lambda retries the event and the interface is still stuck
    retry = scene.deliver(event, context.retry_context(RESERVE_SECONDS + 1))

    # Then the retry waits on the same detach (no second one), fails the same way, and the
    # interface has never been attached anywhere else
    assert isinstance(retry.error, FailoverIncomplete)
    [failed_again] = scene.notifications()
    assert outcome_of(failed_again) == "failed"
    assert facts(failed_again)["resumed"] is True
    assert scene.moves == Counter(DetachNetworkInterface=1)
    assert scene.interface().instance_id == scene.primary


def test_detach_cut_short_by_the_deadline_is_resumed_by_the_retry(scene: Scene) -> None:
    # Given a detach that would finish only when forced, and an invocation whose swap
    # budget ends before the grace period would force it
    scene.sim.set_status(scene.primary, instance="insufficient-data")
    scene.sim.hang_detach(scene.topology.interface_id)
    event = scene.alarm()
    context = LambdaDeadline(remaining_seconds=RESERVE_SECONDS + 0.5)

    # When the alarm arrives
    first = scene.deliver(event, context)

    # Then that invocation reports the interface still detaching from the primary
    assert isinstance(first.error, FailoverIncomplete)
    [failed] = scene.notifications()
    assert outcome_of(failed) == "failed"
    [interface] = facts(failed)["interfaces"]
    assert (interface["attached_to"], interface["attachment_status"]) == (
        scene.primary,
        "detaching",
    )

    # When Lambda retries the same event with a full deadline
    retry = scene.deliver(event, context.retry_context())

    # Then the retry picks up the same detach, forces it, and finishes the move
    assert retry.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.device_index) == (scene.standby, scene.topology.device_index)
    [swapped] = scene.notifications()
    assert (outcome_of(swapped), facts(swapped)["resumed"]) == ("swapped", True)
    assert "resumed an interrupted move" in swapped["message"]
    # One graceful detach, one forced (by the retry, after its grace period), one attach
    assert scene.moves == Counter(DetachNetworkInterface=2, AttachNetworkInterface=1)
