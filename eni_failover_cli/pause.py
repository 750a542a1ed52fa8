"""`eni-failover pause|resume PAIR`: stop and restart automatic failover during planned work.

Two switches, in the order that stays safe if the command is cut short: pausing sets the
pair's pause flag first (the function then refuses automatic triggers, including any
already in flight or being retried, and the state changes of the primary that the
stack's state-change rules bring), then disables the actions of the pair's status-check alarm;
resuming enables the actions first and clears the flag last. Each switch is only flipped
if needed, so running either command twice changes nothing and announces nothing the
second time. Manual failover and failback keep working while paused. A pair discovered by
tags has no alarm: its flag is its only switch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from eni_failover import notify
from eni_failover.errors import FailoverError
from eni_failover.pair_record import PairRecord
from eni_failover_cli import history, state_rules
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.errors import CliError, ExitCode
from eni_failover_cli.outputs import PairOutputs


def pause(
    deployment: Deployment, pair_name: str, *, by: str, reason: str | None
) -> tuple[ExitCode, dict[str, Any], str]:
    pair = deployment.pair(pair_name)
    clients = deployment.clients
    who = f"{by} ({reason})" if reason else by
    now = datetime.now(UTC)
    record, actions_enabled = _switches(deployment, pair)
    changed: list[str] = []
    with _finishing("pause", pair.name, changed):
        if record.paused_at is None:
            deployment.records.set_paused(pair.name, by=who, now=now)
            changed.append("pause flag set")
        if actions_enabled:
            clients.cloudwatch.disable_alarm_actions(AlarmNames=[pair.alarm_name])
            changed.append(f"actions of alarm {pair.alarm_name} disabled")
    if changed:
        notify.publish_text(
            clients.sns,
            deployment.outputs.notification_topic_arn,
            subject=f"ENI failover {pair.name}: automatic failover paused by {by}",
            message=_pause_message(deployment, pair, who=who, at=now),
        )
    warnings = history.record_action(
        deployment,
        pair=pair.name,
        action="pause",
        outcome="paused" if changed else "already paused",
        by=by,
        trigger=f"operator: pause ({reason})" if reason else "operator: pause",
        summary="; ".join(changed) or "nothing changed",
    )
    data = {
        "pair": pair.name,
        "paused": True,
        "warnings": warnings,
        "changed": changed,
        "announced": bool(changed),
        "paused_by": who if record.paused_at is None else record.paused_by,
        "paused_at": now if record.paused_at is None else record.paused_at,
    }
    if changed:
        text = (
            f"Automatic failover of pair {pair.name} is paused ({'; '.join(changed)}).\n"
            "Announced on the notification topic. Manual failover and failback still work.\n"
            f"Resume with: eni-failover resume {pair.name}"
        )
    else:
        text = (
            f"Pair {pair.name} was already paused (by {record.paused_by} at "
            f"{record.paused_at.isoformat() if record.paused_at else '?'}); nothing changed."
        )
    return ExitCode.OK, data, "\n".join([text, *(f"Warning: {w}" for w in warnings)])


def resume(
    deployment: Deployment, pair_name: str, *, by: str
) -> tuple[ExitCode, dict[str, Any], str]:
    pair = deployment.pair(pair_name)
    clients = deployment.clients
    record, actions_enabled = _switches(deployment, pair)
    changed: list[str] = []
    with _finishing("resume", pair.name, changed):
        if actions_enabled is False:
            clients.cloudwatch.enable_alarm_actions(AlarmNames=[pair.alarm_name])
            changed.append(f"actions of alarm {pair.alarm_name} enabled")
        if record.paused_at is not None or record.manual_hold:
            # Also ends the hold of a manual failover: automatic failback may act again.
            deployment.records.set_paused(pair.name, by=None, now=None)
            changed.append(
                "pause flag cleared" if record.paused_at is not None else "manual hold ended"
            )
    if changed:
        notify.publish_text(
            clients.sns,
            deployment.outputs.notification_topic_arn,
            subject=f"ENI failover {pair.name}: automatic failover resumed by {by}",
            message=(
                f"Automatic failover of pair {pair.name} was resumed by {by} at "
                f"{datetime.now(UTC).isoformat()}: {triggers(deployment, pair)} start a "
                "failover again."
            ),
        )
    warnings = _alarm_warning(deployment, pair) + history.record_action(
        deployment,
        pair=pair.name,
        action="resume",
        outcome="resumed" if changed else "not paused",
        by=by,
        trigger="operator: resume",
        summary="; ".join(changed) or "nothing changed",
    )
    data = {
        "pair": pair.name,
        "paused": False,
        "changed": changed,
        "announced": bool(changed),
        "warnings": warnings,
    }
    text = (
        f"Automatic failover of pair {pair.name} is active again ({'; '.join(changed)}).\n"
        "Announced on the notification topic."
        if changed
        else f"Pair {pair.name} was not paused; nothing changed."
    )
    return ExitCode.OK, data, "\n".join([text, *(f"Warning: {w}" for w in warnings)])


def _switches(deployment: Deployment, pair: PairOutputs) -> tuple[PairRecord, bool | None]:
    """The pause flag (the record), and whether the alarm's actions are enabled (None: the
    pair has no alarm)."""
    clients = deployment.clients
    try:
        record = deployment.records.read(pair.name)
        if not pair.alarm_name:
            return record, None
        alarms = clients.cloudwatch.describe_alarms(AlarmNames=[pair.alarm_name])["MetricAlarms"]
    except (ClientError, BotoCoreError, FailoverError) as error:
        raise CliError(f"cannot read the state of pair {pair.name}: {error}") from error
    if not alarms:
        raise CliError(f"alarm {pair.alarm_name} of pair {pair.name} does not exist")
    return record, bool(alarms[0].get("ActionsEnabled"))


def triggers(deployment: Deployment, pair: PairOutputs) -> str:
    """What starts the pair's automatic failover, in words: its alarm, and the state-change
    rule whose pattern lists its primary (a stack splits them across several rules)."""
    alarm = f"the alarm {pair.alarm_name}" if pair.alarm_name else ""
    try:
        rules = state_rules.read(deployment.clients.events, deployment.outputs.trigger_topic_arn)
    except (ClientError, BotoCoreError):
        # Only the wording depends on it: the switches are flipped already.
        rule = "the state changes of the stack's state-change rules"
    else:
        covering = state_rules.covering(rules, pair.primary_instance_id)
        if not covering:
            return f"{alarm or 'the sweep'} ({state_rules.UNCOVERED})"
        rule = f"the state changes of rule {', '.join(r.name for r in covering)}"
    return f"{alarm} and {rule}" if alarm else rule


@contextmanager
def _finishing(verb: str, pair: str, changed: list[str]) -> Iterator[None]:
    """Turn an AWS error midway into a message that says what was already changed."""
    try:
        yield
    except (ClientError, BotoCoreError, FailoverError) as error:
        done = "; ".join(changed) or "nothing"
        raise CliError(
            f"{verb} of pair {pair} is INCOMPLETE: {error}. Done so far: {done}. "
            f"Fix the cause and run `eni-failover {verb} {pair}` again."
        ) from error


def _pause_message(deployment: Deployment, pair: PairOutputs, *, who: str, at: datetime) -> str:
    return "\n".join(
        [
            f"Automatic failover of pair {pair.name} was paused by {who} at {at.isoformat()}.",
            "",
            f"While paused, {triggers(deployment, pair)} start no failover of the pair: the "
            "function refuses its automatic triggers, those already on their way too. A "
            "manual `eni-failover failover` still works.",
            "",
            f"Resume with `eni-failover resume {pair.name}`.",
        ]
    )


def _alarm_warning(deployment: Deployment, pair: PairOutputs) -> list[str]:
    if not pair.alarm_name:
        return []
    try:
        alarms = deployment.clients.cloudwatch.describe_alarms(AlarmNames=[pair.alarm_name])
    except (ClientError, BotoCoreError):
        return []
    states = [a.get("StateValue") for a in alarms["MetricAlarms"]]
    if "ALARM" not in states:
        return []
    return [
        f"alarm {pair.alarm_name} is in ALARM now. CloudWatch acts on state changes only, so "
        "it will not trigger a failover until it changes again: check `eni-failover status "
        f"{pair.name}` and fail over by hand if the primary is failing."
    ]
