"""The sweep: every minute, probed or not, the function looks for a failed primary that still
holds its interface, so a lost EC2 state-change event cannot leave it there."""

from __future__ import annotations

import json

from tests.infra.conftest import Synthesized


def test_every_minute_the_function_is_asked_to_sweep(single_pair: Synthesized) -> None:
    # Given the stack of one unprobed pair
    rule = single_pair.properties(single_pair.stack.sweep.rule)
    # Then a rule runs every minute, targets the failover function and sends it the sweep
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == single_pair.arn(single_pair.stack.failover.function)
    assert json.loads(target["Input"]) == {"action": "sweep"}


def test_an_undelivered_sweep_is_superseded_within_a_minute_and_dead_lettered(
    single_pair: Synthesized,
) -> None:
    (target,) = single_pair.properties(single_pair.stack.sweep.rule)["Targets"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 60}
    assert target["DeadLetterConfig"] == {
        "Arn": single_pair.arn(single_pair.stack.dead_letters.queue)
    }


def test_the_readiness_check_and_the_sweep_share_one_way_to_invoke(
    single_pair: Synthesized,
) -> None:
    # Both schedules are made by eni_failover_cdk.schedules: same target shape, different request
    stack = single_pair.stack
    (readiness,) = single_pair.properties(stack.readiness.rule)["Targets"]
    (sweep,) = single_pair.properties(stack.sweep.rule)["Targets"]
    assert readiness["Arn"] == sweep["Arn"]
    assert readiness["DeadLetterConfig"] == sweep["DeadLetterConfig"]
    assert json.loads(readiness["Input"]) == {"action": "check", "scheduled": True}
