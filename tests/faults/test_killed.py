"""The Lambda killed mid-move, and the retry of the same event that follows.

The runtime ends a timed-out invocation without running any of its code, so a `Killed`
(a BaseException, which nothing in the function catches) raised from EC2 right after a
detach or an attach leaves exactly what a real timeout leaves: the pair's lease and
journal, Powertools' in-progress idempotency record, and no notification. Lambda's
asynchronous retry comes after the deadline, with the same aws_request_id.
"""

from __future__ import annotations

from collections import Counter

import pytest

from eni_failover.errors import TriggerInProgress
from eni_failover_ec2sim import CallEvent
from eni_failover_emulator.deployment import FakeLambdaContext
from tests.faults.views import (
    ONE_SWAP,
    Killed,
    LambdaDeadline,
    Scene,
    facts,
    outcome_of,
    trigger_id_of,
)


def kill_after(scene: Scene, operation: str) -> None:
    def timed_out(_: CallEvent) -> None:
        raise Killed(f"Lambda timed out right after {operation}")

    scene.sim.on(operation, timed_out, times=1)


def test_delivery_while_a_killed_invocation_still_holds_the_trigger_is_told_to_come_back(
    scene: Scene,
) -> None:
    # Given a failed primary, and an invocation killed right after its detach whose time
    # has not yet run out
    scene.sim.set_status(scene.primary, instance="impaired")
    kill_after(scene, "DetachNetworkInterface")
    event = scene.alarm()
    with pytest.raises(Killed):
        scene.deployment.invoke(event, FakeLambdaContext(remaining_seconds=60))

    # When SNS delivers the same event again meanwhile
    duplicate = scene.deliver(event, FakeLambdaContext())

    # Then that delivery neither moves nor notifies; it fails, so that Lambda brings it
    # back later, saying another invocation has the trigger
    assert isinstance(duplicate.error, TriggerInProgress)
    assert str(duplicate.error) == (
        f"trigger {trigger_id_of(event)} for pair nat is being handled by another invocation"
    )
    assert scene.moves == Counter(DetachNetworkInterface=1)
    assert scene.notifications() == []


def test_retry_after_a_kill_following_the_detach_completes_the_move_and_notifies_once(
    scene: Scene,
) -> None:
    # Given the floating interface at device index 2 on a failed primary, and an
    # invocation that times out right after its detach
    scene.reattach_at(2)
    scene.sim.set_status(scene.primary, instance="impaired")
    kill_after(scene, "DetachNetworkInterface")
    event = scene.alarm()
    killed = LambdaDeadline(remaining_seconds=0.5)
    with pytest.raises(Killed):
        scene.deployment.invoke(event, killed)
    assert scene.notifications() == []
    assert scene.interface().instance_id in (None, scene.primary)

    # When Lambda retries the same event after the deadline, with the same request ID
    killed.wait_until_passed()
    retry = scene.deliver(event, killed.retry_context())

    # Then the retry finishes the move, at the interface's own device index
    assert retry.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.attachment_status, eni.device_index) == (
        scene.standby,
        "attached",
        2,
    )
    assert scene.moves == ONE_SWAP
    # And the operators get one notification for the whole failover, saying it resumed
    [notification] = scene.notifications()
    assert notification["subject"] == f"ENI failover nat: moved to standby {scene.standby}"
    report = facts(notification)
    assert (report["outcome"], report["resumed"]) == ("swapped", True)

    # When the event is delivered yet again
    again = scene.deliver(event, FakeLambdaContext())

    # Then the saved result is replayed: no move, no notification
    assert again.error is None
    assert again.report is not None
    assert retry.report is not None
    assert again.report["outcomes"] == retry.report["outcomes"]
    assert scene.moves == ONE_SWAP
    assert scene.notifications() == []


def test_retry_after_a_kill_following_the_attach_reports_the_swap_it_made(
    scene: Scene,
) -> None:
    # Given a failed primary, an invocation that times out right after its detach, and
    # Lambda's first retry timing out right after its attach, before it could publish
    scene.sim.set_status(scene.primary, instance="impaired")
    kill_after(scene, "DetachNetworkInterface")
    event = scene.alarm()
    killed = LambdaDeadline(remaining_seconds=0.5)
    with pytest.raises(Killed):
        scene.deployment.invoke(event, killed)
    killed.wait_until_passed()
    # Lambda retries about a minute later: the forced detach has long finished by then
    # (on a busy machine the 0.5 s deadline may pass before its 0.1 s do).
    scene.sim.settle()
    kill_after(scene, "AttachNetworkInterface")
    killed_again = killed.retry_context(remaining_seconds=0.5)
    with pytest.raises(Killed):
        scene.deployment.invoke(event, killed_again)
    assert scene.interface().instance_id == scene.standby
    assert scene.notifications() == []

    # When Lambda retries the same event a second time, after that deadline too
    killed_again.wait_until_passed()
    retry = scene.deliver(event, killed.retry_context())

    # Then nothing moves again, and the one notification reports the swap this trigger
    # made: not "already on standby", which would hide that a failover happened
    assert retry.error is None
    assert scene.moves == ONE_SWAP
    assert scene.interface().instance_id == scene.standby
    [notification] = scene.notifications()
    assert notification["subject"] == f"ENI failover nat: moved to standby {scene.standby}"
    assert outcome_of(notification) == "swapped"
    assert "An earlier attempt of this trigger made the move" in notification["message"]


def test_retry_of_a_move_cut_short_finishes_it_even_after_the_trigger_aged_out(
    scene: Scene,
) -> None:
    # Given a function that treats triggers older than 1.5 s as stale, a failed primary,
    # and an invocation that times out right after its detach
    scene.retune(max_trigger_age_seconds=1.5)
    scene.sim.set_status(scene.primary, instance="impaired")
    kill_after(scene, "DetachNetworkInterface")
    event = scene.alarm()
    killed = LambdaDeadline(remaining_seconds=1.5)
    with pytest.raises(Killed):
        scene.deployment.invoke(event, killed)

    # When Lambda's retry comes only after the trigger has become stale
    killed.wait_until_passed()
    retry = scene.deliver(event, killed.retry_context())

    # Then the retry still finishes its own move: the interface is already off the
    # primary, and leaving it attached to nothing would be the worst outcome
    assert retry.error is None
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    [notification] = scene.notifications()
    assert (outcome_of(notification), facts(notification)["resumed"]) == ("swapped", True)
