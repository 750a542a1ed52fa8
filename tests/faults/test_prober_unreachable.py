"""The prober when an AWS API does not answer: SNS, DynamoDB, CloudWatch or EC2.

A connection refused, a connect timeout or a read timeout (tests/faults/unreachable.py)
on each AWS call the prober makes, through all of botocore's attempts. What must hold: a
failed service's trigger is sent once the API answers again, exactly once; the episode
opens only once its trigger is out, so a round, or the next invocation, sends it again;
probing never stops for a call that only records or reports.

Time is simulated (the rounds run back to back); the probes are real connections to
listeners that stand for the pair's service, and the primary's refuses them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ReadTimeoutError

from eni_failover.config import FailoverConfig, Probing
from eni_failover.errors import AwsCallFailed
from eni_failover.prober import (
    LEASE_ID,
    SUCCESSOR_EXPECTED_SECONDS,
    Prober,
    ProberLease,
    run_invocation,
)
from eni_failover.readiness import Check, prober_sees
from eni_failover_ec2sim import PairTopology
from eni_failover_emulator.delivery import drain
from eni_failover_emulator.service import Behaviour
from tests.faults.unreachable import FOR_GOOD, NO_ANSWERS, NoAnswer
from tests.integration.conftest import TEST_TUNING, ProberAccount, pair_of, prober_account
from tests.support import FakeClock

# model_construct: the deployable minimum interval is 1 s, a test's is not.
FAST = Probing.model_construct(
    interval_seconds=0.2, timeout_seconds=0.1, failures=3, confirm_seconds=0.05, verify_tls=False
)
# The prober's clients here keep botocore's default budget (AwsClients).
ATTEMPTS = 5
# Rounds enough for a failure and a few more.
ROUNDS = FAST.failures + 4

no_answer = pytest.mark.parametrize("error", NO_ANSWERS.values(), ids=NO_ANSWERS.keys())


@dataclass
class Probing_:
    account: ProberAccount
    clock: FakeClock

    def prober(self) -> Prober:
        return Prober(
            settings=self.account.settings,
            clients=self.account.clients,
            clock=self.clock,
            resolve=self.account.services.resolve,
        )

    def run_for(self, prober: Prober, rounds: int) -> None:
        prober.run(
            should_stop=lambda: False,
            deadline=self.clock.monotonic() + rounds * FAST.interval_seconds,
        )

    def invocation(self, owner: str, rounds: int) -> str:
        """One scheduled invocation with the lease, lasting about `rounds` rounds."""
        return run_invocation(
            self.prober(),
            self.lease(),
            owner=owner,
            remaining_seconds=rounds * FAST.interval_seconds,
            margin_seconds=0.0,
        )

    def lease(self) -> ProberLease:
        return ProberLease(self.account.clients.dynamodb, self.account.settings.state_table_name)

    def triggers(self) -> list[dict[str, Any]]:
        return [
            json.loads(json.loads(body)["Message"])
            for body in drain(self.account.clients.sqs, self.account.capture_url)
        ]

    def check(self) -> Check:
        """The prober's line of `eni-failover check` for the pair, from what it saved."""
        memory, saved_at = self.lease().read_memory()
        [pair] = self.account.settings.failover.probed_pairs
        return prober_sees(pair, memory, saved_at, datetime.now(UTC))

    def saved_episode_open(self) -> bool:
        memory, _ = self.lease().read_memory()
        return bool(memory["trackers"]["nat"]["episode_open"])

    def primary_down(self) -> None:
        self.account.services.primary.set(Behaviour.DOWN)


@pytest.fixture
def probing(topology: PairTopology) -> Iterator[Probing_]:
    pair = pair_of(topology).model_copy(update={"probe": "http://:80/health"})
    failover = FailoverConfig(pairs=(pair,), tuning=TEST_TUNING, probing=FAST)
    with prober_account(topology, failover) as account:
        yield Probing_(account, FakeClock())


def lease_writes(body: str) -> bool:
    return LEASE_ID in body


def memory_saves(body: str) -> bool:
    return LEASE_ID in body and "SET memory" in body


# --- SNS: the trigger's publish --------------------------------------------------------


@no_answer
def test_a_trigger_whose_publish_got_no_answer_is_sent_by_the_next_round(
    probing: Probing_, error: type[BotoCoreError]
) -> None:
    # Given the primary's service is down, and SNS does not answer one whole round of
    # botocore's attempts to publish the trigger
    probing.primary_down()
    unanswered = NoAnswer(probing.account.clients.sns, "Publish", error, times=ATTEMPTS)
    prober = probing.prober()

    # When the prober probes on
    probing.run_for(prober, rounds=ROUNDS)

    # Then botocore tried every attempt, the episode stayed open for the next round, and
    # that round sent the trigger: one, for this episode
    assert unanswered.raised == ATTEMPTS
    [trigger] = probing.triggers()
    assert trigger["detail"]["pair"] == "nat"
    assert prober.triggers_sent == 1
    assert prober.trackers["nat"].episode_open


def test_a_trigger_sent_again_after_a_lost_answer_is_the_same_trigger(
    probing: Probing_,
) -> None:
    # Given the primary's service is down, and SNS takes every publish of one round of
    # botocore's attempts but its answers are lost (read timeouts)
    probing.primary_down()
    NoAnswer(probing.account.clients.sns, "Publish", ReadTimeoutError, times=ATTEMPTS, served=True)
    prober = probing.prober()

    # When the prober probes on, sending the trigger again the next round
    probing.run_for(prober, rounds=ROUNDS)

    # Then every copy that went out (botocore's retries, and the next round's) is the same
    # trigger, so the failover function handles it once and replays its answer to the rest
    triggers = probing.triggers()
    assert len(triggers) == ATTEMPTS + 1
    assert len({t["id"] for t in triggers}) == 1
    assert prober.trackers["nat"].episode_open


@no_answer
def test_a_trigger_unsent_for_a_whole_invocation_is_sent_by_the_next_one(
    probing: Probing_, error: type[BotoCoreError]
) -> None:
    # Given the primary's service is down, and SNS does not answer for a whole invocation
    probing.primary_down()
    unanswered = NoAnswer(probing.account.clients.sns, "Publish", error, times=FOR_GOOD)

    # When that invocation probes and hands over
    ended = probing.invocation("first", rounds=ROUNDS)

    # Then it tried every round, sent nothing, and handed over an episode not yet open
    assert ended == "handed over"
    assert unanswered.raised >= 2 * ATTEMPTS
    assert probing.triggers() == []
    assert not probing.saved_episode_open()
    # And `check` says the prober cannot reach SNS, and what to do about it
    check = probing.check()
    assert not check.ok
    assert check.detail.startswith(
        "the prober cannot reach the AWS APIs: it could not send a trigger (SNS Publish): "
        f"Publish failed: {error.__name__}: "
    )
    assert "a NAT, or probeEndpoints=true" in check.detail

    # When SNS answers again and the next invocation probes
    unanswered.answer_again()
    probing.invocation("second", rounds=ROUNDS)

    # Then it sends the episode's trigger, once
    [trigger] = probing.triggers()
    assert trigger["detail"]["pair"] == "nat"
    assert probing.saved_episode_open()


# --- DynamoDB: the lease and the memory it carries ------------------------------------------


@no_answer
def test_the_memory_not_saved_during_an_invocation_neither_stops_the_probing_nor_the_trigger(
    probing: Probing_, error: type[BotoCoreError]
) -> None:
    # Given the primary's service is down, and DynamoDB answers the write that takes the
    # prober's lease but none of those that save its memory
    probing.primary_down()
    unanswered = NoAnswer(
        probing.account.clients.dynamodb, "UpdateItem", error, times=FOR_GOOD, when=memory_saves
    )

    # When an invocation probes
    ended = probing.invocation("first", rounds=ROUNDS)

    # Then it probed on and sent the trigger, and says it could not save its memory
    assert unanswered.raised >= 2 * ATTEMPTS
    assert [t["detail"]["pair"] for t in probing.triggers()] == ["nat"]
    assert ended.startswith("memory not saved: UpdateItem failed: ")


@no_answer
def test_a_successor_look_without_answer_probes_on_until_the_deadline(
    probing: Probing_, error: type[BotoCoreError]
) -> None:
    # Given DynamoDB does not answer the reads that look for a successor (made only once
    # the successor is due, SUCCESSOR_EXPECTED_SECONDS in)
    unanswered = NoAnswer(probing.account.clients.dynamodb, "GetItem", error, times=FOR_GOOD)

    # When an invocation runs past that point
    rounds = int((SUCCESSOR_EXPECTED_SECONDS + 2) / FAST.interval_seconds)
    ended = probing.invocation("first", rounds=rounds)

    # Then it probed on to its deadline and handed over, rather than dying at the first
    # unanswered look; and `check` names the DynamoDB call the prober could not make
    assert ended == "handed over"
    assert unanswered.raised >= ATTEMPTS
    unanswered.answer_again()  # for the operator's own read
    check = probing.check()
    assert not check.ok
    kind = "save its memory and hand over (DynamoDB)"
    assert f"it could not {kind}: GetItem failed: {error.__name__}: " in check.detail


@no_answer
def test_a_lease_that_cannot_be_taken_fails_the_invocation_and_the_next_sends_the_trigger(
    probing: Probing_, error: type[BotoCoreError]
) -> None:
    probing.primary_down()
    # Given DynamoDB does not answer the write that takes the prober's lease
    unanswered = NoAnswer(
        probing.account.clients.dynamodb, "UpdateItem", error, times=ATTEMPTS, when=lease_writes
    )

    # When an invocation starts
    with pytest.raises(AwsCallFailed) as failed:
        probing.invocation("first", rounds=ROUNDS)

    # Then it fails with the project's own error, naming the call and what botocore said
    assert unanswered.raised == ATTEMPTS
    assert str(failed.value).startswith(f"UpdateItem failed: {error.__name__}: ")
    assert probing.triggers() == []

    # And the next invocation takes the lease and sends the trigger
    probing.invocation("second", rounds=ROUNDS)
    assert [t["detail"]["pair"] for t in probing.triggers()] == ["nat"]


# --- CloudWatch: the probe metrics and the heartbeat ----------------------------------------


@no_answer
def test_metrics_without_answer_neither_stop_the_probing_nor_the_trigger(
    probing: Probing_, error: type[BotoCoreError]
) -> None:
    # Given the primary's service is down, and CloudWatch does not answer
    probing.primary_down()
    unanswered = NoAnswer(
        probing.account.clients.cloudwatch, "PutMetricData", error, times=FOR_GOOD
    )
    prober = probing.prober()

    # When the prober probes and flushes its metrics
    probing.run_for(prober, rounds=ROUNDS)

    # Then the metrics were tried, and the trigger went out all the same
    assert unanswered.raised >= ATTEMPTS
    assert [t["detail"]["pair"] for t in probing.triggers()] == ["nat"]


@no_answer
def test_check_reports_a_prober_cut_off_from_cloudwatch_until_it_reaches_it_again(
    probing: Probing_, error: type[BotoCoreError]
) -> None:
    # Given a healthy service, and CloudWatch not answering the prober
    unanswered = NoAnswer(
        probing.account.clients.cloudwatch, "PutMetricData", error, times=FOR_GOOD
    )

    # When an invocation probes and hands over
    probing.invocation("first", rounds=ROUNDS)

    # Then `check` fails the prober's line, naming the call and the fix
    check = probing.check()
    assert not check.ok
    assert check.detail.startswith(
        "the prober cannot reach the AWS APIs: it could not publish the probe metrics "
        f"(CloudWatch PutMetricData): PutMetricData failed: {error.__name__}: "
    )
    assert "a NAT, or probeEndpoints=true" in check.detail

    # When CloudWatch answers again, the next invocation's memory clears it
    unanswered.answer_again()
    probing.invocation("second", rounds=ROUNDS)
    check = probing.check()
    assert check.ok, check.detail


# --- EC2: where the pair's addresses are ----------------------------------------------------


@pytest.mark.parametrize("operation", ["DescribeNetworkInterfaces", "DescribeInstances"])
@no_answer
def test_a_first_look_without_answer_is_taken_again_next_round(
    probing: Probing_, error: type[BotoCoreError], operation: str
) -> None:
    # Given the primary's service is down, and EC2 does not answer the first look of an
    # invocation at where the pair's addresses are
    probing.primary_down()
    unanswered = NoAnswer(probing.account.clients.ec2, operation, error, times=ATTEMPTS)
    prober = probing.prober()

    # When the prober probes for a few rounds (far less than a minute)
    probing.run_for(prober, rounds=ROUNDS + 1)

    # Then it looked again the next round, probed, and sent the trigger
    assert unanswered.raised == ATTEMPTS
    assert [t["detail"]["pair"] for t in probing.triggers()] == ["nat"]


@no_answer
def test_the_look_before_a_trigger_without_answer_still_sends_it(
    probing: Probing_, error: type[BotoCoreError]
) -> None:
    # Given the prober has found the pair, and then EC2 stops answering
    prober = probing.prober()
    probing.run_for(prober, rounds=1)
    unanswered = NoAnswer(
        probing.account.clients.ec2, "DescribeNetworkInterfaces", error, times=FOR_GOOD
    )

    # When the primary's service goes down
    probing.primary_down()
    probing.run_for(prober, rounds=ROUNDS)

    # Then the trigger goes out on the last look's word (the interface on the primary)
    assert unanswered.raised >= ATTEMPTS
    assert [t["detail"]["pair"] for t in probing.triggers()] == ["nat"]
