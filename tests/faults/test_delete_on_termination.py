"""A floating interface set to delete on termination dies with a terminated primary.

EC2 keeps DeleteOnTermination per attachment; AttachNetworkInterface makes it false, but
an interface created at launch (or changed later) may have it true. Then terminating the
primary deletes the interface and no failover can bring it back, so the readiness check
fails on it and says how to clear it.
"""

from __future__ import annotations

from collections import Counter

from tests.faults.views import Scene, facts, outcome_of
from tests.support import sns_event, state_change_message


def set_delete_on_termination(scene: Scene, value: bool) -> None:
    scene.ec2.modify_network_interface_attribute(
        NetworkInterfaceId=scene.topology.interface_id,
        Attachment={"AttachmentId": scene.topology.attachment_id, "DeleteOnTermination": value},
    )


def test_readiness_fails_on_delete_on_termination_and_names_the_fix(scene: Scene) -> None:
    # Given the floating interface's attachment to the primary set to delete on termination
    set_delete_on_termination(scene, True)
    interface_id, attachment_id = scene.topology.interface_id, scene.topology.attachment_id

    # When an operator checks readiness, clears the flag as told, and checks again
    [before] = scene.deployment.invoke({"action": "check", "pair": "nat"})["checks"]
    set_delete_on_termination(scene, False)
    [after] = scene.deployment.invoke({"action": "check", "pair": "nat"})["checks"]

    # Then the first check fails on it with the exact command, and the second passes
    assert before["verdict"] == "NOT READY: delete on termination"
    [check] = [c for c in before["checks"] if c["check"] == "delete on termination"]
    assert check["ok"] is False
    assert (
        f"aws ec2 modify-network-interface-attribute --network-interface-id {interface_id} "
        f"--attachment AttachmentId={attachment_id},DeleteOnTermination=false"
    ) in check["detail"]
    assert "eni-failover check nat --fix-delete-on-termination" in check["detail"]
    assert after["verdict"] == "READY"


def test_terminated_primary_takes_a_delete_on_termination_interface_with_it(
    scene: Scene,
) -> None:
    # Given the floating interface set to delete on termination (what readiness warns of)
    set_delete_on_termination(scene, True)

    # When the primary is terminated and its state-change event arrives
    scene.ec2.terminate_instances(InstanceIds=[scene.primary])
    terminated = state_change_message(instance_id=scene.primary, state="terminated")
    delivery = scene.deliver(sns_event(terminated))

    # Then the interface is gone; the failover can only say so
    assert delivery.error is None
    assert not scene.interface().exists
    assert scene.moves == Counter()
    [refused] = scene.notifications()
    assert outcome_of(refused) == "refused"
    assert facts(refused)["reasons"] == [f"interface {scene.topology.interface_id} does not exist"]
