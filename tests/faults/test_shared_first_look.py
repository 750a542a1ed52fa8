"""The decision's first look is fresh even when looks are shared: a snapshot another move
wrote before this attempt began, with the interface moved since, is never decided on."""

from __future__ import annotations

import time

from eni_failover.shared_looks import SharedLooks
from eni_failover.timeline import SystemClock
from tests.faults.views import Scene, outcome_of


def test_a_snapshot_from_before_the_attempt_is_not_decided_on(scene: Scene) -> None:
    # Given two other moves sharing looks at this pair, one of which wrote a snapshot that
    # shows the interface on the primary
    clients = scene.deployment.clients
    table = scene.deployment.settings.state_table_name
    topology = scene.topology
    company = []
    for name in ("earliest", "company"):
        looks = SharedLooks(clients.ec2, clients.dynamodb, table, clock=SystemClock(), watcher=name)
        looks.watch(
            (topology.interface_id,),
            (scene.primary, scene.standby),
            until=time.time() + 60,
        )
        company.append(looks)
    snapshot = company[1].look([topology.interface_id], (scene.primary, scene.standby), after=0.0)
    assert snapshot.interfaces[topology.interface_id].attached_to(scene.primary)
    # And an operator moved the interface to the standby since
    [eni] = scene.ec2.describe_network_interfaces(NetworkInterfaceIds=[topology.interface_id])[
        "NetworkInterfaces"
    ]
    scene.ec2.detach_network_interface(AttachmentId=eni["Attachment"]["AttachmentId"])
    scene.sim.settle()
    scene.ec2.attach_network_interface(
        NetworkInterfaceId=topology.interface_id, InstanceId=scene.standby, DeviceIndex=1
    )
    scene.sim.settle()
    scene.moves.clear()
    # When the primary's alarm fires
    delivery = scene.deliver(scene.alarm())
    # Then the function saw the interface where it is: nothing detached or attached, and
    # the operators were told it is already on the standby
    assert delivery.error is None, delivery.error
    assert scene.moves == {}
    assert scene.interface().instance_id == scene.standby
    [told] = scene.notifications()
    assert outcome_of(told) == "already-in-place"
