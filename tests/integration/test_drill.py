"""`make demo` is a test too: the drill must move the interface and deliver one email."""

from __future__ import annotations

from emulator.drill import PAIR_NAME, run_drill


def test_drill_moves_the_interface_and_the_operators_hear_of_it() -> None:
    # Given nothing but this repository: the drill builds its own emulated AWS and stack
    lines: list[str] = []

    # When it stops the primary and lets the state-change event travel to the function
    result = run_drill(lines.append)

    # Then the interface and its Elastic IP are on the standby
    assert result.moved
    assert result.outcome["outcome"] == "swapped"
    assert result.outcome["trigger"]["kind"] == "state-change"
    # And the one notification came through the notification topic
    assert result.notification is not None
    assert result.notification["Subject"].startswith(f"ENI failover {PAIR_NAME}: moved to standby")
    # And the function ran with the environment the synthesized template gave it
    narration = "\n".join(lines)
    assert "FAILOVER_CONFIG, NOTIFICATION_TOPIC_ARN" in narration
    assert narration.rstrip().endswith("drill passed")
