"""The CLI with a pair of addresses only (issue 19): routes and an Elastic IP, no interface.

`status` shows each address and where it is, as it shows interfaces; `drill` watches the
addresses reach the standby. The pair's instances, route tables and Elastic IP are real
(the sandbox's EC2); the function is asked only for its list of pairs, which names them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from eni_failover.timeline import SystemClock
from eni_failover_cli import drill, status
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.errors import CliError
from eni_failover_cli.outputs import StackOutputs
from eni_failover_ec2sim.simulator import installed
from eni_failover_ec2sim.topology import AddressPairTopology, build_address_pair
from tests.cli.conftest import RunningSandbox
from tests.cli.test_readme import OPERATING, shows

PAIR = "edge"


class _Pairs:
    """The function as these commands ask it: only for its list of pairs."""

    name = "eni-failover"

    def __init__(self, pairs: list[dict[str, Any]]) -> None:
        self.pairs = pairs

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        assert request == {"action": "pairs"}
        return {"pairs": self.pairs, "tag_problems": []}


@dataclass
class Edge:
    deployment: Deployment
    topology: AddressPairTopology
    ec2: Any

    def status(self) -> dict[str, Any]:
        [pair] = status.collect(self.deployment, PAIR)["pairs"]
        assert isinstance(pair, dict)
        return pair

    def text(self) -> str:
        return status.describe(status.collect(self.deployment, PAIR))

    def move_to_standby(self) -> None:
        """What the function's move does: each route and the Elastic IP to the standby."""
        topology = self.topology
        for table in topology.route_table_ids:
            for cidr in topology.route_cidrs:
                self.ec2.replace_route(
                    RouteTableId=table,
                    DestinationCidrBlock=cidr,
                    NetworkInterfaceId=topology.standby_interface_id,
                )
        for allocation in topology.allocation_ids:
            self.ec2.associate_address(
                AllocationId=allocation,
                NetworkInterfaceId=topology.standby_interface_id,
                AllowReassociation=True,
            )
        # EC2 shows the new targets after a while; the function waits for that (mover).
        simulator = installed()
        assert simulator is not None
        simulator.settle()


@pytest.fixture(scope="module")
def edge_topology(running: RunningSandbox) -> Iterator[AddressPairTopology]:
    ec2 = running.sandbox.clients.ec2
    topology = build_address_pair(ec2, name=PAIR, vpc_cidr="10.77.0.0/16")
    yield topology
    ec2.terminate_instances(
        InstanceIds=[topology.primary_instance_id, topology.standby_instance_id]
    )


@pytest.fixture
def edge(running: RunningSandbox, edge_topology: AddressPairTopology) -> Iterator[Edge]:
    sandbox = running.sandbox
    topology = edge_topology
    listed = {
        "name": PAIR,
        "primary_instance_id": topology.primary_instance_id,
        "standby_instance_id": topology.standby_instance_id,
        "interface_ids": [],
        "route_table_ids": list(topology.route_table_ids),
        "route_cidrs": list(topology.route_cidrs),
        "eip_allocation_ids": list(topology.allocation_ids),
        "private_ips": [],
        "alarm_name": running.alarm_name,
    }
    deployment = Deployment(
        outputs=StackOutputs.parse(sandbox.info.stack_name, sandbox.info.outputs),
        clients=sandbox.clients,
        function=_Pairs([listed]),
        where="an address pair",
    )
    built = Edge(deployment, topology, sandbox.clients.ec2)
    yield built
    # Back on the primary for the next test
    for table in topology.route_table_ids:
        for cidr in topology.route_cidrs:
            built.ec2.replace_route(
                RouteTableId=table,
                DestinationCidrBlock=cidr,
                NetworkInterfaceId=topology.primary_interface_id,
            )
    for allocation in topology.allocation_ids:
        built.ec2.associate_address(
            AllocationId=allocation,
            NetworkInterfaceId=topology.primary_interface_id,
            AllowReassociation=True,
        )
    sandbox.sim.settle()


def test_status_shows_each_address_and_where_it_is(edge: Edge) -> None:
    topology = edge.topology
    # Given a pair of two routes and an Elastic IP, all on the primary
    # When the operator asks for its status
    pair = edge.status()
    text = edge.text()
    # Then every address is listed with its kind, the instance and interface it is on
    assert pair["location"] == "primary"
    assert pair["interfaces"] == []
    shown = {(a["kind"], a["address"]): a for a in pair["addresses"]}
    [allocation] = topology.allocation_ids
    assert set(shown) == {
        *(("route", f"{t} {c}") for t in topology.route_table_ids for c in topology.route_cidrs),
        ("elastic-ip", allocation),
    }
    for address in shown.values():
        assert (address["on_instance"], address["side"], address["on_interface"]) == (
            topology.primary_instance_id,
            "primary",
            topology.primary_interface_id,
        )
    assert shown[("elastic-ip", allocation)]["state"] == "associated"
    assert shown[("elastic-ip", allocation)]["detail"] == topology.public_ips[0]
    # And the text says the same, one row per address
    assert f"Pair {PAIR}: addresses on the primary" in text
    for table in topology.route_table_ids:
        assert re.search(
            rf"route\s+{table} 10\.9\.0\.10/32\s+on primary {topology.primary_instance_id} "
            rf"\({topology.primary_interface_id}; active\)",
            text,
        )
    assert re.search(
        rf"elastic IP\s+{allocation}\s+on primary {topology.primary_instance_id} "
        rf"\({topology.primary_interface_id}; associated\); {re.escape(topology.public_ips[0])}",
        text,
    )
    # And no interface row: the pair has none
    assert not re.search(r"^\s+interface\s", text, re.MULTILINE)


def test_status_after_a_move_shows_the_addresses_on_the_standby(edge: Edge) -> None:
    topology = edge.topology
    edge.move_to_standby()

    pair = edge.status()

    assert pair["location"] == "standby"
    assert {a["side"] for a in pair["addresses"]} == {"standby"}
    assert f"Pair {PAIR}: addresses on the STANDBY" in edge.text()
    assert topology.standby_instance_id in edge.text()


def test_status_shows_an_address_on_nothing_as_not_served(edge: Edge) -> None:
    topology = edge.topology
    [address] = edge.ec2.describe_addresses(AllocationIds=list(topology.allocation_ids))[
        "Addresses"
    ]
    edge.ec2.disassociate_address(AssociationId=address["AssociationId"])

    pair = edge.status()

    assert pair["location"] == "unserved"
    assert re.search(rf"elastic IP\s+{topology.allocation_ids[0]}\s+on no instance", edge.text())
    assert "NOT SERVED" in edge.text()


def test_status_flags_an_address_that_points_nowhere(edge: Edge) -> None:
    topology = edge.topology
    # Given the pair's Elastic IP associated with nothing, and a route still on the primary
    [address] = edge.ec2.describe_addresses(AllocationIds=list(topology.allocation_ids))[
        "Addresses"
    ]
    edge.ec2.disassociate_address(AssociationId=address["AssociationId"])
    # When the operator looks at the pair
    pair, text = edge.status(), edge.text()
    # Then only that address is flagged as serving no one, in the heading and its row
    assert pair["unserved"] == [topology.allocation_ids[0]]
    assert f"SERVED BY NO INSTANCE: {topology.allocation_ids[0]}" in text
    [row] = [line for line in text.splitlines() if line.lstrip().startswith("elastic IP")]
    assert row.endswith("POINTS NOWHERE: serves no one"), row
    assert text.count("POINTS NOWHERE") == 1


def test_the_drill_watches_the_addresses_reach_the_standby(edge: Edge) -> None:
    topology = edge.topology
    pair = edge.deployment.pair(PAIR)
    # Given a drill watching the address pair, before anything moved
    watch = drill._Watch(
        edge.deployment, pair, SystemClock(), SystemClock().monotonic(), before=None
    )
    watch.poll()
    assert "attached" not in watch.hops
    # When the routes and the Elastic IP move to the standby
    edge.move_to_standby()
    watch.poll()
    # Then the drill sees the addresses there, named
    hop = watch.hops["attached"]
    assert hop.name.endswith(f"on the standby {topology.standby_instance_id}")
    assert topology.allocation_ids[0] in hop.name
    assert watch.attached
    assert datetime.now(UTC) >= hop.at


def test_a_drill_refuses_while_the_addresses_are_on_the_standby(edge: Edge) -> None:
    edge.move_to_standby()
    pair = edge.deployment.pair(PAIR)
    with pytest.raises(CliError, match="not on the primary"):
        drill._refuse_unless_drillable(edge.deployment, pair)


def test_the_operating_guides_edge_sample_is_what_status_prints(edge: Edge) -> None:
    # Given docs/operating.md's status sample of a pair of routes and an Elastic IP, which no
    # command precedes (the sandbox's own pair is demo)
    [shown] = [
        block
        for block in re.findall(r"```console\n(.*?)```", OPERATING.read_text(), flags=re.DOTALL)
        if block.startswith(f"Pair {PAIR}:")
    ]
    # When status describes that pair, all on the primary
    printed = edge.text()
    # Then what the guide shows is what status prints, IDs aside, in the same order
    assert shows(printed, "...\n" + shown), printed
