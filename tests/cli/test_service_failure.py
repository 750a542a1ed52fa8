"""A service that stops answering while EC2 sees nothing wrong, end to end in the sandbox.

The sandbox runs the prober's real code on its schedule against a loopback listener per
instance; its trigger goes through the emulated trigger topic and the bridge to the
failover function, as in AWS.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from botocore.exceptions import EndpointConnectionError

from eni_failover.prober import FLUSH_SECONDS, ProberLease
from eni_failover_emulator.prober import LocalProber
from eni_failover_emulator.service import Behaviour, PairServices
from tests.cli.conftest import PAIR, RunningSandbox, wait_for
from tests.faults.unreachable import NoAnswer

# Five failed probes (the first and four confirmations), the move, and room for a busy
# machine.
MOVE_SECONDS = 20.0
# Rounds after the move in which a second trigger would have been sent.
AFTER_SECONDS = 3.0
# The prober saves its results every FLUSH_SECONDS.
REPORT_SECONDS = FLUSH_SECONDS * 2


@pytest.fixture
def probed(sandbox: RunningSandbox) -> Iterator[tuple[RunningSandbox, PairServices]]:
    """The sandbox with the prober seeing the service answer on the primary."""
    services, prober = sandbox.sandbox.services, sandbox.sandbox.prober
    assert services is not None, "the sandbox's pair is probed"
    assert prober is not None
    # A failure episode of an earlier test ends only when the prober sees an answer.
    assert wait_for(lambda: _answering(prober), seconds=10)
    sandbox.narration.clear()
    yield sandbox, services
    # Later tests read what the prober saved (`status`, `check`): leave it saying healthy.
    services.primary.set(Behaviour.HEALTHY)
    services.standby.set(Behaviour.HEALTHY)
    healed = datetime.now(UTC)
    assert wait_for(lambda: _saved_healthy(sandbox, since=healed), seconds=REPORT_SECONDS)


def _answering(prober: LocalProber) -> bool:
    current = prober.current
    if current is None or PAIR not in current.last:
        return False
    return current.last[PAIR].service.ok and not current.trackers[PAIR].episode_open


def _saved_healthy(sandbox: RunningSandbox, *, since: datetime) -> bool:
    memory, saved_at = ProberLease(sandbox.sandbox.clients.dynamodb, sandbox.table).read_memory()
    last = memory.get("last", {}).get(PAIR, {})
    return (
        saved_at is not None
        and saved_at > since
        and all((last.get(role) or {}).get("ok") for role in ("service", "primary", "standby"))
    )


def _ec2_says_all_is_well(sandbox: RunningSandbox) -> bool:
    topology = sandbox.sandbox.topology
    statuses = sandbox.sandbox.clients.ec2.describe_instance_status(
        InstanceIds=[topology.primary_instance_id, topology.standby_instance_id]
    )["InstanceStatuses"]
    return len(statuses) == 2 and all(
        s["InstanceState"]["Name"] == "running"
        and s["InstanceStatus"]["Status"] == "ok"
        and s["SystemStatus"]["Status"] == "ok"
        for s in statuses
    )


def test_a_service_that_stops_answering_moves_the_interface(
    probed: tuple[RunningSandbox, PairServices],
) -> None:
    sandbox, services = probed
    topology = sandbox.sandbox.topology
    # Given the pair on the primary, whose service answers

    # When the primary's service stops answering (connection refused) while EC2 sees both
    # instances running and passing their status checks
    services.primary.set(Behaviour.DOWN)
    assert _ec2_says_all_is_well(sandbox)

    # Then the prober's trigger moves the interface to the standby
    assert wait_for(lambda: sandbox.where() == topology.standby_instance_id, seconds=MOVE_SECONDS)
    # And the operators hear of it exactly once, with the probe as the trigger, even after
    # more rounds (the interface's address answers again, from the standby)
    assert wait_for(lambda: "swapped" in " ".join(sandbox.narration))
    time.sleep(AFTER_SECONDS)
    [notification] = sandbox.notifications()
    assert notification["Subject"] == (
        f"ENI failover {PAIR}: moved to standby {topology.standby_instance_id}"
    )
    # (the stack's default: five failed probes in a row make a failure)
    assert "probe: 5 probes (http://:80/health) in a row failed" in str(notification["Message"])
    assert "connection refused" in str(notification["Message"])
    assert _ec2_says_all_is_well(sandbox)


def test_a_trigger_whose_first_publish_got_no_answer_still_moves_the_interface_once(
    probed: tuple[RunningSandbox, PairServices],
) -> None:
    sandbox, services = probed
    topology = sandbox.sandbox.topology
    prober = sandbox.sandbox.prober
    assert prober is not None
    # Given the prober's SNS endpoint refuses the connection for one whole round of
    # botocore's attempts (the prober's clients make 3)
    unanswered = NoAnswer(prober.cold_start()[1].sns, "Publish", EndpointConnectionError, times=3)
    try:
        # When the primary's service stops answering
        services.primary.set(Behaviour.DOWN)

        # Then a later round sends the trigger, and the interface moves to the standby
        assert wait_for(
            lambda: sandbox.where() == topology.standby_instance_id, seconds=MOVE_SECONDS * 2
        )
        assert unanswered.raised == 3
        # And the operators hear of it once
        assert wait_for(lambda: "swapped" in " ".join(sandbox.narration))
        time.sleep(AFTER_SECONDS)
        [notification] = sandbox.notifications()
        assert notification["Subject"] == (
            f"ENI failover {PAIR}: moved to standby {topology.standby_instance_id}"
        )
    finally:
        unanswered.answer_again()


def test_a_standby_whose_service_is_down_too_is_refused_as_detection_degraded(
    probed: tuple[RunningSandbox, PairServices],
) -> None:
    sandbox, services = probed
    topology = sandbox.sandbox.topology
    # Given the standby's service does not answer either
    services.standby.set(Behaviour.DOWN)

    # When the primary's service stops answering too
    services.primary.set(Behaviour.DOWN)

    # Then the function refuses to move: both failing at once more likely means the prober
    # cannot reach the pair
    assert wait_for(
        lambda: "detection degraded" in " ".join(sandbox.narration), seconds=MOVE_SECONDS
    )
    [notification] = sandbox.notifications()
    assert notification["Subject"] == f"ENI failover {PAIR}: failover refused"
    assert "detection degraded" in notification["Message"]
    # And nothing moved
    assert sandbox.where() == topology.primary_instance_id
