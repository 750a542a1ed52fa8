"""The probe quorum: two vantages probe the same service, and a failure counts only when
both see it (or when the other cannot probe at all); one trigger per failure between them."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from eni_failover.clients import AwsClients
from eni_failover.config import FailoverConfig, ProberSettings, Probing
from eni_failover.probe import ProbeResult, Resolve
from eni_failover.prober import Prober, ProberLease, lease_id_for, run_invocation
from eni_failover.quorum import ANSWERING, FAILED, QuorumStore, View
from eni_failover.timeline import SystemClock
from eni_failover_cli import status
from eni_failover_cli.deployment import Deployment
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.delivery import drain
from eni_failover_emulator.service import Behaviour, PairServices
from tests.integration.conftest import TEST_TUNING, pair_of, prober_account

# model_construct: the deployable minimum interval is 1 s, a test's is not.
FAST = Probing.model_construct(
    interval_seconds=0.2, timeout_seconds=0.1, failures=3, confirm_seconds=0.05, verify_tls=False
)
PROBE = "http://:80/health"
A, B = "subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"
VANTAGES = (A, B)


def closed_port() -> int:
    """A loopback port nothing listens on: a probe there is refused, as on a broken path."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class TwoVantages:
    services: PairServices
    settings: ProberSettings
    clients: AwsClients
    capture_url: str

    def vantage(self, name: str, resolve: Resolve | None = None) -> Prober:
        settings = self.settings.model_copy(update={"vantage": name, "vantages": VANTAGES})
        return Prober(
            settings=settings,
            clients=self.clients,
            clock=SystemClock(),
            resolve=resolve or self.services.resolve,
        )

    def triggers(self) -> list[dict[str, Any]]:
        return [
            json.loads(json.loads(body)["Message"])
            for body in drain(self.clients.sqs, self.capture_url)
        ]

    def run_together(self, *probers: Prober, seconds: float) -> None:
        """Each vantage probes in its own thread, as two functions would."""
        threads = [
            threading.Thread(
                target=p.run,
                kwargs={
                    "should_stop": lambda: False,
                    "deadline": p.clock.monotonic() + seconds,
                },
            )
            for p in probers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 10)

    @property
    def store(self) -> QuorumStore:
        return QuorumStore(self.clients.dynamodb, self.settings.state_table_name)


@pytest.fixture
def two(sim: FaithfulEC2, topology: PairTopology) -> Iterator[TwoVantages]:
    pair = pair_of(topology).model_copy(update={"probe": PROBE})
    failover = FailoverConfig(pairs=(pair,), tuning=TEST_TUNING, probing=FAST)
    with prober_account(topology, failover) as account:
        yield TwoVantages(account.services, account.settings, account.clients, account.capture_url)


def test_both_vantages_see_the_failure_one_trigger(two: TwoVantages) -> None:
    a, b = two.vantage(A), two.vantage(B)
    # Given both vantages probe the healthy service
    two.run_together(a, b, seconds=FAST.interval_seconds * 2)
    # When the service stops answering and both keep probing
    two.services.primary.set(Behaviour.DOWN)
    two.run_together(a, b, seconds=FAST.interval_seconds * FAST.failures * 5)
    # Then exactly one trigger went out between them, and both consider the episode handled
    [trigger] = two.triggers()
    assert trigger["detail"]["pair"] == "nat"
    assert a.triggers_sent + b.triggers_sent == 1
    assert a.trackers["nat"].episode_open
    assert b.trackers["nat"].episode_open


def test_a_failure_seen_from_one_side_is_degraded_never_sent(two: TwoVantages) -> None:
    port = closed_port()
    a = two.vantage(A)
    b = two.vantage(B)
    # Given both vantages probing the answering service, each with its view saved, until
    # vantage B's path to every address breaks (its probes are refused)
    healthy = FAST.interval_seconds * 3
    breaks = threading.Timer(
        healthy, lambda: setattr(b, "resolve", lambda _address, _port: ("127.0.0.1", port))
    )
    breaks.start()
    # When both probe on for well past the grace the other vantage is given
    grace = b.quorum.bounds.grace_seconds if b.quorum else 0.0
    two.run_together(a, b, seconds=healthy + grace + FAST.interval_seconds * (FAST.failures + 4))
    breaks.join()
    # Then nothing was sent, and B reports detection degraded, in its memory and its view
    assert two.triggers() == []
    expected = f"detection degraded: {B} sees nat failing, {A} sees it answering"
    assert b.memory()["quorum"]["degraded"] == {"nat": expected}
    view = two.store.read_view(B)
    assert view is not None
    assert view.degraded == {"nat": expected}
    assert a.memory()["quorum"]["degraded"] == {}
    # And `status` finds it through the first vantage's memory, which lists both vantages
    lease = ProberLease(two.clients.dynamodb, two.settings.state_table_name)
    lease.acquire("a", now=a.clock.now().timestamp(), hold_seconds=60)
    lease.save("a", a.memory(), release=True)
    memory, _ = lease.read_memory()
    deployment = SimpleNamespace(
        clients=two.clients,
        outputs=SimpleNamespace(state_table_name=two.settings.state_table_name),
    )
    assert status._degraded(cast(Deployment, deployment), memory, "nat") == [expected]


def test_a_vantage_that_never_ran_does_not_veto(two: TwoVantages) -> None:
    # Given only vantage A runs (B's function never started: no view saved)
    a = two.vantage(A)
    two.services.primary.set(Behaviour.DOWN)
    # When A sees the failure
    two.run_together(a, seconds=FAST.interval_seconds * FAST.failures * 3)
    # Then A sends the trigger alone
    assert len(two.triggers()) == 1


def test_a_stale_view_does_not_veto(two: TwoVantages) -> None:
    a = two.vantage(A)
    assert a.quorum is not None
    # Given B's last view said "answering", longer ago than the bound (its zone went down)
    stale = a.clock.now() - timedelta(seconds=a.quorum.bounds.stale_seconds + 1)
    two.store.save_view(View(vantage=B, saved_at=stale, pairs={"nat": ANSWERING}))
    two.services.primary.set(Behaviour.DOWN)
    # When A sees the failure
    two.run_together(a, seconds=FAST.interval_seconds * FAST.failures * 3)
    # Then A sends the trigger alone
    assert len(two.triggers()) == 1


def test_both_confirming_at_once_claim_one_trigger(two: TwoVantages) -> None:
    a, b = two.vantage(A), two.vantage(B)
    assert a.quorum is not None
    assert b.quorum is not None
    two.services.primary.set(Behaviour.DOWN)
    # Given both vantages have confirmed the failure, and each has saved "failed"
    for prober in (a, b):
        for _ in range(FAST.failures):
            prober.trackers["nat"].observe(_failed(prober))
    now = a.clock.now()
    for name in VANTAGES:
        two.store.save_view(View(vantage=name, saved_at=now, pairs={"nat": FAILED}))
    # When both ask the quorum in the same round
    answers = [a.quorum.agrees("nat", a.trackers["nat"]), b.quorum.agrees("nat", b.trackers["nat"])]
    # Then one may send, and the other takes the episode as handled
    assert answers == [True, False]
    assert b.trackers["nat"].episode_open


def _failed(prober: Prober) -> ProbeResult:
    return ProbeResult(
        target="nat service", ok=False, at=prober.clock.now(), latency_seconds=0.1, error="refused"
    )


def test_each_vantage_hands_over_through_its_own_lease(two: TwoVantages) -> None:
    # Given the two vantages' invocations run at the same time
    a, b = two.vantage(A), two.vantage(B)
    ended: dict[str, str] = {}

    def invoke(name: str, prober: Prober) -> None:
        lease = ProberLease(
            two.clients.dynamodb, two.settings.state_table_name, lease_id_for(name, VANTAGES)
        )
        ended[name] = run_invocation(prober, lease, owner=name, remaining_seconds=6.5)

    threads = [threading.Thread(target=invoke, args=(n, p)) for n, p in ((A, a), (B, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    # Then neither waited for the other: each held its own lease, and the first vantage's
    # memory is where `status` reads it
    assert ended == {A: "handed over", B: "handed over"}
    memory, saved_at = ProberLease(
        two.clients.dynamodb, two.settings.state_table_name
    ).read_memory()
    assert saved_at is not None
    assert memory["quorum"]["vantage"] == A


@pytest.mark.parametrize(("second_zone", "warned"), [("us-east-1a", True), ("us-east-1b", False)])
def test_each_vantage_says_when_the_vantages_share_a_zone(
    two: TwoVantages, topology: PairTopology, second_zone: str, warned: bool
) -> None:
    # Given two probe subnets, in one zone or in two
    first = two.clients.ec2.create_subnet(
        VpcId=topology.vpc_id, CidrBlock="10.0.200.0/24", AvailabilityZone="us-east-1a"
    )["Subnet"]["SubnetId"]
    second = two.clients.ec2.create_subnet(
        VpcId=topology.vpc_id, CidrBlock="10.0.201.0/24", AvailabilityZone=second_zone
    )["Subnet"]["SubnetId"]
    settings = two.settings.model_copy(update={"vantage": first, "vantages": (first, second)})
    prober = Prober(settings=settings, clients=two.clients, clock=SystemClock())
    assert prober.quorum is not None
    # When the vantage starts probing
    prober.quorum.publish()
    # Then its memory (what `status` reads) says so when they share a zone, and only then
    note = prober.memory()["quorum"]["zones"]
    if warned:
        assert note == (
            f"probe quorum: every vantage ({first}, {second}) is in zone us-east-1a; a broken "
            "zone looks like a dead service from all of them: list probeSubnetIds in two zones"
        )
    else:
        assert note is None
