"""What operators read: the subject, the body's facts and the machine-readable block."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from eni_failover.observed import Attachment, InterfaceView
from eni_failover.outcome import JSON_MARKER, SUBJECT_LIMIT, Outcome, OutcomeKind
from eni_failover.triggers import Trigger, TriggerKind

AT = datetime(2026, 11, 26, 9, 15, tzinfo=UTC)
TRIGGER = Trigger(
    trigger_id="alarm:x",
    kind=TriggerKind.ALARM,
    source="EniFailover-nat-primary-status",
    instance_id="i-0123456789abcdef0",
    state="ALARM",
    is_failure=True,
    reason="Threshold Crossed",
    occurred_at=AT,
    account_id="123456789012",
    region="us-east-1",
)
FLOATING = InterfaceView(
    interface_id="eni-0123456789abcdef0",
    exists=True,
    status="available",
    private_ips=("10.0.1.50",),
    public_ip="203.0.113.10",
    mac_address="02:00:00:00:00:01",
)


def outcome(**changes: object) -> Outcome:
    base = Outcome(
        kind=OutcomeKind.FAILED,
        pair="nat",
        direction="failover",
        trigger=TRIGGER,
        from_instance_id="i-0123456789abcdef0",
        to_instance_id="i-0fedcba9876543210",
        interfaces=(FLOATING,),
        started_at=AT,
        finished_at=AT,
        error="the detach did not finish within 35 s",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_failed_move_says_the_interface_is_floating_and_what_happens_next() -> None:
    body = outcome().body()
    assert "eni-0123456789abcdef0: DETACHED, attached to nothing" in body
    assert "Elastic IP 203.0.113.10" in body
    assert "the function will retry this trigger automatically" in body


def test_failed_manual_move_tells_the_operator_to_run_it_again() -> None:
    manual = dataclasses.replace(TRIGGER, kind=TriggerKind.MANUAL, trigger_id="manual:1")
    body = outcome(trigger=manual).body()
    assert "run the same `eni-failover failover nat` again" in body
    assert "retry this trigger automatically" not in body


def test_subject_fits_sns_and_is_ascii() -> None:
    long_name = "p" * 40
    subject = outcome(pair=long_name, kind=OutcomeKind.SWAPPED).subject()
    assert len(subject) <= SUBJECT_LIMIT
    assert subject.isascii()


def test_machine_readable_block_repeats_the_facts() -> None:
    attached = dataclasses.replace(
        FLOATING,
        status="in-use",
        attachment=Attachment("eni-attach-1", "i-0fedcba9876543210", 1, "attached"),
    )
    body = outcome(kind=OutcomeKind.SWAPPED, interfaces=(attached,), error=None).body()
    facts = json.loads(body.split(JSON_MARKER, 1)[1])
    assert facts["outcome"] == "swapped"
    assert facts["interfaces"][0]["attached_to"] == "i-0fedcba9876543210"
    assert facts["interfaces"][0]["elastic_ip"] == "203.0.113.10"
    assert facts["trigger"]["source"] == "EniFailover-nat-primary-status"
