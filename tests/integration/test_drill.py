"""`make demo` is a test too: each act must move what its pair protects, and tell it once."""

from __future__ import annotations

import pytest

from eni_failover.config import Probing
from eni_failover_emulator.drill import (
    OVERLAY_IP,
    PAIR_NAME,
    PROBE,
    ZONE_PAIR_NAME,
    ZONE_PRIMARY,
    ZONE_STANDBY,
    DrillResult,
    run_drill,
)


@pytest.fixture(scope="module")
def drilled() -> tuple[DrillResult, list[str]]:
    """The drill, run once (about a minute): its result and what it printed."""
    # Given nothing but this repository: the drill builds its own emulated AWS and stack
    lines: list[str] = []
    # When it stops the primary, then fails back and stops the primary's service
    return run_drill(lines.append), lines


def test_drill_moves_the_interface_and_the_operators_hear_of_it(
    drilled: tuple[DrillResult, list[str]],
) -> None:
    result, lines = drilled
    # Then the stopped primary's interface and its Elastic IP went to the standby
    assert result.moved
    assert result.outcome["outcome"] == "swapped"
    assert result.outcome["trigger"]["kind"] == "state-change"
    # And the one notification came through the notification topic
    assert result.notification is not None
    assert result.notification["Subject"].startswith(f"ENI failover {PAIR_NAME}: moved to standby")
    # And the function ran with the environment the synthesized template gave it
    narration = "\n".join(lines)
    [told] = [line for line in lines if "function environment, as the template defines it" in line]
    named = set(told.rsplit("defines it: ", 1)[1].split(", "))
    assert {
        "FAILOVER_CONFIG_FILE",
        "NOTIFICATION_TOPIC_ARN",
        "STATE_TABLE_NAME",
        "DEAD_LETTER_QUEUE_URL",
        "HISTORY_RETENTION_DAYS",
    } <= named
    assert "prober environment, as the template defines it" in narration
    assert result.passed
    assert lines[-1].split("] ", 1)[1].startswith("drill passed.")


def test_the_drill_says_it_synthesizes_and_for_how_long_before_it_starts(
    drilled: tuple[DrillResult, list[str]],
) -> None:
    _, lines = drilled
    # Then the slow step is announced, with its usual length, before it runs (the line
    # that follows it, "deployed from the template", comes once it is done)
    said = [i for i, line in enumerate(lines) if "synthesizing the app (about 20 s)" in line]
    deployed = [i for i, line in enumerate(lines) if "deployed from the template" in line]
    assert said
    assert deployed
    assert said[0] < deployed[0]


def test_the_service_act_times_every_hop_from_the_service_stopping(
    drilled: tuple[DrillResult, list[str]],
) -> None:
    result, lines = drilled
    service = result.service

    # Then the service that stopped answering moved the interface through the prober's one
    # trigger, with EC2 calling the primary healthy throughout
    assert service is not None
    assert service.moved
    assert service.triggers_sent == 1
    assert service.outcome is not None
    assert service.outcome["trigger"]["kind"] == "probe"
    assert service.notification is not None
    assert f"probes ({PROBE}) in a row failed" in service.notification["Message"]
    assert "is running, system status ok, instance status ok" in "\n".join(lines)
    # And the timeline goes: stopped, the stack's default five failed probes (the first and
    # four confirmations), trigger, invocation, detach, attach
    failures = Probing().failures
    order = [
        "the service on the primary stops answering",
        *(f"probe {n} of {failures} failed" for n in range(1, failures + 1)),
        "probe trigger sent",
        "function invoked",
        "detach requested",
        "detached",
        "attach requested",
        "attached",
    ]
    assert [next(h for h in order if hop.what.startswith(h)) for hop in service.hops] == order
    seconds = [hop.seconds for hop in service.hops]
    assert seconds == sorted(seconds)
    # with the default probing (a probe a second, then confirmations 0.25 s apart): the
    # failure is complete 1 to 2 s after the stop
    attached = service.hop("attached")
    assert attached is not None
    assert attached.seconds < 15


def test_the_demo_ends_with_its_summary_then_its_verdict(
    drilled: tuple[DrillResult, list[str]],
) -> None:
    # Given the whole demo
    result, lines = drilled
    # Then its last lines are the summary and the verdict, nothing machine-readable after
    output = "\n".join(lines).splitlines()
    heading = max(i for i, line in enumerate(output) if line.endswith("] summary:"))
    interface, address, subject, verdict = output[heading + 1 :]
    assert "attached to" in interface
    assert "(the standby)" in interface
    assert address.strip().startswith("Elastic IP ")
    assert subject.strip().startswith(f"notification subject: ENI failover {PAIR_NAME}: moved")
    assert "drill passed" in verdict
    assert result.moved


def test_the_zone_outage_act_moves_the_routes_and_the_elastic_ip_to_the_other_zone(
    drilled: tuple[DrillResult, list[str]],
) -> None:
    result, lines = drilled
    zones = result.zones
    assert zones is not None
    topology = zones.topology
    primary, standby = topology.primary_instance_id, topology.standby_instance_id
    # Given a primary and a standby in two zones
    assert zones.zones == {primary: ZONE_PRIMARY, standby: ZONE_STANDBY}
    # Then both routes to the overlay IP and the Elastic IP ended on the standby
    routes = [f"{table} {OVERLAY_IP}" for table in topology.route_table_ids]
    assert len(routes) == 2
    assert zones.where == {**dict.fromkeys(routes, standby), topology.public_ips[0]: standby}
    assert zones.moved
    # while the primary's zone was disrupted: EC2 would not describe the primary, and the
    # function moved the addresses all the same, and said so
    assert zones.primary_described == "Unavailable (HTTP 503)"
    assert zones.notification is not None
    message = zones.notification["Message"]
    assert f"EC2 would not describe {primary} in {ZONE_PRIMARY}" in message
    # And the one email lists every address where it is now
    assert (
        zones.notification["Subject"]
        == f"ENI failover {ZONE_PAIR_NAME}: moved to standby {standby}"
    )
    listed = message.split("Addresses now:", 1)[1].split("Timeline:", 1)[0]
    for route in routes:
        assert f"route {route}: on {standby} ({topology.standby_interface_id})" in listed
    assert (
        f"on {standby} ({topology.standby_interface_id}), associated, {topology.public_ips[0]}"
        in (listed)
    )
    # And every hop is on the timeline, in order, each with its time
    order = [
        "alarm ",
        "function invoked",
        "decided",
        "move requested",
        "verified",
        "notified",
    ]
    assert [next(h for h in order if hop.what.startswith(h)) for hop in zones.hops] == order
    seconds = [hop.seconds for hop in zones.hops]
    assert seconds == sorted(seconds)
    # And the verdict speaks of it
    assert "Act 3: with us-east-1a disrupted" in lines[-1]
