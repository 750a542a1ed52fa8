"""Duplicate deliveries and simultaneous failures: SNS delivers at least once, and Lambda
runs concurrent invocations in separate execution environments (one thread each here),
all against the same EC2, state table and topics.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eni_failover.config import FailoverConfig
from eni_failover.errors import TriggerInProgress
from eni_failover_ec2sim import CallEvent, build_pair
from eni_failover_emulator.deployment import FakeLambdaContext, LocalDeployment
from tests.faults.views import ONE_SWAP, Delivery, Scene, facts, outcome_of, trigger_id_of, where
from tests.integration.conftest import ALARM_NAME, TEST_TUNING, pair_of
from tests.support import alarm_message, sns_event

DELIVERIES = 10


def test_same_event_delivered_ten_times_in_a_row_swaps_once_and_notifies_once(
    scene: Scene,
) -> None:
    # Given a failed primary and its alarm
    scene.sim.set_status(scene.primary, instance="impaired")
    event = scene.alarm()

    # When SNS delivers the event ten times, each a new invocation
    deliveries = [scene.deliver(event, FakeLambdaContext()) for _ in range(DELIVERIES)]

    # Then the first swaps and the other nine replay its result
    assert all(d.error is None for d in deliveries)
    outcomes = [d.report["outcomes"] for d in deliveries if d.report is not None]
    assert len(outcomes) == DELIVERIES
    assert outcomes[0][0]["outcome"] == "swapped"
    assert all(o == outcomes[0] for o in outcomes)
    # And the interface moved once, with one notification
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    assert [outcome_of(n) for n in scene.notifications()] == ["swapped"]


def test_same_event_delivered_ten_times_at_once_swaps_once_and_notifies_once(
    scene: Scene,
) -> None:
    # Given a failed primary, its alarm, and ten execution environments of the function
    scene.sim.set_status(scene.primary, instance="impaired")
    event = scene.alarm()
    environments = [scene.environment() for _ in range(DELIVERIES)]
    start = threading.Barrier(DELIVERIES)

    def deliver_at_once(environment: LocalDeployment) -> Delivery:
        start.wait(timeout=30)
        return scene.runtime.deliver(environment, event, FakeLambdaContext())

    # When SNS delivers the event ten times concurrently
    with ThreadPoolExecutor(max_workers=DELIVERIES) as pool:
        deliveries = list(pool.map(deliver_at_once, environments))

    # Then exactly one invocation swapped; each other one either replayed that result or
    # was told the trigger is in progress (its invocation fails, for Lambda to retry, and
    # notifies no one)
    answered = [d.report["outcomes"] for d in deliveries if d.report is not None]
    in_progress = [d for d in deliveries if isinstance(d.error, TriggerInProgress)]
    assert len(answered) + len(in_progress) == DELIVERIES
    assert answered
    assert all(outcomes == answered[0] for outcomes in answered)
    assert answered[0][0]["outcome"] == "swapped"
    assert {str(d.error) for d in in_progress} <= {
        f"trigger {trigger_id_of(event)} for pair nat is being handled by another invocation"
    }
    assert scene.moves == ONE_SWAP

    # When Lambda retries the ones that were told to come back
    retries = [scene.deliver(event, FakeLambdaContext()) for _ in in_progress]

    # Then they replay the result: still one move, and one notification in all
    assert all(r.error is None for r in retries)
    assert scene.interface().instance_id == scene.standby
    assert scene.moves == ONE_SWAP
    [notification] = scene.notifications()
    assert outcome_of(notification) == "swapped"


def test_two_pairs_failing_at_once_both_swap_without_waiting_for_each_other(
    scene: Scene,
) -> None:
    # Given a second pair beside the first, both configured in one function, and both
    # primaries failing at the same moment
    sim, ec2 = scene.sim, scene.ec2
    web = build_pair(ec2, name="web", sim=sim)
    scene.moves.clear()  # count only the failover's moves
    web_alarm = "EniFailover-web-primary-status"
    config = FailoverConfig(
        pairs=(pair_of(scene.topology), pair_of(web, name="web", alarm_name=web_alarm)),
        tuning=TEST_TUNING,
    )
    deployed = scene.deployment
    environments = [
        LocalDeployment.create(config, clients=deployed.clients, resources=deployed.resources)
        for _ in range(2)
    ]
    sim.set_status(scene.primary, instance="impaired")
    sim.set_status(web.primary_instance_id, instance="impaired")
    events = [
        scene.alarm(),
        sns_event(alarm_message(alarm_name=web_alarm, instance_id=web.primary_instance_id)),
    ]
    # Each detach waits until the other pair's detach has been made too: if one pair's
    # move waited for the other's, this would never happen and the barrier would break.
    both_detaching = threading.Barrier(2)

    def meet(_: CallEvent) -> None:
        both_detaching.wait(timeout=10)

    sim.on("DetachNetworkInterface", meet, times=2)

    # When each alarm reaches its own invocation at the same time
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(scene.runtime.deliver, environment, event, FakeLambdaContext())
            for environment, event in zip(environments, events, strict=True)
        ]
        deliveries = [f.result() for f in futures]

    # Then both moves overlapped and both swapped
    assert not both_detaching.broken
    assert all(d.error is None for d in deliveries)
    assert scene.interface().instance_id == scene.standby
    assert where(ec2, web.interface_id).instance_id == web.standby_instance_id
    assert scene.moves == Counter(DetachNetworkInterface=2, AttachNetworkInterface=2)
    # And each pair got its own swap notification
    notified: dict[str, Any] = {n["attributes"]["pair"]: facts(n) for n in scene.notifications()}
    assert {pair: f["outcome"] for pair, f in notified.items()} == {
        "nat": "swapped",
        "web": "swapped",
    }
    assert notified["web"]["to_instance_id"] == web.standby_instance_id
    assert notified["nat"]["trigger"]["source"] == ALARM_NAME
