"""The prober on the faithful EC2, probing real listeners that stand for the pair's service."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest
from moto.cloudwatch.models import CloudWatchBackend
from moto.core.exceptions import JsonRESTError

from eni_failover.clients import AwsClients
from eni_failover.cloudwatch import METRIC_PROBE_SUCCESS, METRIC_PROBER_ROUNDS
from eni_failover.config import FailoverConfig, ProberSettings, Probing
from eni_failover.prober import Prober, ProberLease, run_invocation
from eni_failover.timeline import SystemClock
from eni_failover_ec2sim import FaithfulEC2, PairTopology, build_pair
from eni_failover_emulator.delivery import drain
from eni_failover_emulator.endpoint import REGION
from eni_failover_emulator.service import Behaviour, PairServices
from tests.integration.conftest import TEST_TUNING, ProberAccount, pair_of, prober_account

# Short rounds keep the suite quick; the defaults (2 s, 1 s, 3) are measured by `make bench`.
# model_construct: the deployable minimum interval is 1 s, a test's is not.
FAST = Probing.model_construct(
    interval_seconds=0.2, timeout_seconds=0.1, failures=3, confirm_seconds=0.05, verify_tls=False
)
PROBE = "http://:80/health"
NAMESPACE = "EniFailover"


@dataclass
class Probed:
    topology: PairTopology
    services: PairServices
    settings: ProberSettings
    clients: AwsClients
    capture_url: str

    def prober(self) -> Prober:
        return Prober(
            settings=self.settings,
            clients=self.clients,
            clock=SystemClock(),
            resolve=self.services.resolve,
        )

    def triggers(self) -> list[dict[str, Any]]:
        return [
            json.loads(json.loads(body)["Message"])
            for body in drain(self.clients.sqs, self.capture_url)
        ]

    def run_for(self, prober: Prober, rounds: int) -> None:
        """Probe for about `rounds` rounds, in this thread."""
        prober.run(
            should_stop=lambda: False,
            deadline=prober.clock.monotonic() + rounds * FAST.interval_seconds,
        )


@pytest.fixture
def probed(sim: FaithfulEC2, topology: PairTopology) -> Iterator[Probed]:
    pair = pair_of(topology).model_copy(update={"probe": PROBE})
    failover = FailoverConfig(pairs=(pair,), tuning=TEST_TUNING, probing=FAST)
    with prober_account(topology, failover) as account:
        yield Probed(
            topology, account.services, account.settings, account.clients, account.capture_url
        )


def test_a_healthy_service_sends_nothing(probed: Probed) -> None:
    # Given the service answers on the primary
    prober = probed.prober()
    # When the prober probes for a while
    probed.run_for(prober, rounds=5)
    # Then no trigger went out, and the service, primary and standby were all seen answering
    assert probed.triggers() == []
    last = prober.last["nat"]
    assert last.service.ok, last.service.error
    assert last.primary is not None
    assert last.primary.ok
    assert last.standby is not None
    assert last.standby.ok


def test_one_lost_probe_never_triggers(probed: Probed) -> None:
    prober = probed.prober()
    probed.run_for(prober, rounds=2)
    # Given the service misses a single probe
    probed.services.primary.set(Behaviour.HANGING)
    probed.run_for(prober, rounds=1)
    probed.services.primary.set(Behaviour.HEALTHY)
    probed.run_for(prober, rounds=3)
    # Then nothing was sent
    assert probed.triggers() == []


def test_a_failed_service_sends_one_trigger_per_episode(probed: Probed) -> None:
    prober = probed.prober()
    # Given the primary's service stops answering while EC2 sees nothing wrong
    probed.services.primary.set(Behaviour.DOWN)
    # When the prober probes for twice as many rounds as make a failure
    probed.run_for(prober, rounds=FAST.failures * 3)
    # Then exactly one trigger went out, carrying each failed probe and the standby's answer
    [trigger] = probed.triggers()
    detail = trigger["detail"]
    assert trigger["source"] == "eni-failover.prober"
    assert detail["pair"] == "nat"
    assert detail["probe"] == PROBE
    assert len(detail["failures"]) == FAST.failures
    assert all(f["error"] == "connection refused" for f in detail["failures"])
    assert detail["standby"]["ok"] is True
    # And once the service answers again, a new failure is a new episode with its own trigger
    probed.services.primary.set(Behaviour.HEALTHY)
    probed.run_for(prober, rounds=2)
    probed.services.primary.set(Behaviour.DOWN)
    probed.run_for(prober, rounds=FAST.failures * 3)
    assert len(probed.triggers()) == 1


def test_the_episode_survives_the_handover(probed: Probed) -> None:
    lease = ProberLease(probed.clients.dynamodb, probed.settings.state_table_name)
    first, second = probed.prober(), probed.prober()
    probed.services.primary.set(Behaviour.DOWN)
    # Given one invocation has sent the episode's trigger and is probing on
    assert lease.acquire("first", now=time.time(), hold_seconds=60) == {}
    # (probing until the episode opens, however slow the machine is today)
    first.run(
        should_stop=lambda: first.trackers["nat"].episode_open,
        deadline=first.clock.monotonic() + 15.0,
    )
    assert len(probed.triggers()) == 1

    # When the next scheduled invocation asks to take over (it may wait up to half its
    # remaining time for the handover, and then probes for about two seconds)
    def take_over() -> None:
        run_invocation(second, lease, owner="second", remaining_seconds=30.0, margin_seconds=28.0)

    successor = threading.Thread(target=take_over)
    successor.start()
    first.run(
        should_stop=lease.successor_waiting,
        deadline=first.clock.monotonic() + 15.0,
    )
    lease.save("first", first.memory(), release=True)
    successor.join(timeout=30)
    # Then the successor carried on the same episode: no second trigger for one failure
    assert not successor.is_alive()
    assert second.trackers["nat"].episode_open
    assert probed.triggers() == []


def test_probe_results_are_published_as_metrics(probed: Probed) -> None:
    prober = probed.prober()
    probed.run_for(prober, rounds=3)
    metrics = probed.clients.cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
    names = {
        (m["MetricName"], tuple((d["Name"], d["Value"]) for d in m.get("Dimensions", [])))
        for m in metrics
    }
    assert (METRIC_PROBE_SUCCESS, (("Pair", "nat"),)) in names
    assert (METRIC_PROBER_ROUNDS, ()) in names


def test_the_probers_own_trouble_moves_nothing(
    probed: Probed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given CloudWatch refuses the prober's metrics
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise JsonRESTError("ThrottlingException", "Rate exceeded")

    monkeypatch.setattr(CloudWatchBackend, "put_metric_data", refuse)
    prober = probed.prober()
    # When it probes a healthy service and flushes
    probed.run_for(prober, rounds=3)
    # Then it probed on and sent no trigger
    assert prober.last["nat"].service.ok
    assert probed.triggers() == []


def _move(probed: Probed, sim: FaithfulEC2, *, to: str) -> None:
    """Move the floating interface by hand, as an operator's failover or failback does."""
    ec2 = probed.clients.ec2
    topology = probed.topology
    [raw] = ec2.describe_network_interfaces(NetworkInterfaceIds=[topology.interface_id])[
        "NetworkInterfaces"
    ]
    ec2.detach_network_interface(AttachmentId=raw["Attachment"]["AttachmentId"], Force=True)
    sim.settle()
    ec2.attach_network_interface(
        NetworkInterfaceId=topology.interface_id, InstanceId=to, DeviceIndex=topology.device_index
    )
    sim.settle()


class ProbingInBackground:
    """One prober loop in a thread, for what happens between its looks at EC2."""

    def __init__(self, prober: Prober) -> None:
        self.prober = prober
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=prober.run,
            kwargs={"should_stop": self._stop.is_set, "deadline": time.monotonic() + 30},
        )

    def __enter__(self) -> ProbingInBackground:
        self._thread.start()
        return self

    def rounds(self, count: int) -> None:
        time.sleep(count * FAST.interval_seconds)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_a_failback_since_the_last_look_does_not_hide_the_failure(
    probed: Probed, sim: FaithfulEC2
) -> None:
    # Given the prober last looked at EC2 while the interface was on the standby
    _move(probed, sim, to=probed.topology.standby_instance_id)
    with ProbingInBackground(probed.prober()) as probing:
        probing.rounds(2)
        # When the interface goes back to the primary, whose service then stops answering,
        # all before the prober's next regular look
        _move(probed, sim, to=probed.topology.primary_instance_id)
        probed.services.primary.set(Behaviour.DOWN)
        probing.rounds(FAST.failures * 2)
    # Then the episode's trigger still went out
    [trigger] = probed.triggers()
    assert trigger["detail"]["pair"] == "nat"


def test_a_failover_since_the_last_look_sends_nothing_about_the_standby(
    probed: Probed, sim: FaithfulEC2
) -> None:
    # Given the prober last looked at EC2 while the interface was on the primary
    with ProbingInBackground(probed.prober()) as probing:
        probing.rounds(2)
        # When the interface has moved to the standby, whose service then stops answering
        _move(probed, sim, to=probed.topology.standby_instance_id)
        probed.services.standby.set(Behaviour.DOWN)
        probing.rounds(FAST.failures * 2)
    # Then no trigger: the failing service is the standby's, with nowhere to move to
    assert probed.triggers() == []


def test_the_first_results_are_saved_after_the_first_round(probed: Probed) -> None:
    lease = ProberLease(probed.clients.dynamodb, probed.settings.state_table_name)
    prober = probed.prober()
    # Given a scheduled invocation has just started probing
    invocation = threading.Thread(
        target=run_invocation,
        args=(prober, lease),
        kwargs={"owner": "first", "remaining_seconds": 6.0, "margin_seconds": 1.0},
    )
    invocation.start()
    try:
        # Then what `status` and `check` read is there within a few rounds, long before the
        # regular save every FLUSH_SECONDS
        deadline = time.monotonic() + 10 * FAST.interval_seconds
        while lease.read_memory()[1] is None and time.monotonic() < deadline:
            time.sleep(FAST.interval_seconds / 2)
        memory, saved_at = lease.read_memory()
        assert saved_at is not None
        assert memory["last"]["nat"]["service"]["ok"] is True
    finally:
        invocation.join(timeout=10)


# -- confirmations: quicker verdicts, each pair on its own schedule ---------------------------

# A timeout long beside the confirmation spacing, and an interval longer still, so that
# "overlapping" and "not held up" are plain orders of events on any machine, not tight
# timings: regular probes alone would be 2 s apart, confirmations are 0.05 s apart.
SLOW_TIMEOUT = Probing.model_construct(
    interval_seconds=2.0,
    timeout_seconds=1.0,
    failures=3,
    confirm_seconds=0.05,
    verify_tls=False,
)


def _at(raw: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(raw["at"])


def test_confirmations_of_a_hung_service_overlap_and_its_trigger_carries_them(
    sim: FaithfulEC2, topology: PairTopology
) -> None:
    pair = pair_of(topology).model_copy(update={"probe": PROBE})
    failover = FailoverConfig(pairs=(pair,), tuning=TEST_TUNING, probing=SLOW_TIMEOUT)
    with prober_account(topology, failover) as account:
        probed = Probed(
            topology, account.services, account.settings, account.clients, account.capture_url
        )
        prober = probed.prober()
        # Given the primary's service accepts connections and never answers
        probed.services.primary.set(Behaviour.HANGING)
        # When the prober probes until the episode's trigger is out
        prober.run(
            should_stop=lambda: prober.trackers["nat"].episode_open,
            deadline=prober.clock.monotonic() + 20.0,
        )
    # Then one trigger carries the failures in a row, each a probe that waited its timeout
    [trigger] = probed.triggers()
    failures = trigger["detail"]["failures"]
    assert len(failures) == SLOW_TIMEOUT.failures
    assert all(f["error"] == "no answer within 1 s" for f in failures)
    # And the confirmations after the first failure started before the one ahead of them
    # had timed out: they overlapped, instead of waiting out one timeout after another
    starts = [_at(f) for f in failures]
    assert starts == sorted(starts)
    confirmations = starts[1:]
    for earlier, later in itertools.pairwise(confirmations):
        assert (later - earlier).total_seconds() < SLOW_TIMEOUT.timeout_seconds
    # And the standby's evidence was probed during the confirmations, not before the failure
    assert trigger["detail"]["standby"]["ok"] is True
    assert _at(trigger["detail"]["standby"]) >= starts[0]


def test_a_hung_pair_never_holds_up_another_pairs_verdict(
    sim: FaithfulEC2, topology: PairTopology
) -> None:
    # Given two probed pairs, each its own service on its own port: "stuck" whose service
    # hangs (each probe waits out 1 s), and "web" whose service refuses connections
    other = build_pair(boto3.client("ec2", region_name=REGION), name="web", sim=sim)
    stuck = pair_of(topology, name="stuck").model_copy(update={"probe": "http://:80/health"})
    web = pair_of(other, name="web", alarm_name="EniFailover-web-primary-status").model_copy(
        update={"probe": "http://:81/health"}
    )
    failover = FailoverConfig(pairs=(stuck, web), tuning=TEST_TUNING, probing=SLOW_TIMEOUT)
    with (
        prober_account(topology, failover) as account,
        closing(
            PairServices(
                boto3.client("ec2", region_name=REGION),
                primary_instance_id=other.primary_instance_id,
                standby_instance_id=other.standby_instance_id,
                interface_id=other.interface_id,
            )
        ) as web_services,
    ):
        by_port = {80: account.services, 81: web_services}
        prober = Prober(
            settings=account.settings,
            clients=account.clients,
            clock=SystemClock(),
            resolve=lambda address, port: by_port[port].resolve(address, port),
        )
        account.services.primary.set(Behaviour.HANGING)
        web_services.primary.set(Behaviour.DOWN)
        # When the prober probes both
        with ProbingInBackground(prober):
            deadline = time.monotonic() + 20.0
            while not prober.trackers["web"].episode_open and time.monotonic() < deadline:
                time.sleep(0.01)
            # Then web's trigger went out while stuck's first probe was still waiting for
            # its answer: web's probes and confirmations did not wait for stuck's
            stuck_failures_then = len(prober.trackers["stuck"].failed_in_a_row)
            assert prober.trackers["web"].episode_open
            assert stuck_failures_then == 0
            # And stuck gets its own verdict in turn
            while not prober.trackers["stuck"].episode_open and time.monotonic() < deadline:
                time.sleep(0.01)
        pairs = sorted(json.loads(body)["detail"]["pair"] for body in _messages(account))
    assert pairs == ["stuck", "web"]


def _messages(account: ProberAccount) -> list[str]:
    return [json.loads(body)["Message"] for body in drain(account.clients.sqs, account.capture_url)]
