"""Hostile inputs found while writing the properties, kept as plain examples.

Each is a shape the generators in strategies.py can produce, pinned here as an example
because it once escaped the handler: a record whose Sns is not an object, and a reason
quoting text that UTF-8 cannot carry.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from eni_failover.errors import FailoverError
from tests.faults.views import Scene
from tests.integration.conftest import ALARM_NAME
from tests.property.strategies import records_event
from tests.property.test_hostile_events import dead_letters
from tests.support import alarm_message

LONE_SURROGATE = "\ud800"  # valid in JSON text as the escape \ud800; not encodable as UTF-8


def test_alarm_with_a_lone_surrogate_in_its_text_is_dead_lettered_not_acted_on(
    scene: Scene,
) -> None:
    # Given a failed primary, and an alarm for it whose free-text reason carries a lone
    # surrogate (no CloudWatch message does; the parser reads it as not a unicode string)
    scene.sim.set_status(scene.primary, instance="impaired")
    message = alarm_message(alarm_name=ALARM_NAME, instance_id=scene.primary)
    message["NewStateReason"] = f"Threshold Crossed {LONE_SURROGATE}"
    event = records_event([json.dumps(message)])

    # When it is delivered
    delivery = scene.deliver(event)

    # Then it is not acted on but kept, with the reason, for an operator to look at
    assert delivery.error is None
    assert delivery.report is not None
    [reason] = delivery.report["dead_lettered"]
    assert "is malformed: NewStateReason" in reason
    [letter] = dead_letters(scene.deployment)
    assert letter.reason == reason
    assert letter.record() == event["Records"][0]
    assert scene.interface().instance_id == scene.primary
    assert scene.moves == Counter()
    assert scene.notifications() == []


@pytest.mark.parametrize("sns", [None, 7, True], ids=["null", "number", "boolean"])
def test_record_whose_sns_is_not_an_object_is_dead_lettered(scene: Scene, sns: Any) -> None:
    # Given an SNS-shaped event whose record's Sns is not an object
    event = records_event(["{}"])
    event["Records"][0]["Sns"] = sns

    # When it is delivered
    try:
        report = scene.deployment.invoke(event)
    except FailoverError:
        pytest.fail("a malformed event must be dead-lettered, not retried")

    # Then it is dead-lettered whole, with the reason
    [reason] = report["dead_lettered"]
    assert reason.startswith("not an SNS event")
    [letter] = dead_letters(scene.deployment)
    assert letter.record() == event


def test_event_whose_reason_would_quote_a_lone_surrogate_is_dead_lettered(
    scene: Scene,
) -> None:
    # Given an SNS record that is not JSON, under a message ID holding a lone surrogate
    event = records_event(["not JSON"])
    event["Records"][0]["Sns"]["MessageId"] = f"id-{LONE_SURROGATE}"

    # When it is delivered
    report = scene.deployment.invoke(event)

    # Then it is dead-lettered with its reason
    [reason] = report["dead_lettered"]
    assert "is not JSON" in reason
    [letter] = dead_letters(scene.deployment)
    assert "is not JSON" in letter.reason
