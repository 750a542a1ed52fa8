"""`make demo` is a test too: each act must move the interface and tell the operators once."""

from __future__ import annotations

import pytest

from emulator.drill import PAIR_NAME, PROBE, DrillResult, run_drill


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
    # And the timeline goes: stopped, three failed probes, trigger, invocation, detach, attach
    order = [
        "the service on the primary stops answering",
        "probe 1 of 3 failed",
        "probe 2 of 3 failed",
        "probe 3 of 3 failed",
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
    # with the default probing, 2 s apart: the failure is complete 4 to 6 s after the stop
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
