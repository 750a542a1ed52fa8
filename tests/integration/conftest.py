"""A deployed failover in the emulator, on the faithful EC2 with short, non-zero latencies."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Pair, ProberSettings, Tuning
from eni_failover_ec2sim import FaithfulEC2, PairTopology, build_pair
from eni_failover_emulator.deployment import LocalDeployment
from eni_failover_emulator.endpoint import ACCOUNT_ID, REGION
from eni_failover_emulator.service import PairServices

ALARM_NAME = "EniFailover-nat-primary-status"
TEST_TUNING = Tuning(
    swap_deadline_seconds=8,
    poll_interval_seconds=0.05,
    detach_grace_seconds=1.0,
    lease_wait_seconds=0.5,
    api_max_attempts=5,
)


@pytest.fixture
def topology(sim: FaithfulEC2) -> PairTopology:
    built = build_pair(boto3.client("ec2", region_name="us-east-1"), name="nat", sim=sim)
    sim.reset_counts()  # count only what the failover calls
    return built


def pair_of(topology: PairTopology, name: str = "nat", alarm_name: str = ALARM_NAME) -> Pair:
    return Pair(
        name=name,
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        interface_ids=(topology.interface_id,),
        alarm_name=alarm_name,
    )


@pytest.fixture
def deployment(topology: PairTopology, stack_template: dict[str, Any]) -> LocalDeployment:
    return LocalDeployment.from_template(
        FailoverConfig(pairs=(pair_of(topology),), tuning=TEST_TUNING), stack_template
    )


@dataclass
class ProberAccount:
    """What a prober runs against: its settings and clients, the pair's services listening,
    and a queue on the trigger topic that captures what the prober sends."""

    services: PairServices
    settings: ProberSettings
    clients: AwsClients
    capture_url: str


@contextmanager
def prober_account(topology: PairTopology, failover: FailoverConfig) -> Iterator[ProberAccount]:
    clients = AwsClients(region=REGION)
    table = "prober-state"
    clients.dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = clients.sns.create_topic(Name="trigger")["TopicArn"]
    capture = clients.sqs.create_queue(QueueName="trigger-capture")["QueueUrl"]
    capture_arn = clients.sqs.get_queue_attributes(QueueUrl=capture, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    clients.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=capture_arn)
    settings = ProberSettings(
        failover=failover,
        trigger_topic_arn=topic,
        state_table_name=table,
        metrics_namespace="EniFailover",
        account_id=ACCOUNT_ID,
        region=REGION,
    )
    services = PairServices(
        boto3.client("ec2", region_name=REGION),
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        interface_id=topology.interface_id,
        # A hung service answers after the probe has given up on it.
        slow_seconds=failover.probing.timeout_seconds * 3,
    )
    try:
        yield ProberAccount(services, settings, clients, capture)
    finally:
        services.close()
