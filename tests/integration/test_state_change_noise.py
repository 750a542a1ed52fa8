"""A wave of unrelated instances stopping (Spot, scale-in) as EventBridge applies the stack's
own rules: the configured pair's rule lets its primary through and nothing else, so the
wave cannot use up the function's reserved concurrency; a stack of tagged pairs forwards
every instance, and the function drops the strangers quietly, without a look at EC2 each.

Each test synthesizes the stack for its own pair: the rule lists the pair's primary."""

from __future__ import annotations

from pathlib import Path

import boto3

from eni_failover.config import FailoverConfig
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.deployment import LocalDeployment
from eni_failover_emulator.events import state_change_message
from eni_failover_emulator.template import pair_context, synthesize
from tests.integration.conftest import TEST_TUNING, pair_of
from tests.support import REGION

WAVE = 500


def stack_for(topology: PairTopology, outdir: Path, **context: str) -> LocalDeployment:
    template = synthesize(
        pair_context(
            primary_instance_id=topology.primary_instance_id,
            standby_instance_id=topology.standby_instance_id,
            interface_id=topology.interface_id,
            notify_email="ops@example.com",
        )
        | context,
        outdir,
    )
    config = FailoverConfig(
        pairs=(pair_of(topology),), tuning=TEST_TUNING, discover_tags="discovery" in context
    )
    return LocalDeployment.from_template(config, template)


def stranger(n: int) -> str:
    return f"i-0feed{n:012x}"


def where(topology: PairTopology) -> str | None:
    [eni] = boto3.client("ec2", region_name=REGION).describe_network_interfaces(
        NetworkInterfaceIds=[topology.interface_id]
    )["NetworkInterfaces"]
    return (eni.get("Attachment") or {}).get("InstanceId")


def test_a_wave_of_unrelated_stops_never_reaches_the_function_and_the_primarys_does(
    sim: FaithfulEC2, topology: PairTopology, tmp_path: Path
) -> None:
    # Given a stack of one configured pair
    deployment = stack_for(topology, tmp_path)
    sim.reset_counts()
    # When 500 other instances of the account stop
    delivered = [
        deployment.put_event(state_change_message(instance_id=stranger(n), state="stopped"))
        for n in range(WAVE)
    ]
    # Then none of their events reaches the function: it makes no call, tells nothing
    assert [d for d in delivered if d] == []
    assert sim.calls == {}
    assert deployment.notifications() == []
    # When the pair's primary stops with them
    boto3.client("ec2", region_name=REGION).stop_instances(
        InstanceIds=[topology.primary_instance_id]
    )
    sim.settle()
    reports = deployment.put_event(
        state_change_message(instance_id=topology.primary_instance_id, state="stopping")
    )
    # Then its event reaches the function once, and the interface moves to the standby
    assert [[o["outcome"] for o in r["outcomes"]] for r in reports] == [["swapped"]]
    assert where(topology) == topology.standby_instance_id
    # And the standby's own stop is none of the rule's business either
    assert (
        deployment.put_event(
            state_change_message(instance_id=topology.standby_instance_id, state="stopped")
        )
        == []
    )


def test_a_stack_of_tagged_pairs_gets_the_wave_and_drops_it_quietly(
    sim: FaithfulEC2, topology: PairTopology, tmp_path: Path
) -> None:
    # Given a stack that also protects pairs declared by tags (none tagged here)
    deployment = stack_for(topology, tmp_path, discovery="tags")
    sim.reset_counts()
    # When 50 other instances stop
    delivered = [
        deployment.put_event(state_change_message(instance_id=stranger(n), state="stopped"))
        for n in range(50)
    ]
    # Then every event reaches the function (tagged pairs cannot be listed in a rule), and
    # each is ignored: nothing told, nothing dead-lettered, nothing moved
    assert [len(d) for d in delivered] == [1] * 50
    assert all(r["outcomes"] == [] and len(r["ignored"]) == 1 for d in delivered for r in d)
    assert deployment.notifications() == []
    assert deployment.dead_letters() == []
    assert where(topology) == topology.primary_instance_id
    # And the function looked at the tags a few times, not once per stranger: its
    # discovery refreshes at most once per interval, however many events ask
    assert sum(sim.calls.values()) < 10
