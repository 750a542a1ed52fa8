"""A pair of routes, Elastic IPs and secondary IPs on the faithful EC2, deployed, and what
an operator can see of it: the scene the address-kind fault tests share (the fixtures are
in conftest)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Pair
from eni_failover_ec2sim import CallEvent, FaithfulEC2
from eni_failover_ec2sim.topology import AddressPairTopology
from eni_failover_emulator.deployment import LocalDeployment
from tests.faults.views import Delivery, LambdaDeadline, LambdaRuntime
from tests.integration.conftest import ALARM_NAME, TEST_TUNING
from tests.support import alarm_message, sns_event

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

# The calls that move an address (each kind's one call).
ADDRESS_MOVES = ("ReplaceRoute", "AssociateAddress", "AssignPrivateIpAddresses")


@dataclass
class AddressScene:
    sim: FaithfulEC2
    ec2: EC2Client
    topology: AddressPairTopology
    deployment: LocalDeployment
    calls: Counter[str] = field(default_factory=Counter)
    runtime: LambdaRuntime = field(init=False)

    def __post_init__(self) -> None:
        self.runtime = LambdaRuntime(self.sim)

        def count(event: CallEvent) -> None:
            self.calls[event.operation] += 1

        for operation in ADDRESS_MOVES:
            self.sim.on(operation, count)

    @property
    def primary(self) -> str:
        return self.topology.primary_instance_id

    @property
    def standby(self) -> str:
        return self.topology.standby_instance_id

    def alarm(self) -> dict[str, Any]:
        return sns_event(alarm_message(alarm_name=ALARM_NAME, instance_id=self.primary))

    def deliver(self, event: Any, context: LambdaDeadline | None = None) -> Delivery:
        return self.runtime.deliver(self.deployment, event, context)

    def route_targets(self) -> dict[str, str | None]:
        """Each listed route's target interface, as DescribeRouteTables shows it."""
        self.sim.settle()
        tables = self.ec2.describe_route_tables(RouteTableIds=list(self.topology.route_table_ids))
        return {
            f"{t['RouteTableId']} {r['DestinationCidrBlock']}": r.get("NetworkInterfaceId")
            for t in tables["RouteTables"]
            for r in t["Routes"]
            if r.get("DestinationCidrBlock") in self.topology.route_cidrs
        }

    def eip_interfaces(self) -> list[str | None]:
        self.sim.settle()
        found = self.ec2.describe_addresses(AllocationIds=list(self.topology.allocation_ids))
        return [a.get("NetworkInterfaceId") for a in found["Addresses"]]

    def ips_on(self, interface_id: str) -> set[str]:
        [raw] = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])[
            "NetworkInterfaces"
        ]
        return {p["PrivateIpAddress"] for p in raw["PrivateIpAddresses"] if not p["Primary"]}

    def notifications(self) -> list[dict[str, Any]]:
        return self.deployment.notifications()


def address_pair(topology: AddressPairTopology, **changes: Any) -> Pair:
    return Pair(
        name="edge",
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        route_table_ids=topology.route_table_ids,
        route_cidrs=topology.route_cidrs,
        eip_allocation_ids=topology.allocation_ids,
        private_ips=topology.private_ips,
        alarm_name=ALARM_NAME,
        **changes,
    )


def make_scene(
    sim: FaithfulEC2,
    ec2: EC2Client,
    clients: AwsClients,
    stack_template: dict[str, Any],
    topology: AddressPairTopology,
    **pair_changes: Any,
) -> AddressScene:
    sim.settle()  # the topology's own associations, shown before the scene starts
    sim.reset_counts()
    deployment = LocalDeployment.from_template(
        FailoverConfig(pairs=(address_pair(topology, **pair_changes),), tuning=TEST_TUNING),
        stack_template,
        clients=clients,
    )
    return AddressScene(sim=sim, ec2=ec2, topology=topology, deployment=deployment)
