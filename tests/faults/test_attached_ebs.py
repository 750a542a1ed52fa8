"""The attached-EBS status check: impaired counts as impaired, on either side.

DescribeInstanceStatus reports AttachedEbsStatus beside the system and instance checks.
A primary whose volumes are impaired cannot serve even while its other two checks pass:
the alarm fires (it watches StatusCheckFailed_AttachedEBS too), and the decision must
agree, so the move goes ahead with a forced detach. A standby whose volumes are impaired
would not restore service: the move is refused.
"""

from __future__ import annotations

from collections import Counter

from tests.faults.views import ONE_SWAP, Scene, facts, outcome_of


def test_primary_with_impaired_attached_ebs_is_failed_over_with_a_forced_detach(
    scene: Scene,
) -> None:
    # Given a primary whose attached-EBS check fails while its other checks pass
    scene.sim.set_status(scene.primary, system="ok", instance="ok", attached_ebs="impaired")

    # When its alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then the alarm is believed (the primary is not healthy), the detach is forced from
    # the start, and the interface reaches the standby
    assert delivery.error is None
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    [notification] = scene.notifications()
    report = facts(notification)
    assert (report["outcome"], report["forced_detach"]) == ("swapped", True)


def test_standby_with_impaired_attached_ebs_is_refused(scene: Scene) -> None:
    # Given a failed primary, and a standby whose attached-EBS check fails
    scene.sim.set_status(scene.primary, instance="impaired")
    scene.sim.set_status(scene.standby, attached_ebs="impaired")

    # When the alarm arrives
    delivery = scene.deliver(scene.alarm())

    # Then nothing moves, and the refusal names the standby's impaired check
    assert delivery.error is None
    assert scene.interface().instance_id == scene.primary
    assert scene.moves == Counter()
    [refused] = scene.notifications()
    assert outcome_of(refused) == "refused"
    [why] = facts(refused)["reasons"]
    assert scene.standby in why
    assert "attached EBS impaired" in why


def test_readiness_fails_on_a_standby_with_impaired_attached_ebs(scene: Scene) -> None:
    # Given a healthy primary and a standby whose attached-EBS check fails
    scene.sim.set_status(scene.standby, attached_ebs="impaired")

    # When an operator checks readiness
    [result] = scene.deployment.invoke({"action": "check"})["checks"]

    # Then the standby check fails, saying which check
    assert result["ready"] is False
    [standby] = [c for c in result["checks"] if c["check"] == "standby"]
    assert standby["ok"] is False
    assert "attached EBS impaired" in standby["detail"]
