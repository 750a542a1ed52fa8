"""The emulator's stand-in service stops with its instance and starts again with it.

A stopped instance serves nothing: its service's port stops answering, through its own
address and through whatever address of the pair it holds (the floating interface's private
IP stays on a stopped instance). Started again, the service answers again, as a service
started at boot does; a fault set on it (a hung or erroring service) outlives the restart,
as a broken configuration would.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest

from eni_failover_ec2sim import FaithfulEC2
from eni_failover_ec2sim.topology import PairTopology, build_pair
from eni_failover_emulator.service import Behaviour, PairServices

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

PORT = 80


@pytest.fixture
def pair(sim: FaithfulEC2) -> Iterator[tuple[EC2Client, PairTopology, PairServices]]:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    topology = build_pair(ec2, sim=sim)
    services = PairServices(
        ec2,
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        interface_id=topology.interface_id,
    )
    try:
        yield ec2, topology, services
    finally:
        services.close()


def answers(services: PairServices, address: str) -> bool:
    """Whether a client of `address` gets an HTTP answer, as the prober's probe asks."""
    try:
        with socket.create_connection(services.resolve(address, PORT), timeout=2) as client:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            return client.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def own_ip(ec2: EC2Client, instance_id: str) -> str:
    [reservation] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(reservation["Instances"][0]["PrivateIpAddress"])


def test_a_stopped_primary_stops_answering_and_answers_again_once_started(
    sim: FaithfulEC2, pair: tuple[EC2Client, PairTopology, PairServices]
) -> None:
    ec2, topology, services = pair
    [floating_ip] = topology.private_ips
    primary_ip = own_ip(ec2, topology.primary_instance_id)
    # Given the primary serves, through the floating interface it holds and its own address
    assert answers(services, floating_ip)
    assert answers(services, primary_ip)
    # When the primary is stopped (the floating interface stays attached to it)
    ec2.stop_instances(InstanceIds=[topology.primary_instance_id])
    sim.settle()
    # Then nothing answers on either address
    assert not answers(services, floating_ip)
    assert not answers(services, primary_ip)
    # And the standby, still running, answers as before
    assert answers(services, own_ip(ec2, topology.standby_instance_id))
    # When the primary is started again, its service answers again
    ec2.start_instances(InstanceIds=[topology.primary_instance_id])
    sim.settle()
    assert answers(services, floating_ip)
    assert answers(services, primary_ip)


def test_a_fault_set_on_the_service_outlives_a_restart(
    sim: FaithfulEC2, pair: tuple[EC2Client, PairTopology, PairServices]
) -> None:
    ec2, topology, services = pair
    [floating_ip] = topology.private_ips
    # Given the primary's service answers with errors
    services.primary.set(Behaviour.ERROR)
    # When its instance is stopped and started
    ec2.stop_instances(InstanceIds=[topology.primary_instance_id])
    sim.settle()
    ec2.start_instances(InstanceIds=[topology.primary_instance_id])
    sim.settle()
    # Then it still answers with errors (its configuration is what broke it)
    assert services.primary.behaviour is Behaviour.ERROR
    assert not answers(services, floating_ip)
    services.primary.set(Behaviour.HEALTHY)
    assert answers(services, floating_ip)
