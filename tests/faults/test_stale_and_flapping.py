"""Triggers that no longer describe reality: late, from before a failback, or flapping.

The rule (decide.plan, documented in docs/reliability.md): an automatic trigger is acted
on only if it is fresh (at most Tuning.max_trigger_age_seconds old, and not dated in the
future), happened after the pair's last completed move, and the primary is not healthy
now while the interface is still on it. No trigger moves an interface back towards the
primary: failback is an operator's request, or, with failback=auto, the sweep's own once the
hold-down is complete.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from eni_failover_emulator.deployment import FakeLambdaContext
from tests.faults.views import ONE_SWAP, Scene, facts, outcome_of


def fail_over(scene: Scene, *, at: datetime) -> None:
    """An automatic failover that has happened: the primary failed, its alarm swapped."""
    scene.sim.set_status(scene.primary, instance="impaired")
    assert scene.deliver(scene.alarm(at=at)).error is None
    assert scene.interface().instance_id == scene.standby


def test_alarm_from_before_a_failback_is_refused_and_does_not_swap_again(
    scene: Scene,
) -> None:
    # Given an automatic failover a minute ago, then a repaired primary and an operator's
    # failback
    failed_at = datetime.now(UTC) - timedelta(seconds=60)
    fail_over(scene, at=failed_at)
    # (repaired by a stop and start: the detach from the impaired primary was forced)
    scene.ec2.stop_instances(InstanceIds=[scene.primary])
    scene.sim.settle()
    scene.ec2.start_instances(InstanceIds=[scene.primary])
    scene.sim.set_status(scene.primary, instance="ok")
    failback = scene.deliver({"action": "failback", "pair": "nat", "requested_by": "ops"})
    assert failback.error is None
    assert scene.interface().instance_id == scene.primary
    scene.notifications()  # the swap and the failback notices, read

    # When an ALARM of the same incident, from before the failback, arrives only now
    late = scene.deliver(scene.alarm(at=failed_at + timedelta(seconds=20)))

    # Then it is refused as stale: the interface stays on the primary
    assert late.error is None
    eni = scene.interface()
    assert (eni.instance_id, eni.attachment_status) == (scene.primary, "attached")
    assert scene.moves == Counter(DetachNetworkInterface=2, AttachNetworkInterface=2)
    [refused] = scene.notifications()
    assert refused["subject"] == "ENI failover nat: failover refused"
    [reason] = facts(refused)["reasons"]
    assert "stale" in reason
    assert "before the pair last moved" in reason


def test_alarm_hours_late_is_refused_even_while_the_primary_is_failed(scene: Scene) -> None:
    # Given a primary that is failed now, and an ALARM from three hours ago (Lambda
    # retries throttled events for up to six hours)
    scene.sim.set_status(scene.primary, instance="impaired")
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3)

    # When it arrives
    delivery = scene.deliver(scene.alarm(at=three_hours_ago))

    # Then automation does not act on it: the refusal tells the operators, who decide
    assert delivery.error is None
    assert scene.interface().instance_id == scene.primary
    assert scene.moves == Counter()
    [refused] = scene.notifications()
    assert outcome_of(refused) == "refused"
    [reason] = facts(refused)["reasons"]
    assert "stale" in reason
    assert "more than the 900 s" in reason


def test_alarm_dated_in_the_future_is_refused(scene: Scene) -> None:
    # Given a failed primary, and an ALARM whose time is a day ahead (a wrong clock or a
    # message that is not CloudWatch's), which would otherwise never age out
    scene.sim.set_status(scene.primary, instance="impaired")
    tomorrow = datetime.now(UTC) + timedelta(days=1)

    # When it arrives
    delivery = scene.deliver(scene.alarm(at=tomorrow))

    # Then it is refused, and nothing moves
    assert delivery.error is None
    assert scene.interface().instance_id == scene.primary
    assert scene.moves == Counter()
    [refused] = scene.notifications()
    assert outcome_of(refused) == "refused"
    assert "in the future" in facts(refused)["reasons"][0]


def test_late_alarm_after_a_failback_made_by_hand_does_not_move_the_interface_again(
    scene: Scene,
) -> None:
    # Given an automatic failover, then an operator who repaired the primary and moved
    # the interface back by hand in EC2 (the function's record does not know)
    fail_over(scene, at=datetime.now(UTC))
    flapped_at = datetime.now(UTC)  # after the failover, so not older than the last move
    scene.sim.set_status(scene.primary, instance="ok")
    ec2 = scene.ec2
    [eni] = ec2.describe_network_interfaces(NetworkInterfaceIds=[scene.topology.interface_id])[
        "NetworkInterfaces"
    ]
    ec2.detach_network_interface(AttachmentId=eni["Attachment"]["AttachmentId"])
    scene.sim.settle()
    ec2.attach_network_interface(
        NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=scene.primary, DeviceIndex=1
    )
    scene.sim.settle()
    scene.notifications()

    # When an ALARM from after the failover (the alarm flapped meanwhile) arrives late
    late = scene.deliver(scene.alarm(at=flapped_at))

    # Then the healthy primary keeps the interface: the alarm is out of date
    assert late.error is None
    assert scene.interface().instance_id == scene.primary
    [refused] = scene.notifications()
    assert outcome_of(refused) == "refused"
    assert "is healthy now" in facts(refused)["reasons"][0]


def test_flapping_alarm_after_a_failover_leaves_the_interface_on_the_standby(
    scene: Scene,
) -> None:
    # Given a failed primary
    scene.sim.set_status(scene.primary, instance="impaired")
    now = datetime.now(UTC)

    # When its alarm goes ALARM, then OK as the primary recovers, then ALARM again
    first = scene.deliver(scene.alarm(at=now - timedelta(minutes=3)))
    scene.sim.set_status(scene.primary, instance="ok")
    recovered = scene.deliver(scene.alarm(at=now - timedelta(minutes=2), state="OK"))
    scene.sim.set_status(scene.primary, instance="impaired")
    again = scene.deliver(scene.alarm(at=now - timedelta(minutes=1)))

    # Then the interface moved once, to the standby, and stayed there
    assert [d.error for d in (first, recovered, again)] == [None, None, None]
    eni = scene.interface()
    assert (eni.instance_id, eni.attachment_status) == (scene.standby, "attached")
    assert scene.moves == ONE_SWAP
    # And OK was not a failure (no notice); the second ALARM found the work done
    assert recovered.report is not None
    assert recovered.report["ignored"] == [
        f"OK is not a failure (alarm {scene.deployment.settings.failover.pairs[0].alarm_name} "
        "-> OK: Threshold Crossed: 2 out of the last 2 datapoints were >= 1.0)"
    ]
    assert [n["subject"] for n in scene.notifications()] == [
        f"ENI failover nat: moved to standby {scene.standby}",
        f"ENI failover nat: already on standby {scene.standby}",
    ]


def test_alarm_that_flaps_on_a_healthy_primary_never_moves_the_interface(
    scene: Scene,
) -> None:
    # Given a primary whose checks pass by the time each message is handled
    now = datetime.now(UTC)

    # When its alarm goes ALARM, OK, ALARM within minutes
    for delivery in (
        scene.deliver(scene.alarm(at=now - timedelta(minutes=2))),
        scene.deliver(scene.alarm(at=now - timedelta(minutes=1), state="OK")),
        scene.deliver(scene.alarm(at=now), FakeLambdaContext()),
    ):
        assert delivery.error is None

    # Then nothing moves, and each ALARM is refused as out of date, saying why
    assert scene.interface().instance_id == scene.primary
    assert scene.moves == Counter()
    notices = scene.notifications()
    assert [outcome_of(n) for n in notices] == ["refused", "refused"]
    assert all("is healthy now" in facts(n)["reasons"][0] for n in notices)
