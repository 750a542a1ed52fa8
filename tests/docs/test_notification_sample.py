"""The README's sample email ("What an operator receives") is what the function writes.

The sample's facts (a forced failover of pair nat after its status-check alarm) are built
into an Outcome, whose subject and body are then compared with the README's block line by
line; the block's last line names, in short, keys of the machine-readable part.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eni_failover.observed import Attachment, InterfaceView
from eni_failover.outcome import JSON_MARKER, Outcome, OutcomeKind
from eni_failover.timeline import Step
from eni_failover.triggers import Trigger, TriggerKind

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## What an operator receives"

PRIMARY, STANDBY, INTERFACE = "i-0123456789abcdef0", "i-0fedcba9876543210", "eni-0123456789abcdef0"
HAPPENED = datetime(2026, 11, 26, 9, 12, 34, 567000, tzinfo=UTC)
STARTED = datetime(2026, 11, 26, 9, 12, 35, 990623, tzinfo=UTC)
REASON = (
    "Threshold Crossed: 2 out of the last 2 datapoints [1.0, 1.0] were greater than or equal "
    "to the threshold (1.0)"
)


def sample() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    found = re.search(r"```\n(Subject: .*?)```", text[start:], flags=re.DOTALL)
    assert found is not None, f"no sample email under {SECTION!r}"
    return found.group(1)


def step(name: str, seconds: float, detail: str) -> Step:
    return Step(name, STARTED + timedelta(seconds=seconds), seconds, detail)


def readme_outcome() -> Outcome:
    """The sample's facts: the alarm's trigger, a forced detach, the interface on the standby."""
    trigger = Trigger(
        trigger_id="alarm:sample",
        kind=TriggerKind.ALARM,
        source="EniFailover-nat-primary-status",
        instance_id=PRIMARY,
        state="ALARM",
        is_failure=True,
        reason=REASON,
        occurred_at=HAPPENED,
        account_id="111122223333",
        region="us-east-1",
    )
    on_standby = InterfaceView(
        interface_id=INTERFACE,
        exists=True,
        status="in-use",
        private_ips=("10.0.1.50",),
        public_ip="203.0.113.10",
        mac_address="02:00:00:6a:e9:1e",
        attachment=Attachment("eni-attach-0123456789abcdef0", STANDBY, 1, "attached"),
    )
    return Outcome(
        kind=OutcomeKind.SWAPPED,
        pair="nat",
        direction="failover",
        trigger=trigger,
        from_instance_id=PRIMARY,
        to_instance_id=STANDBY,
        interfaces=(on_standby,),
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=3.41),
        forced_detach=True,
        steps=(
            step(
                "detach requested",
                0.11,
                f"{INTERFACE} from {PRIMARY} (force: the source is stopped or impaired)",
            ),
            step("detached", 0.65, f"{INTERFACE} available"),
            step("attach requested", 0.69, f"{INTERFACE} to {STANDBY} at device index 1"),
            step("attached", 3.41, f"{INTERFACE} attached to {STANDBY}"),
        ),
    )


def test_the_readme_email_is_what_the_function_writes() -> None:
    # Given the README's sample and the same facts as an Outcome
    shown = sample().rstrip("\n").splitlines()
    outcome = readme_outcome()
    written = [f"Subject: {outcome.subject()}", "", *outcome.body().splitlines()]
    # Then, up to the machine-readable part, the email reads as the README shows it
    marker = shown.index(JSON_MARKER)
    assert written[: marker + 1] == shown[: marker + 1]
    # And the keys the README's short JSON line names are keys of the real one
    facts = json.loads("\n".join(written[marker + 1 :]))
    named = re.findall(r'"(\w+)":', " ".join(shown[marker + 1 :]))
    assert named
    assert set(named) <= set(facts)
