"""`eni-failover status`: where each floating interface and address is, and whether failover
is armed.

Read with the operator's own credentials: EC2 (interfaces, instances, status checks), the
pair's alarm and rule, and the pair record the function keeps (pause, last outcome, the
last scheduled readiness verdict). A part that cannot be read is shown as unknown with the
reason, and the rest is still shown.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from eni_failover import decide, ec2
from eni_failover.config import (
    DEFAULT_FAILBACK_AFTER_SECONDS,
    DEFAULT_MAX_AUTOMATIC_MOVES,
    FailbackPolicy,
    FenceMode,
)
from eni_failover.errors import FailoverError
from eni_failover.observed import InstanceView, InterfaceView, describe_slot
from eni_failover.pair_record import HOLDER_CLI, Lease, PairRecord, provably_gone
from eni_failover.prober import ProberLease
from eni_failover.quorum import QuorumStore
from eni_failover.readiness import FAILED_STATES, PROBER_SILENT_SECONDS, primary_failed
from eni_failover_cli import addresses, state_rules
from eni_failover_cli.console import columns, when
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.outputs import PairOutputs
from eni_failover_cli.state_rules import StateRule

T = TypeVar("T")


def collect(deployment: Deployment, pair_name: str | None) -> dict[str, Any]:
    outputs = deployment.outputs
    pairs = deployment.selected(pair_name)
    # Once for every pair: the rules that send EC2 state changes to the trigger topic.
    rules = _attempt(lambda: state_rules.read(deployment.clients.events, outputs.trigger_topic_arn))
    return {
        "where": deployment.where,
        "stack": outputs.stack_name,
        "pairs": [pair_status(deployment, pair, rules) for pair in pairs],
        "tag_problems": deployment.tag_problems,
        "readiness_schedule": _rule(deployment, outputs.readiness_rule_name),
        "dead_letters": _dead_letters(deployment),
    }


def _dead_letters(deployment: Deployment) -> dict[str, Any]:
    """Triggers that could not be handled wait here; each one is an operator's business."""
    url = deployment.outputs.dead_letter_queue_url
    found, error = _attempt(
        lambda: deployment.clients.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
    )
    if error is not None or found is None:
        return {"queue_url": url, "error": error}
    return {"queue_url": url, "messages": int(found.get("ApproximateNumberOfMessages", "0"))}


def pair_status(
    deployment: Deployment,
    pair: PairOutputs,
    rules: tuple[tuple[StateRule, ...] | None, str | None],
) -> dict[str, Any]:
    """`rules`: the stack's state-change rules (state_rules.read), or why they are unknown."""
    clients = deployment.clients
    interfaces, interfaces_error = (
        _attempt(lambda: ec2.describe_interfaces(clients.ec2, pair.interface_ids))
        if pair.interface_ids
        else ({}, None)
    )
    instances, instances_error = _attempt(
        lambda: ec2.describe_instances(
            clients.ec2, (pair.primary_instance_id, pair.standby_instance_id)
        )
    )
    found, addresses_error = _attempt(lambda: addresses.read(clients.ec2, pair, instances or {}))
    address_list = [addresses.as_dict(pair, a) for a in found or ()]
    record, record_error = _attempt(lambda: deployment.records.read(pair.name))
    probe = _probe(deployment, pair) if pair.probe else None
    alarm = _alarm(deployment, pair.alarm_name)
    covering = _covering_rules(pair, rules)
    rule = covering[0] if covering else _uncovered(rules)
    interface_list = (
        [interface_view(pair, interfaces[i]) for i in pair.interface_ids] if interfaces else []
    )
    known = interfaces_error is None and addresses_error is None
    primary = instances[pair.primary_instance_id] if instances else None
    return {
        "pair": pair.name,
        "location": _location(interface_list, address_list) if known else "unknown",
        "interfaces": interface_list,
        "interfaces_error": interfaces_error,
        # The routes, Elastic IPs and secondary IPs, each where EC2 shows it now.
        "addresses": address_list,
        "addresses_error": addresses_error,
        "primary": _instance(instances[pair.primary_instance_id]) if instances else None,
        "standby": _instance(instances[pair.standby_instance_id]) if instances else None,
        "instances_error": instances_error,
        "alarm": alarm,
        # The rule that brings the primary's state changes, and every one that does (a
        # primary is in one rule, unless rules of two deployments overlap).
        "rule": rule,
        "rules": covering,
        "automation": _automation(record, alarm, rule),
        "last_outcome": _last_outcome(record),
        "scheduled_readiness": record.readiness if record else None,
        # The last check's verdict, scheduled or an operator's.
        "readiness": (
            {"verdict": record.checked_readiness, "at": record.checked_at, "by": record.checked_by}
            if record and record.checked_readiness
            else None
        ),
        "drill_window": (
            {"until": record.drill_until, "by": record.drill_by}
            if record and record.drill_until and record.drill_until > datetime.now(UTC)
            else None
        ),
        "record_error": record_error,
        "after_failover": after_failover(
            pair,
            record,
            datetime.now(UTC),
            primary_state=instances[pair.primary_instance_id].state if instances else None,
        ),
        "probe": probe,
        # Who holds the pair's lease (a move under way, or one cut short), while it is held.
        "lease": held_lease(record),
        # What serves no one: interfaces attached to nothing (or detaching), addresses on
        # no instance or a blackhole route.
        "unserved": unserved(interface_list, address_list),
        # A failed primary that still holds interfaces or addresses: nothing serves them.
        "failed_primary_holds": (
            failed_primary_holds(primary, interface_list, address_list)
            if primary is not None
            else []
        ),
    }


def held_lease(record: PairRecord | None, now: datetime | None = None) -> dict[str, Any] | None:
    """The pair's lease while it is held (an expired one is free for the next move), with
    whether its holder is provably gone: a CLI run of this host whose process has exited,
    whose lease the next move takes over at once."""
    lease = record.lease if record else None
    if lease is None or lease.expired(now or datetime.now(UTC)):
        return None
    return {
        **lease_document(lease),
        "holder_gone": provably_gone(lease.holder, this_host=socket.gethostname()),
    }


def lease_document(lease: Lease) -> dict[str, Any]:
    """A pair's lease for --json: who holds it (the function by its request ID, a CLI run by
    its user, host and pid), since and until when; `status` and an interrupted command alike."""
    holder = lease.holder
    return {
        "holder": holder.kind,
        "described": holder.describe(),
        "request_id": holder.request_id,
        "host": holder.host,
        "pid": holder.pid,
        "user": holder.user,
        "since": lease.since,
        "expires_at": lease.expires_at,
    }


def unserved(interfaces: list[dict[str, Any]], addresses: list[dict[str, Any]]) -> list[str]:
    """The interfaces attached to nothing or detaching, and the addresses on no instance
    (or a blackhole route): each serves no one now."""
    return [
        i["interface_id"]
        for i in interfaces
        if i["exists"] and (i["attached_to"] is None or i["attachment_status"] == "detaching")
    ] + [a["address"] for a in addresses if _points_nowhere(a)]


def _points_nowhere(address: dict[str, Any]) -> bool:
    return bool(address["exists"]) and (
        address["on_instance"] is None or address["state"] == "blackhole"
    )


def failed_primary_holds(
    primary: InstanceView, interfaces: list[dict[str, Any]], addresses: list[dict[str, Any]]
) -> list[str]:
    """What a failed primary (stopped, stopping, terminated, or a status check impaired)
    still holds: interfaces attached to it, addresses on it. Empty while it is fine."""
    if not primary_failed(primary):  # the same judgement as `check`'s location line
        return []
    held = [i["interface_id"] for i in interfaces if i["attached_to"] == primary.instance_id]
    return held + [a["address"] for a in addresses if a["on_instance"] == primary.instance_id]


def failed_primary_text(primary: dict[str, Any], held: list[str], pair: str) -> str:
    how = (
        primary["state"]
        if primary["state"] in FAILED_STATES
        else "impaired (" + _checks_text(primary) + ")"
    )
    return (
        f"FAILED ({how}) and still holds {', '.join(held)}: nothing serves through it; "
        f"`eni-failover failover {pair}` moves it to the standby"
    )


def _probe(deployment: Deployment, pair: PairOutputs) -> dict[str, Any]:
    """What the prober last saw of the service, and how long ago it said so."""
    saved, error = _attempt(
        lambda: ProberLease(
            deployment.clients.dynamodb, deployment.outputs.state_table_name
        ).read_memory()
    )
    if error is not None or saved is None:
        return {"probe": pair.probe, "error": error}
    memory, saved_at = saved
    last = memory.get("last", {}).get(pair.name) or {}
    return {
        "probe": pair.probe,
        "saved_at": saved_at,
        "service": last.get("service"),
        "primary": last.get("primary"),
        "standby": last.get("standby"),
        "degraded": _degraded(deployment, memory, pair.name),
    }


def _degraded(deployment: Deployment, memory: dict[str, Any], pair: str) -> list[str]:
    """With a probe quorum: the failures of this pair one vantage sees and another does not
    (each vantage's view says which it saw; the memory read above is the first vantage's)."""
    quorum = memory.get("quorum") or {}
    store = QuorumStore(deployment.clients.dynamodb, deployment.outputs.state_table_name)
    # The vantages share a zone (the first vantage looked at its start).
    found: list[str] = [quorum["zones"]] if quorum.get("zones") else []
    for vantage in quorum.get("vantages", []):
        view, error = _attempt(functools.partial(store.read_view, vantage))
        if error is not None:
            found.append(f"could not read vantage {vantage}'s view: {error}")
        elif view is not None and pair in view.degraded:
            found.append(view.degraded[pair])
    return found


def _attempt(read: Callable[[], T]) -> tuple[T | None, str | None]:
    try:
        return read(), None
    except (FailoverError, ClientError, BotoCoreError) as error:
        return None, _reason(error)


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return (
            f"{error.operation_name} failed: {details.get('Code', 'Unknown')}: "
            f"{details.get('Message', '')}"
        )
    return str(error)


def interface_view(pair: PairOutputs, view: InterfaceView) -> dict[str, Any]:
    attachment = view.attachment
    return {
        "interface_id": view.interface_id,
        "exists": view.exists,
        "status": view.status,
        "attached_to": attachment.instance_id if attachment else None,
        "side": pair.side_of(attachment.instance_id) if attachment else None,
        "attachment_status": attachment.status if attachment else None,
        "device_index": attachment.device_index if attachment else None,
        "network_card_index": attachment.network_card_index if attachment else None,
        # True: terminating that instance deletes the interface (readiness fails on it).
        "delete_on_termination": attachment.delete_on_termination if attachment else None,
        "private_ips": list(view.private_ips),
        "elastic_ip": view.public_ip,
        "mac_address": view.mac_address,
        "availability_zone": view.availability_zone,
    }


# What an address not on any instance of the pair shows when nothing serves it (not when
# something outside the pair does).
_ON_NOTHING = ("blackhole", "not associated", "not assigned", "reassigning")


def _location(interfaces: list[dict[str, Any]], addresses: list[dict[str, Any]]) -> str:
    """One word for the pair: primary, standby, moving, unserved, split, elsewhere or
    missing, for its interfaces and its addresses together."""
    if any(not i["exists"] for i in interfaces) or any(not a["exists"] for a in addresses):
        return "missing"
    away = [a for a in addresses if not a["serving"]]
    if any(i["attached_to"] is not None and i["side"] is None for i in interfaces) or any(
        a["state"] not in _ON_NOTHING and a["side"] is None for a in away
    ):
        return "elsewhere"
    if any(i["attached_to"] is None or i["attachment_status"] == "detaching" for i in interfaces):
        return "moving"
    if away:
        return "unserved"
    sides = {i["side"] for i in interfaces} | {a["side"] for a in addresses}
    return sides.pop() if len(sides) == 1 else "split"


def _instance(view: InstanceView) -> dict[str, Any]:
    return {
        "instance_id": view.instance_id,
        "exists": view.exists,
        "state": view.state,
        "availability_zone": view.availability_zone,
        "system_status": view.system_status,
        "instance_status": view.instance_status,
        "attached_ebs_status": view.attached_ebs_status,
        "healthy": view.healthy,
    }


def _alarm(deployment: Deployment, name: str) -> dict[str, Any]:
    if not name:
        # A pair discovered by tags: the sweep reads its status checks every minute.
        return {"name": None}
    found, error = _attempt(
        lambda: deployment.clients.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    )
    if error is not None or not found:
        return {"name": name, "error": error or "no such alarm"}
    alarm = found[0]
    return {
        "name": name,
        "state": alarm.get("StateValue"),
        "reason": alarm.get("StateReason"),
        "since": alarm.get("StateUpdatedTimestamp"),
        "actions_enabled": alarm.get("ActionsEnabled"),
        "metrics": _alarm_metrics(alarm),
    }


def _alarm_metrics(alarm: Any) -> list[str]:
    """What the alarm watches: its metric, or every metric of a metric-math alarm."""
    if alarm.get("MetricName"):
        return [str(alarm["MetricName"])]
    return [
        str(query["MetricStat"]["Metric"]["MetricName"])
        for query in alarm.get("Metrics", [])
        if query.get("MetricStat")
    ]


def _rule(deployment: Deployment, name: str | None) -> dict[str, Any] | None:
    if name is None:
        return None
    found, error = _attempt(lambda: deployment.clients.events.describe_rule(Name=name))
    if error is not None or found is None:
        return {"name": name, "error": error}
    return {
        "name": name,
        "state": found.get("State"),
        "schedule": found.get("ScheduleExpression"),
    }


def _covering_rules(
    pair: PairOutputs, rules: tuple[tuple[StateRule, ...] | None, str | None]
) -> list[dict[str, Any]]:
    """The state-change rules whose pattern covers the pair's primary, enabled ones first."""
    found, _ = rules
    covering = state_rules.covering(found or (), pair.primary_instance_id)
    shown = [
        {
            "name": rule.name,
            "state": rule.state,
            "schedule": None,
            "covers": "every instance" if rule.instance_ids is None else "by instance ID",
        }
        for rule in covering
    ]
    return sorted(shown, key=lambda rule: rule["state"] != "ENABLED")


def _uncovered(rules: tuple[tuple[StateRule, ...] | None, str | None]) -> dict[str, Any]:
    """The `rule` of a pair no rule covers, or whose rules could not be read."""
    _, error = rules
    if error is not None:
        return {"name": None, "error": f"cannot list the state-change rules: {error}"}
    return {"name": None, "state": None, "uncovered": state_rules.UNCOVERED}


def _automation(
    record: PairRecord | None, alarm: dict[str, Any], rule: dict[str, Any] | None
) -> dict[str, Any]:
    """Paused if either switch (the flag, the alarm's actions) is off; each is shown, so a
    half-done pause shows. The pair's state-change rule serves every pair listed in it:
    disabled, it is no pause but a loss of their state-change triggers, shown as such."""
    flag = record.paused_at is not None if record else None
    actions = alarm.get("actions_enabled")
    state = rule.get("state") if rule else None
    rule_enabled = state == "ENABLED" if state is not None else None
    switches = [flag, actions is False]
    return {
        "paused": any(s is True for s in switches),
        "pause_flag": flag,
        "paused_by": record.paused_by if record else None,
        "paused_at": record.paused_at if record else None,
        "alarm_actions_enabled": actions,
        "rule_enabled": rule_enabled,
        # Both agree (both on or both off): a pause or resume that was not cut short.
        "consistent": len({s for s in switches if s is not None}) <= 1,
    }


def _last_outcome(record: PairRecord | None) -> dict[str, Any] | None:
    if record is None or record.last_outcome is None:
        return None
    return {
        "outcome": record.last_outcome,
        "direction": record.last_direction,
        "at": record.last_outcome_at,
        "summary": record.last_outcome_summary,
        "last_move_at": record.last_move_at,
    }


# --- text ---------------------------------------------------------------------------------


def describe(status: dict[str, Any]) -> str:
    lines = [f"ENI Failover: {status['where']}"]
    for pair in status["pairs"]:
        lines += ["", *describe_pair(pair)]
    lines.append("")
    lines += tag_problem_lines(status.get("tag_problems") or [])
    schedule = status.get("readiness_schedule")
    if schedule is not None:
        lines.append(f"Readiness schedule: {_rule_text(schedule)} (rule {schedule['name']})")
    dead = status["dead_letters"]
    if "error" in dead:
        lines.append(f"Dead-letter queue: unknown: {dead['error']}")
    elif dead["messages"]:
        lines.append(
            f"Dead-letter queue: {dead['messages']} message(s) waiting: triggers that could "
            f"not be handled; read them at {dead['queue_url']}"
        )
    else:
        lines.append("Dead-letter queue: empty")
    return "\n".join(lines)


def tag_problem_lines(problems: list[str]) -> list[str]:
    """Tagged pairs the function will not act on, and why (eni_failover.discovery)."""
    if not problems:
        return []
    return [
        f"Tag problems ({len(problems)}), not acted on until fixed:",
        *(f"  - {problem}" for problem in problems),
        "",
    ]


def describe_pair(pair: dict[str, Any]) -> list[str]:
    automation = pair["automation"]
    armed = "PAUSED" if automation["paused"] else "armed"
    listed = pair.get("addresses") or []
    head = _heading(pair)
    rows: list[tuple[str, ...]] = []
    for interface in pair["interfaces"]:
        rows.append(("interface", interface["interface_id"], interface_where(interface)))
        rows.append(("", "", _addresses(interface)))
    if pair["interfaces_error"]:
        rows.append(("interface", "unknown", pair["interfaces_error"]))
    rows += [
        (
            addresses.KIND_LABELS[a["kind"]],
            a["address"],
            addresses.where(a) + ("; POINTS NOWHERE: serves no one" if _points_nowhere(a) else ""),
        )
        for a in listed
    ]
    if pair.get("addresses_error"):
        rows.append(("addresses", "unknown", pair["addresses_error"]))
    rows += _instance_rows(pair)
    alarm = pair["alarm"]
    if alarm["name"]:
        rows.append(("alarm", alarm["name"], _alarm_text(alarm)))
    else:
        rows.append(("alarm", "none", "discovered by tags: the sweep reads its status checks"))
    rule = pair["rule"]
    rows.append(("rule", rule["name"] or "none", _rule_text(rule)))
    rows.append(("automation", armed, _automation_text(automation)))
    rows.append(("last outcome", *_outcome_text(pair["last_outcome"])))
    rows.append(("readiness", *_readiness_text(pair)))
    if pair.get("probe"):
        rows += _probe_rows(pair["probe"])
    if pair.get("lease"):
        rows.append(("lease", *lease_text(pair["lease"], pair["pair"])))
    if pair["drill_window"]:
        window = pair["drill_window"]
        rows.append(("drill window", "OPEN", f"until {when(window['until'])}, by {window['by']}"))
    policy = pair.get("after_failover")
    if policy:
        rows.append(("failback", *_failback_text(policy)))
        rows.append(("fence", *_fence_text(policy)))
    if pair["record_error"]:
        rows.append(("pair record", "unknown", pair["record_error"]))
    return [head, *columns(rows)]


def _heading(pair: dict[str, Any]) -> str:
    head = (
        f"Pair {pair['pair']}: {_noun(pair)} {_LOCATIONS.get(pair['location'], pair['location'])}"
    )
    if pair.get("unserved"):
        head += f"; SERVED BY NO INSTANCE: {', '.join(pair['unserved'])}"
    if pair.get("failed_primary_holds"):
        head += "; the primary has FAILED"
    return head


def _instance_rows(pair: dict[str, Any]) -> list[tuple[str, ...]]:
    """Both instances; a failed primary that still holds part of the pair says so."""
    rows: list[tuple[str, ...]] = []
    for side in ("primary", "standby"):
        instance = pair[side]
        if instance is None:
            rows.append((side, "unknown", pair["instances_error"] or ""))
            continue
        rows.append((side, instance["instance_id"], _instance_text(instance)))
        held = pair.get("failed_primary_holds")
        if side == "primary" and held:
            rows.append(("", "", failed_primary_text(instance, held, pair["pair"])))
    return rows


def lease_text(lease: dict[str, Any], pair: str) -> tuple[str, str]:
    """Who holds the pair's lease, since and until when, and what that means."""
    held = (
        f"by {lease['described']} since {when(lease['since'])}, until {when(lease['expires_at'])}"
    )
    if lease["holder_gone"]:
        return "LEFT BEHIND", (
            f"{held}; that process is gone (interrupted or killed): the next move of "
            f"pair {pair} on this host (`eni-failover failover {pair}`, or `failback`) takes "
            "it over at once, resuming from where it stopped"
        )
    if lease["holder"] == HOLDER_CLI:
        return "HELD", f"{held}; a move by that CLI run is under way (or it was stopped)"
    return "HELD", f"{held}; a move is under way"


def _noun(pair: dict[str, Any]) -> str:
    """What the pair moves, for its heading (a function deployed before address kinds
    lists interfaces only)."""
    if not pair.get("addresses"):
        return "interface"
    return "interface and addresses" if pair["interfaces"] else "addresses"


def after_failover(
    pair: PairOutputs, record: PairRecord | None, now: datetime, *, primary_state: str | None = None
) -> dict[str, Any]:
    """The failback policy and its hold-down, the flap limit's count, and the fence.

    `primary_state`: the primary's state now, where EC2 said: a stop fence is a fence only
    once the primary is stopped, and this look confirms it (or not).
    """
    after = pair.failback_after_seconds or DEFAULT_FAILBACK_AFTER_SECONDS
    auto = pair.failback == FailbackPolicy.AUTO
    since = record.healthy_since if record else None
    return {
        "failback": pair.failback or FailbackPolicy.MANUAL.value,
        "failback_after_seconds": after,
        "healthy_since": since,
        "hold_down_remaining_seconds": (
            max(0.0, after - (now - since).total_seconds()) if auto and since else None
        ),
        "manual_hold": bool(record and record.manual_hold),
        "last_move_kind": record.last_move_kind if record else None,
        "automatic_moves_last_hour": (
            len(decide.recent_automatic_moves(record, now)) if record else None
        ),
        "max_automatic_moves": pair.max_automatic_moves or DEFAULT_MAX_AUTOMATIC_MOVES,
        "fence": pair.fence or FenceMode.NONE.value,
        # Failback waits until this instance was stopped and started since (decide).
        "forced_detach": (
            {"instance_id": record.forced_detach_instance_id, "at": record.forced_detach_at}
            if record and record.forced_detach_at
            else None
        ),
        "fenced": (
            {
                "mode": record.fence_mode,
                "instance_id": record.fenced_instance_id,
                "at": record.fenced_at,
                "isolated_groups": list(record.isolated_groups),
                "primary_state": primary_state,
            }
            if record and record.fence_mode
            else None
        ),
    }


def _failback_text(policy: dict[str, Any]) -> tuple[str, str]:
    moves = policy["automatic_moves_last_hour"]
    flap = (
        f"{moves if moves is not None else '?'} of {policy['max_automatic_moves']} automatic "
        "moves in the last hour"
    )
    forced = policy.get("forced_detach")
    restart = (
        f"failback waits for {forced['instance_id']} to be stopped and started since the "
        f"interface was forcibly detached from it at {when(forced['at'])}; "
        if forced
        else ""
    )
    if policy["failback"] != FailbackPolicy.AUTO:
        return "manual", f"`eni-failover failback` moves it back; {restart}{flap}"
    remaining = policy["hold_down_remaining_seconds"]
    if policy["manual_hold"]:
        watch = "held by a manual move until `failback` or `resume`"
    elif remaining is not None:
        watch = (
            f"holding down: primary healthy since {when(policy['healthy_since'])}, "
            f"{remaining:.0f} s of {policy['failback_after_seconds']} s left"
        )
    else:
        watch = f"after {policy['failback_after_seconds']} s of a healthy primary"
    return "auto", f"{restart}{watch}; {flap}"


def _fence_text(policy: dict[str, Any]) -> tuple[str, str]:
    fenced = policy["fenced"]
    if fenced is None:
        return policy["fence"], "the primary is not fenced"
    groups = (
        f"; failback restores {', '.join(fenced['isolated_groups'])}"
        if fenced["isolated_groups"]
        else ""
    )
    state = fenced.get("primary_state")
    if fenced["mode"] == "stop" and state not in (None, "stopped", "terminated"):
        return (
            "STOPPING" if state == "stopping" else "NOT STOPPED",
            f"stop asked on {fenced['instance_id']} at {when(fenced['at'])}; it is {state} "
            "now, so it is not fenced until it is stopped",
        )
    return "FENCED", f"{fenced['mode']} on {fenced['instance_id']} at {when(fenced['at'])}{groups}"


def _readiness_text(pair: dict[str, Any]) -> tuple[str, str]:
    checked = pair.get("readiness")
    if checked:
        return checked["verdict"], f"at the last check, {when(checked['at'])} by {checked['by']}"
    scheduled = pair["scheduled_readiness"]
    if scheduled:  # a function deployed before every check was recorded
        return scheduled, "at the last scheduled check"
    return "unknown", "not checked yet: `eni-failover check` asks the function"


def _probe_rows(probe: dict[str, Any]) -> list[tuple[str, ...]]:
    """The last probe result, and any failure one vantage of the quorum sees alone."""
    return [("probe", *_probe_text(probe))] + [
        ("detection", "DEGRADED", sentence) for sentence in probe.get("degraded") or ()
    ]


def _probe_text(probe: dict[str, Any]) -> tuple[str, str]:
    if probe.get("error"):
        return "unknown", probe["error"]
    service, saved_at = probe.get("service"), probe.get("saved_at")
    if not service or saved_at is None:
        return "no result", f"{probe['probe']}: the prober has not reported yet"
    age = (datetime.now(UTC) - saved_at).total_seconds()
    state = "answering" if service.get("ok") else "NOT ANSWERING"
    if age > PROBER_SILENT_SECONDS:
        state = "STALE"
    how = (
        f"{service.get('target')} in {float(service.get('latency_seconds', 0)) * 1000:.0f} ms"
        if service.get("ok")
        else f"{service.get('target')}: {service.get('error')}"
    )
    return state, f"{probe['probe']}: {how}, {age:.0f} s ago"


_LOCATIONS = {
    "primary": "on the primary",
    "standby": "on the STANDBY (failed over; fail back when the primary is repaired)",
    "moving": "MOVING (detaching, floating or attaching)",
    "unserved": "NOT SERVED: an address is on no instance (a blackhole route, or on nothing)",
    "split": "SPLIT between the instances",
    "elsewhere": "attached to an instance OUTSIDE the pair",
    "missing": "MISSING (an interface or an address does not exist)",
    "unknown": "unknown",
}


def interface_where(interface: dict[str, Any]) -> str:
    if not interface["exists"]:
        return "does not exist"
    if interface["attached_to"] is None:
        return f"floating, ATTACHED TO NOTHING ({interface['status']}): serves no one"
    side = interface["side"] or "an instance outside the pair,"
    slot = describe_slot(interface["device_index"], interface.get("network_card_index") or 0)
    where = f"on {side} {interface['attached_to']} at {slot} ({interface['attachment_status']})"
    if interface.get("delete_on_termination"):
        where += "; DELETED if that instance terminates (check --fix-delete-on-termination)"
    return where


def _addresses(interface: dict[str, Any]) -> str:
    return (
        f"private IPs {', '.join(interface['private_ips']) or '-'}; "
        f"Elastic IP {interface['elastic_ip'] or '-'}; MAC {interface['mac_address'] or '-'}"
    )


def _instance_text(instance: dict[str, Any]) -> str:
    if not instance["exists"]:
        return "does not exist"
    return f"{instance['state']}; {_checks_text(instance)}; {instance['availability_zone']}"


def _checks_text(instance: dict[str, Any]) -> str:
    checks = (
        f"system {instance['system_status'] or 'n/a'}, "
        f"instance {instance['instance_status'] or 'n/a'}"
    )
    if instance.get("attached_ebs_status"):
        checks += f", attached EBS {instance['attached_ebs_status']}"
    return checks


def _alarm_text(alarm: dict[str, Any]) -> str:
    if "error" in alarm:
        return f"unknown: {alarm['error']}"
    since = alarm["since"]
    actions = "actions enabled" if alarm["actions_enabled"] else "actions DISABLED"
    watches = f"; watches {', '.join(alarm['metrics'])}" if alarm.get("metrics") else ""
    return f"{alarm['state']} since {when(since)}; {actions}{watches}"


def _rule_text(rule: dict[str, Any]) -> str:
    if rule.get("uncovered"):
        return str(rule["uncovered"])
    if rule.get("error"):
        return f"unknown: {rule['error']}"
    schedule = f" {rule['schedule']}," if rule.get("schedule") else ""
    return f"{schedule} {rule['state']}".strip()


def _automation_text(automation: dict[str, Any]) -> str:
    parts = []
    if automation["pause_flag"]:
        parts.append(f"paused by {automation['paused_by']} at {when(automation['paused_at'])}")
    if automation["alarm_actions_enabled"] is False:
        parts.append("alarm actions disabled")
    if automation["rule_enabled"] is False:
        parts.append("its state-change rule is DISABLED (every pair in that rule)")
    if not automation["consistent"]:
        parts.append("PARTLY paused: run `eni-failover pause` or `resume` again to finish")
    return "; ".join(parts) or "its triggers will fail over automatically"


def _outcome_text(outcome: dict[str, Any] | None) -> tuple[str, str]:
    if outcome is None:
        return "none", "no failover recorded for this pair"
    text = f"{when(outcome['at'])}: {outcome['summary'] or ''}".strip()
    if outcome["outcome"] != "swapped":
        # A refusal is news, but where the interface went last is what an operator asks.
        moved = when(outcome["last_move_at"]) if outcome["last_move_at"] else "never"
        text += f" (last move: {moved})"
    direction = outcome.get("direction")
    # "failover: swapped", "failback: refused"; a record written before directions: the outcome.
    return (f"{direction}: {outcome['outcome']}" if direction else outcome["outcome"]), text
