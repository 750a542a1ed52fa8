"""`eni-failover status` on the sandbox: where the interface is, and whether failover is armed."""

from __future__ import annotations

import re

from tests.cli.conftest import PAIR, RunningSandbox, wait_for


def test_status_shows_the_interface_the_instances_and_the_switches(
    sandbox: RunningSandbox,
) -> None:
    topology = sandbox.sandbox.topology
    # Given a freshly deployed pair
    # When the operator asks for its status
    ran = sandbox.run("status")
    # Then they see where the interface is, with its addresses
    assert ran.code == 0, ran.err
    assert f"Pair {PAIR}: interface on the primary" in ran.out
    assert (
        f"on primary {topology.primary_instance_id} at device index {topology.device_index} "
        "(attached)"
    ) in ran.out
    assert f"private IPs {', '.join(topology.private_ips)}" in ran.out
    assert f"Elastic IP {topology.public_ip}" in ran.out
    assert f"MAC {topology.mac_address}" in ran.out
    # And both instances with their status checks
    for side, instance in (
        ("primary", topology.primary_instance_id),
        ("standby", topology.standby_instance_id),
    ):
        assert re.search(
            rf"{side}\s+{instance}\s+running; system ok, instance ok, attached EBS ok; "
            "us-east-1a",
            ran.out,
        )
    # And the alarm, the rule, the pause and the last outcome
    assert re.search(
        rf"alarm\s+{sandbox.alarm_name}\s+OK since .*; actions enabled; "
        "watches StatusCheckFailed, StatusCheckFailed_AttachedEBS",
        ran.out,
    )
    assert re.search(rf"rule\s+{sandbox.rule_name}\s+ENABLED", ran.out)
    assert re.search(r"automation\s+armed", ran.out)
    assert re.search(r"last outcome\s+none\s+no failover recorded", ran.out)
    assert "Readiness schedule: rate(1 day), ENABLED" in ran.out
    assert "Dead-letter queue: empty" in ran.out


def test_status_as_json_gives_the_same_facts(sandbox: RunningSandbox) -> None:
    topology = sandbox.sandbox.topology
    ran = sandbox.run("status", PAIR, "--json")
    assert ran.code == 0, ran.err
    [pair] = ran.json()["pairs"]
    assert pair["location"] == "primary"
    [interface] = pair["interfaces"]
    assert interface == {
        "interface_id": topology.interface_id,
        "exists": True,
        "status": "in-use",
        "attached_to": topology.primary_instance_id,
        "side": "primary",
        "attachment_status": "attached",
        "device_index": topology.device_index,
        "network_card_index": 0,
        "delete_on_termination": False,
        "private_ips": list(topology.private_ips),
        "elastic_ip": topology.public_ip,
        "mac_address": topology.mac_address,
        "availability_zone": "us-east-1a",
    }
    assert pair["standby"]["healthy"] is True
    assert pair["standby"]["attached_ebs_status"] == "ok"
    assert pair["alarm"]["state"] == "OK"
    assert pair["alarm"]["metrics"] == ["StatusCheckFailed", "StatusCheckFailed_AttachedEBS"]
    assert pair["alarm"]["actions_enabled"] is True
    assert pair["rule"]["state"] == "ENABLED"
    assert pair["automation"]["paused"] is False
    assert pair["last_outcome"] is None


def test_status_after_a_failover_shows_the_standby_and_the_outcome(
    sandbox: RunningSandbox,
) -> None:
    topology = sandbox.sandbox.topology
    # Given the operator moved the interface and the standby's instance check then failed
    assert sandbox.run("failover", PAIR, "--force", "--by", "alice").code == 0
    sandbox.sandbox.sim.set_status(topology.standby_instance_id, instance="impaired")
    # When they look
    ran = sandbox.run("status", "--json")
    # Then the interface is on the standby and the last outcome says how it got there
    [pair] = ran.json()["pairs"]
    assert pair["location"] == "standby"
    assert pair["interfaces"][0]["attached_to"] == topology.standby_instance_id
    assert pair["standby"]["instance_status"] == "impaired"
    assert pair["last_outcome"]["outcome"] == "swapped"
    assert pair["last_outcome"]["summary"].startswith(f"Moved {topology.interface_id}")
    text = sandbox.run("status").out
    assert "interface on the STANDBY" in text
    assert "system ok, instance impaired" in text
    assert "swapped" in text


def test_unknown_pair_lists_the_configured_ones(sandbox: RunningSandbox) -> None:
    ran = sandbox.run("status", "web")
    assert ran.code == 4
    assert "no pair named 'web' in stack EniFailover; configured: demo" in ran.err


def test_status_says_when_triggers_wait_in_the_dead_letter_queue(sandbox: RunningSandbox) -> None:
    # Given a message on the trigger topic that the function cannot parse
    sandbox.sandbox.clients.sns.publish(
        TopicArn=sandbox.sandbox.info.outputs["TriggerTopicArn"], Message="not a trigger"
    )
    assert wait_for(lambda: any("dead-lettered" in line for line in sandbox.narration))
    # Then status says a trigger waits for an operator
    ran = sandbox.run("status")
    assert "Dead-letter queue: 1 message(s) waiting" in ran.out
    assert sandbox.run("status", "--json").json()["dead_letters"]["messages"] == 1
