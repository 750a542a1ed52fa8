"""A deployed failover on the faithful EC2, plus the controls fault tests need.

The fixtures mirror tests/integration (same latencies and tuning), and add what a fault
needs to be real rather than pretended: botocore's own retries (their backoff recorded,
not slept), DynamoDB's atomic conditional writes (moto does not lock), and EC2 calls
counted only when they took effect.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import boto3
import botocore.endpoint
import pytest
from moto.dynamodb.responses import DynamoHandler

from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig
from eni_failover_ec2sim import FaithfulEC2, PairTopology, build_pair
from eni_failover_ec2sim.topology import build_address_pair
from eni_failover_emulator.deployment import LocalDeployment
from eni_failover_emulator.endpoint import REGION
from tests.faults.address_scene import AddressScene, make_scene
from tests.faults.views import Scene, function_clients
from tests.integration.conftest import TEST_TUNING, pair_of

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@pytest.fixture(autouse=True)
def _no_sample_images(monkeypatch: pytest.MonkeyPatch) -> None:
    # The pairs use a made-up image ID; loading moto's sample AMIs costs 0.3 s per test.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@pytest.fixture(autouse=True)
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry backoff, recorded instead of slept: throttling costs no wall time.

    Only botocore's sleep between attempts is replaced; its retry decisions are untouched.
    """
    slept: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=slept.append))
    return slept


@pytest.fixture(autouse=True)
def _atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a conditional write atomically; moto checks and writes unlocked.

    Without this, two threads could both pass the same condition in moto, which real
    DynamoDB never allows, and a concurrency test would fail (or pass) for moto's reasons.
    """
    lock = threading.Lock()
    serve = DynamoHandler.call_action

    def call_action(handler: DynamoHandler) -> Any:
        with lock:
            return serve(handler)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


@pytest.fixture(scope="session")
def aws_session() -> boto3.Session:
    """One botocore session for the run: it loads each service model once (EC2's takes
    about half a second), while every test still gets new clients with fresh retry quotas.
    """
    return boto3.Session(region_name=REGION)


@pytest.fixture
def clients(sim: FaithfulEC2, aws_session: boto3.Session) -> AwsClients:
    return function_clients(aws_session)


@pytest.fixture
def ec2(sim: FaithfulEC2, aws_session: boto3.Session) -> EC2Client:
    """The operator's own EC2 client: how a test sets a scene and reads the result."""
    return aws_session.client("ec2")


@pytest.fixture
def topology(sim: FaithfulEC2, ec2: EC2Client) -> PairTopology:
    built = build_pair(ec2, name="nat", sim=sim)
    sim.reset_counts()
    return built


@pytest.fixture
def deployment(
    topology: PairTopology, clients: AwsClients, stack_template: dict[str, Any]
) -> LocalDeployment:
    return LocalDeployment.from_template(
        FailoverConfig(pairs=(pair_of(topology),), tuning=TEST_TUNING),
        stack_template,
        clients=clients,
    )


@pytest.fixture
def scene(
    sim: FaithfulEC2, ec2: EC2Client, topology: PairTopology, deployment: LocalDeployment
) -> Scene:
    return Scene(sim=sim, ec2=ec2, topology=topology, deployment=deployment)


@pytest.fixture
def across_zones(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> AddressScene:
    """An overlay route in two route tables and an Elastic IP; primary in us-east-1a,
    standby in us-east-1b."""
    return make_scene(sim, ec2, clients, stack_template, build_address_pair(ec2, name="edge"))


@pytest.fixture
def same_subnet(
    sim: FaithfulEC2, ec2: EC2Client, clients: AwsClients, stack_template: dict[str, Any]
) -> AddressScene:
    """Two secondary private IPs, both instances in one subnet."""
    topology = build_address_pair(
        ec2,
        name="edge",
        standby_az="us-east-1a",
        route_tables=0,
        route_cidrs=(),
        elastic_ips=0,
        secondary_private_ips=2,
    )
    return make_scene(sim, ec2, clients, stack_template, topology)
