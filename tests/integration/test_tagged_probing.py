"""A pair declared by tags, probed through its eni-failover:probe tag: the prober finds it,
its failed probes send a probe trigger, and the function fails the tagged pair over."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, Pair, ProberSettings, Probing
from eni_failover.discovery import PAIR_TAG, PROBE_TAG, ROLE_TAG, Discovery, DiscoveryCache
from eni_failover.errors import AwsCallFailed
from eni_failover.prober import Prober
from eni_failover.timeline import SystemClock
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.delivery import drain
from eni_failover_emulator.deployment import LocalDeployment
from eni_failover_emulator.endpoint import REGION
from eni_failover_emulator.service import Behaviour, PairServices
from tests.integration.conftest import TEST_TUNING, pair_of, prober_account
from tests.integration.test_handler import machine_readable
from tests.support import sns_event

PROBE = "http://:80/health"
# Short rounds keep the suite quick (model_construct: a deployable interval is at least
# 1 s); probePorts=80, as `-c probePorts=80` would package it.
FAST = Probing.model_construct(
    interval_seconds=0.2,
    timeout_seconds=0.1,
    failures=3,
    confirm_seconds=0.05,
    verify_tls=False,
    tag_ports=(80,),
)


def tag(topology: PairTopology, pair: str, *, probe: str | None) -> None:
    """Tag the pair as docs/tag-discovery.md says, the probe on the primary."""
    ec2 = boto3.client("ec2", region_name=REGION)
    for resource, role in (
        (topology.primary_instance_id, "primary"),
        (topology.standby_instance_id, "standby"),
        (topology.interface_id, "floating"),
    ):
        tags: list[Any] = [{"Key": PAIR_TAG, "Value": pair}, {"Key": ROLE_TAG, "Value": role}]
        if role == "primary" and probe is not None:
            tags.append({"Key": PROBE_TAG, "Value": probe})
        ec2.create_tags(Resources=[resource], Tags=tags)


@dataclass
class TaggedStack:
    """The prober and the failover function of a stack that discovers pairs by tags."""

    topology: PairTopology
    services: PairServices
    settings: ProberSettings
    clients: AwsClients
    capture_url: str

    def prober(self, *, discovered: DiscoveryCache | None = None) -> Prober:
        return Prober(
            settings=self.settings,
            clients=self.clients,
            clock=SystemClock(),
            resolve=self.services.resolve,
            discovered=discovered,
        )

    def probe_until_a_trigger(self, prober: Prober, *, seconds: float = 15.0) -> None:
        prober.run(
            should_stop=lambda: prober.triggers_sent > 0,
            deadline=prober.clock.monotonic() + seconds,
        )

    def triggers(self) -> list[str]:
        """The probe triggers sent, each as the trigger topic delivers its message."""
        return [json.loads(body)["Message"] for body in drain(self.clients.sqs, self.capture_url)]


@contextmanager
def tagged_stack(topology: PairTopology, *pairs: Pair) -> Iterator[TaggedStack]:
    failover = FailoverConfig(pairs=pairs, tuning=TEST_TUNING, probing=FAST, discover_tags=True)
    with prober_account(topology, failover) as account:
        yield TaggedStack(
            topology, account.services, account.settings, account.clients, account.capture_url
        )


@pytest.fixture
def stack(sim: FaithfulEC2, topology: PairTopology) -> Iterator[TaggedStack]:
    tag(topology, "web", probe=PROBE)
    with tagged_stack(topology) as built:
        yield built


def where(topology: PairTopology) -> str | None:
    [eni] = boto3.client("ec2", region_name=REGION).describe_network_interfaces(
        NetworkInterfaceIds=[topology.interface_id]
    )["NetworkInterfaces"]
    return (eni.get("Attachment") or {}).get("InstanceId")


def test_a_tagged_pair_with_a_probe_tag_is_probed_and_failed_over(
    stack: TaggedStack, stack_template: dict[str, Any]
) -> None:
    # Given a stack that configures no pair, and a pair tagged "web" whose primary carries
    # the probe tag, and whose service stops answering while EC2 sees nothing wrong
    stack.services.primary.set(Behaviour.DOWN)
    prober = stack.prober()

    # When the prober probes
    stack.probe_until_a_trigger(prober)

    # Then it probed the tagged pair's service, and sent one probe trigger naming the pair
    assert prober.last["web"].service.error == "connection refused"
    [message] = stack.triggers()
    detail = json.loads(message)["detail"]
    assert (detail["pair"], detail["probe"]) == ("web", PROBE)
    assert detail["standby"]["ok"] is True

    # When the trigger topic delivers it to the failover function of the same stack
    deployment = LocalDeployment.from_template(stack.settings.failover, stack_template)
    report = deployment.invoke(sns_event(message))

    # Then the function routed it to the tagged pair and moved the interface to the standby
    assert [o["outcome"] for o in report["outcomes"]] == ["swapped"]
    assert where(stack.topology) == stack.topology.standby_instance_id
    [notification] = deployment.notifications()
    facts = machine_readable(notification)
    assert (facts["pair"], facts["outcome"]) == ("web", "swapped")
    assert "3 probes (http://:80/health) in a row failed" in notification["message"]


def test_a_tagged_pair_without_a_probe_tag_is_not_probed(
    sim: FaithfulEC2, topology: PairTopology
) -> None:
    # Given a tagged pair with no probe tag
    tag(topology, "web", probe=None)
    with tagged_stack(topology) as stack:
        prober = stack.prober()
        # When the prober runs a few rounds
        prober.run(should_stop=lambda: False, deadline=prober.clock.monotonic() + 0.5)
        # Then it probed nothing, and sent nothing
        assert prober.targets == {}
        assert stack.triggers() == []


def test_a_failing_discovery_never_stops_the_probing_of_configured_pairs(
    sim: FaithfulEC2, topology: PairTopology
) -> None:
    # Given a configured probed pair, in a stack whose look at the tags keeps failing
    def refuse() -> Discovery:
        raise AwsCallFailed("DescribeInstances", "RequestLimitExceeded", "Request limit exceeded")

    configured = pair_of(topology).model_copy(update={"probe": PROBE})
    with tagged_stack(topology, configured) as stack:
        failing = DiscoveryCache(refuse, clock=SystemClock())
        prober = stack.prober(discovered=failing)
        stack.services.primary.set(Behaviour.DOWN)

        # When the prober probes
        stack.probe_until_a_trigger(prober)

        # Then the configured pair was probed all the same, and its trigger sent
        [message] = stack.triggers()
        assert json.loads(message)["detail"]["pair"] == "nat"
