"""Hostile and malformed SNS events, delivered to the deployed function on the faithful EC2.

Properties, for every generated event:
- nothing moves unless a record is a valid failure trigger for a configured pair (the
  primary has failed, so a valid trigger would swap at once);
- every record is accounted for: ignored with a logged reason, dead-lettered with the
  reason, or handled with an outcome; an event that is not SNS at all is dead-lettered;
- no exception escapes (not even the project's own: none of these needs a retry).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from eni_failover.config import FailoverConfig
from eni_failover.observability import metrics
from eni_failover_ec2sim import FaithfulEC2, build_pair
from eni_failover_emulator.deployment import LocalDeployment
from tests.faults.views import Scene, facts, function_clients, outcome_of
from tests.integration.conftest import ALARM_NAME, TEST_TUNING, pair_of
from tests.property.conftest import LogLines
from tests.property.strategies import Configured, hostile_event, valid_among_hostile

SHARED_SCENE = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        # One deployment serves every example on purpose: the property is that no
        # example changes where the interface is.
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@dataclass(frozen=True)
class DeadLetter:
    reason: str  # the message attribute, which survives truncation of the body
    body: str

    def record(self) -> Any:
        """The kept record, or None when the body had to be cut to fit SQS."""
        try:
            return json.loads(self.body)["record"]
        except json.JSONDecodeError:
            return None


def dead_letters(deployment: LocalDeployment) -> list[DeadLetter]:
    sqs, url = deployment.clients.sqs, deployment.resources.dead_letter_queue_url
    kept: list[DeadLetter] = []
    while True:
        received = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            return kept
        for message in received:
            reason = message["MessageAttributes"]["reason"]["StringValue"]
            kept.append(DeadLetter(reason=reason, body=message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def assert_accounted_for(
    event: Any,
    report: dict[str, Any],
    letters: list[DeadLetter],
    log_lines: LogLines,
) -> None:
    """Every record ended somewhere an operator can see, with its reason."""
    whole_event = [r for r in report["dead_lettered"] if r.startswith("not an SNS event")]
    if whole_event:
        assert report == {"outcomes": [], "ignored": [], "dead_lettered": whole_event}
        [letter] = letters
        assert letter.reason == whole_event[0][:1000]
        assert letter.record() in (event, None)
    else:
        handled = report["outcomes"] + report["ignored"] + report["dead_lettered"]
        assert len(handled) == len(event["Records"])
        assert sorted(letter.reason for letter in letters) == sorted(
            reason[:1000] for reason in report["dead_lettered"]
        )
    # Each rejection is a log line naming its reason
    assert Counter(r.reason for r in log_lines.named("trigger ignored")) == Counter(  # type: ignore[attr-defined]
        report["ignored"]
    )
    assert Counter(r.reason for r in log_lines.named("record dead-lettered")) == Counter(  # type: ignore[attr-defined]
        report["dead_lettered"]
    )
    assert all(reason.strip() for reason in report["ignored"] + report["dead_lettered"])


def between_examples(scene: Scene, log_lines: LogLines) -> None:
    """What Lambda's per-invocation wrapper and the previous example leave behind, cleared.

    The handler's `metrics.log_metrics` flushes metrics after each invocation; the
    emulated invocation calls the dispatcher directly, so they are cleared here.
    """
    metrics.clear_metrics()
    log_lines.records.clear()
    dead_letters(scene.deployment)
    scene.notifications()


@settings(SHARED_SCENE, max_examples=60)
@given(data=st.data())
def test_hostile_event_never_moves_the_interface_and_every_record_is_accounted_for(
    scene: Scene, log_lines: LogLines, data: st.DataObject
) -> None:
    # Given a pair whose primary has failed: a valid failure trigger would swap now
    scene.sim.set_status(scene.primary, instance="impaired")
    event = data.draw(hostile_event(Configured(ALARM_NAME, scene.primary)), label="event")
    between_examples(scene, log_lines)

    # When a hostile event is delivered (any exception fails the property)
    report = scene.deployment.invoke(event)

    # Then the interface has not moved
    eni = scene.interface()
    assert (eni.instance_id, eni.attachment_status) == (scene.primary, "attached")
    assert scene.moves == Counter()
    # And every record was ignored, dead-lettered or refused, each with its reason
    assert_accounted_for(event, report, dead_letters(scene.deployment), log_lines)
    for outcome in report["outcomes"]:
        assert outcome["outcome"] == "refused"
        assert outcome["reasons"]
    # And operators heard only of refusals (a redelivered one replays silently), each
    # also logged with its summary
    notices = scene.notifications()
    assert len(notices) <= len(report["outcomes"])
    assert all(outcome_of(n) == "refused" for n in notices)
    published = log_lines.named("outcome published")
    assert sorted(r.summary for r in published) == sorted(  # type: ignore[attr-defined]
        facts(n)["summary"] for n in notices
    )


@contextmanager
def fresh_scene(session: boto3.Session, template: dict[str, Any]) -> Iterator[Scene]:
    """A new deployment on a new faithful EC2 (no latency: only the rules matter here)."""
    with mock_aws(), FaithfulEC2() as sim:
        ec2 = session.client("ec2")
        topology = build_pair(ec2, name="nat", sim=sim)
        deployment = LocalDeployment.from_template(
            FailoverConfig(pairs=(pair_of(topology),), tuning=TEST_TUNING),
            template,
            clients=function_clients(session),
        )
        yield Scene(sim=sim, ec2=ec2, topology=topology, deployment=deployment)


@settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_valid_failure_among_hostile_records_swaps_exactly_once(
    aws_session: boto3.Session, stack_template: dict[str, Any], data: st.DataObject
) -> None:
    with fresh_scene(aws_session, stack_template) as scene:
        # Given a failed primary, and one valid failure alarm among hostile records
        scene.sim.set_status(scene.primary, instance="impaired")
        event, position = data.draw(
            valid_among_hostile(Configured(ALARM_NAME, scene.primary)), label="event"
        )

        # When the event is delivered
        metrics.clear_metrics()  # flushed by the handler's wrapper after each invocation
        report = scene.deployment.invoke(event)

        # Then the interface moved once, to the standby
        eni = scene.interface()
        assert (eni.instance_id, eni.attachment_status) == (scene.standby, "attached")
        assert scene.moves == Counter(DetachNetworkInterface=1, AttachNetworkInterface=1)
        # And exactly one swap was reported; hostile siblings about this pair (stale or
        # future-dated alarms) were refused before it or found it done after it
        kinds = Counter(o["outcome"] for o in report["outcomes"])
        assert kinds["swapped"] == 1
        assert set(kinds) <= {"swapped", "refused", "already-in-place"}
        notices = scene.notifications()
        assert [outcome_of(n) for n in notices].count("swapped") == 1
        [swap] = [facts(n) for n in notices if outcome_of(n) == "swapped"]
        assert swap["to_instance_id"] == scene.standby
        assert position < len(event["Records"])
