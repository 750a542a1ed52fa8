"""`eni-failover pause|resume`: two switches, announced once, refusing what is in flight."""

from __future__ import annotations

import json

from tests.cli.conftest import PAIR, RunningSandbox, wait_for
from tests.support import alarm_message


def test_pause_sets_both_switches_and_says_so_once(sandbox: RunningSandbox) -> None:
    clients = sandbox.sandbox.clients
    # When the operator pauses the pair for planned work
    ran = sandbox.run("pause", PAIR, "--by", "alice", "--reason", "kernel patching")
    # Then the pause flag and the alarm's actions are off
    assert ran.code == 0, ran.err
    assert f"Automatic failover of pair {PAIR} is paused" in ran.out
    [alarm] = clients.cloudwatch.describe_alarms(AlarmNames=[sandbox.alarm_name])["MetricAlarms"]
    assert alarm["ActionsEnabled"] is False
    # And the stack's state-change rule, which every other pair relies on, stays on
    assert clients.events.describe_rule(Name=sandbox.rule_name)["State"] == "ENABLED"
    # And everyone subscribed hears it, with who and why
    [announcement] = sandbox.notifications()
    assert announcement["Subject"] == f"ENI failover {PAIR}: automatic failover paused by alice"
    assert "paused by alice (kernel patching)" in announcement["Message"]
    # And status shows it
    [pair] = sandbox.run("status", "--json").json()["pairs"]
    assert pair["automation"] == {
        "paused": True,
        "pause_flag": True,
        "paused_by": "alice (kernel patching)",
        "paused_at": pair["automation"]["paused_at"],
        "alarm_actions_enabled": False,
        "rule_enabled": True,
        "consistent": True,
    }
    # When they pause again, nothing changes and nothing is announced
    again = sandbox.run("pause", PAIR, "--by", "bob", "--json")
    assert again.code == 0
    assert again.json()["changed"] == []
    assert "already paused (by alice (kernel patching)" in sandbox.run("pause", PAIR).out
    assert sandbox.notifications() == []


def test_a_paused_alarm_triggers_nothing(sandbox: RunningSandbox) -> None:
    primary = sandbox.sandbox.topology.primary_instance_id
    sandbox.sandbox.sim.set_status(primary, instance="impaired")
    sandbox.run("pause", PAIR, "--by", "alice")
    # When the primary's alarm goes off while paused
    sandbox.sandbox.clients.cloudwatch.set_alarm_state(
        AlarmName=sandbox.alarm_name, StateValue="ALARM", StateReason="primary impaired"
    )
    # Then CloudWatch (the bridge) publishes nothing, and the interface stays
    assert wait_for(lambda: any("alarm actions are disabled" in n for n in sandbox.narration))
    assert sandbox.where() == primary


def test_a_trigger_already_in_flight_is_refused_while_paused(sandbox: RunningSandbox) -> None:
    sandbox_, primary = sandbox.sandbox, sandbox.sandbox.topology.primary_instance_id
    sandbox_.sim.set_status(primary, instance="impaired")
    sandbox.run("pause", PAIR, "--by", "alice")
    sandbox.notifications()
    # When an alarm message published before the pause reaches the function
    sandbox_.clients.sns.publish(
        TopicArn=sandbox_.info.outputs["TriggerTopicArn"],
        Message=json.dumps(alarm_message(alarm_name=sandbox.alarm_name, instance_id=primary)),
    )
    # Then the function refuses it, naming the pause
    assert wait_for(lambda: any("refused" in n for n in sandbox.narration))
    assert sandbox.where() == primary
    [refusal] = sandbox.notifications()
    assert f"automatic failover of pair '{PAIR}' is paused (by alice" in refusal["Message"]


def test_resume_turns_everything_back_on_and_warns_of_an_alarm_in_alarm(
    sandbox: RunningSandbox,
) -> None:
    clients = sandbox.sandbox.clients
    sandbox.run("pause", PAIR, "--by", "alice")
    clients.cloudwatch.set_alarm_state(
        AlarmName=sandbox.alarm_name, StateValue="ALARM", StateReason="went off while paused"
    )
    sandbox.notifications()
    # When the operator resumes
    ran = sandbox.run("resume", PAIR, "--by", "alice")
    # Then the actions and the flag are back, and it is announced
    assert ran.code == 0, ran.err
    [alarm] = clients.cloudwatch.describe_alarms(AlarmNames=[sandbox.alarm_name])["MetricAlarms"]
    assert alarm["ActionsEnabled"] is True
    assert clients.events.describe_rule(Name=sandbox.rule_name)["State"] == "ENABLED"
    [pair] = sandbox.run("status", "--json").json()["pairs"]
    assert pair["automation"]["paused"] is False
    assert sandbox.subjects() == [f"ENI failover {PAIR}: automatic failover resumed by alice"]
    # And they are told that the alarm, already in ALARM, will not fire until it changes
    assert "Warning: alarm" in ran.out
    assert "will not trigger a failover until it changes again" in ran.out
    # When they resume again, nothing changes
    again = sandbox.run("resume", PAIR)
    assert f"Pair {PAIR} was not paused; nothing changed." in again.out
    assert sandbox.notifications() == []


def test_a_half_done_pause_shows_in_status_and_pause_finishes_it(
    sandbox: RunningSandbox,
) -> None:
    # Given someone disabled only the alarm's actions (or a pause was cut short)
    sandbox.sandbox.clients.cloudwatch.disable_alarm_actions(AlarmNames=[sandbox.alarm_name])
    # Then status says the pair is partly paused
    status = sandbox.run("status", PAIR)
    assert "PARTLY paused" in status.out
    # When the operator pauses, the rest is done
    ran = sandbox.run("pause", PAIR, "--json")
    assert ran.json()["changed"] == ["pause flag set"]
    [pair] = sandbox.run("status", "--json").json()["pairs"]
    assert pair["automation"]["consistent"] is True


def test_manual_failover_still_works_while_paused(sandbox: RunningSandbox) -> None:
    sandbox.run("pause", PAIR)
    ran = sandbox.run("failover", PAIR, "--force")
    assert ran.code == 0, ran.err
    assert sandbox.where() == sandbox.sandbox.topology.standby_instance_id
