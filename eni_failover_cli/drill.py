"""`eni-failover drill PAIR`: rehearse a failover through the real alarm, then fail back.

The drill sets the pair's alarm to ALARM with set-alarm-state, so the path a real failure
takes is the one exercised: the alarm's action, the trigger topic, its subscription and
the function, with the function's own permissions. The primary is healthy during a drill,
which the function would take for a flapping alarm; a drill window in the pair record
(PairRecords.open_drill_window, a few minutes) tells it to believe this one.

What the drill observes, polling at a short interval until a deadline: the alarm's state,
the interfaces' attachment, where the routes, Elastic IPs and secondary IPs are, and the
outcome the function records for the pair. The
timeline gives each hop as first seen, so its resolution is the polling interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from eni_failover import ec2
from eni_failover.errors import FailoverError
from eni_failover.observed import InstanceView
from eni_failover.pair_record import PairRecord
from eni_failover.timeline import Clock, SystemClock
from eni_failover_cli import addresses, check, history, interrupted, move
from eni_failover_cli.console import Console, columns
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.errors import CliError, ExitCode
from eni_failover_cli.interrupted import Interrupted
from eni_failover_cli.outputs import PairOutputs

FailbackChoice = Literal["ask", "yes", "no"]
# Asks the operator a yes/no question; None when there is nobody to ask (no terminal).
Asker = Callable[[str], bool | None]
AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
DEFAULT_TIMEOUT_SECONDS = 120.0
# Long enough for a slow alarm delivery and a hung detach, short enough that a forgotten
# window cannot make a later, real flap look like a drill.
DEFAULT_WINDOW_SECONDS = 300.0
POLL_SECONDS = 0.25


# The hops of a drill, in the order they happen.
HOPS = ("alarm set", "alarm", "detaching", "floating", "attaching", "attached", "outcome")
# What the drill waits for once it has seen a hop.
WAITING_FOR = {
    "alarm set": "waiting for the alarm to be in ALARM",
    "alarm": "waiting for the function to move the interface or addresses from the primary",
    "detaching": "waiting for the detach to finish",
    "floating": "waiting for the attach to the standby",
    "attaching": "waiting for the attach to finish",
    "attached": "waiting for the function to record its outcome",
    "outcome": "done",
}


@dataclass(frozen=True)
class Hop:
    key: str  # one of HOPS
    name: str
    seconds: float
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "hop": self.key,
            "description": self.name,
            "seconds": round(self.seconds, 3),
            "at": self.at.isoformat(),
        }


@dataclass
class _Watch:
    """What the drill has seen so far, one poll at a time."""

    deployment: Deployment
    pair: PairOutputs
    clock: Clock
    started: float
    before: datetime | None  # when the function last recorded an outcome, before the drill
    hops: dict[str, Hop] = field(default_factory=dict)
    outcome: PairRecord | None = None
    # Both instances, read once for the addresses' reads (a route may name only an interface).
    instances: dict[str, InstanceView] | None = None

    def seen(self, key: str, name: str) -> None:
        if key not in self.hops:
            elapsed = self.clock.monotonic() - self.started
            self.hops[key] = Hop(key, name, elapsed, self.clock.now())

    @property
    def attached(self) -> bool:
        return "attached" in self.hops

    def poll(self) -> bool:
        """Look once; True when the function has recorded how the drill's trigger ended."""
        clients, pair = self.deployment.clients, self.pair
        alarms = clients.cloudwatch.describe_alarms(AlarmNames=[pair.alarm_name])["MetricAlarms"]
        if alarms and alarms[0].get("StateValue") == "ALARM":
            self.seen("alarm", f"alarm {pair.alarm_name} is in ALARM")
        standby = pair.standby_instance_id
        views = (
            ec2.describe_interfaces(clients.ec2, pair.interface_ids).values()
            if pair.interface_ids
            else []
        )
        names = ", ".join(pair.interface_ids)
        statuses = {v.attachment.status if v.attachment else "floating" for v in views}
        if "detaching" in statuses:
            self.seen("detaching", f"{names} detaching from the primary")
        if "floating" in statuses:
            self.seen("floating", f"{names} floating (attached to nothing)")
        if any(v.attached_to(standby) for v in views) and "attaching" in statuses:
            self.seen("attaching", f"{names} attaching to the standby {standby}")
        interfaces_there = statuses <= {"attached"} and all(v.attached_to(standby) for v in views)
        moved = self._addresses_on_standby()
        if interfaces_there and moved is not None:
            what = ", ".join([*pair.interface_ids, *moved])
            verb = "attached to" if pair.interface_ids and not moved else "on"
            self.seen("attached", f"{what} {verb} the standby {standby}")
        record = self.deployment.records.read(pair.name)
        if record.last_outcome_at != self.before:
            self.outcome = record
            self.seen("outcome", f"outcome recorded by the function: {record.last_outcome}")
        # A swap is recorded after the attach; one more look catches an attach seen late.
        return self.outcome is not None and (
            self.outcome.last_outcome != "swapped" or self.attached
        )

    def _addresses_on_standby(self) -> list[str] | None:
        """The pair's routes, Elastic IPs and secondary IPs, when every one is on the
        standby (none listed: an empty list); None while any is not there yet."""
        if not self.pair.has_addresses:
            return []
        ec2_client = self.deployment.clients.ec2
        if self.instances is None:
            # Once: an address move changes no instance's interfaces.
            self.instances = ec2.describe_instances(
                ec2_client, (self.pair.primary_instance_id, self.pair.standby_instance_id)
            )
        views = addresses.read(ec2_client, self.pair, self.instances)
        if all(v.held_by(self.pair.standby_instance_id) for v in views):
            return [v.key for v in views]
        return None

    def waiting_for(self) -> str:
        """The next hop, for the live line."""
        last = max((HOPS.index(k) for k in self.hops), default=0)
        return WAITING_FOR[HOPS[last]]

    def timeline(self) -> list[tuple[str, str]]:
        """(time, hop) rows; a hop that happened between two polls says so."""
        last = max((HOPS.index(k) for k in self.hops), default=-1)
        rows = []
        for key in HOPS[: last + 1]:
            hop = self.hops.get(key)
            if hop is not None:
                rows.append((f"+{hop.seconds:.2f} s", hop.name))
            elif key in ("detaching", "floating", "attaching"):
                rows.append(("-", f"{key} (between two polls, not seen)"))
        return rows


def run(
    deployment: Deployment,
    console: Console,
    pair_name: str,
    *,
    by: str,
    force: bool,
    timeout_seconds: float,
    window_seconds: float,
    failback: FailbackChoice,
    ask: Asker,
    clock: Clock | None = None,
    poll_seconds: float = POLL_SECONDS,
    rerun: str = "eni-failover",
) -> tuple[ExitCode, dict[str, Any], str]:
    """`rerun`: the program and the options that chose where it runs, for the commands an
    interrupted drill tells the operator to run."""
    clock = clock or SystemClock()
    pair = deployment.pair(pair_name)
    if not pair.alarm_name:
        raise CliError(
            f"pair {pair.name} was discovered by tags and has no status-check alarm to drill "
            f"through; rehearse the move by hand: `eni-failover failover {pair.name}`, then "
            f"`eni-failover failback {pair.name}`"
        )
    record = _refuse_unless_drillable(deployment, pair)
    stage: list[str] = ["readiness"]
    try:
        return _drill(
            deployment,
            console,
            pair,
            record,
            stage,
            by=by,
            force=force,
            timeout_seconds=timeout_seconds,
            window_seconds=window_seconds,
            failback=failback,
            ask=ask,
            clock=clock,
            poll_seconds=poll_seconds,
        )
    except KeyboardInterrupt:
        raise _interrupted(deployment, pair, stage[-1], by=by, rerun=rerun) from None


def _drill(
    deployment: Deployment,
    console: Console,
    pair: PairOutputs,
    record: PairRecord,
    stage: list[str],
    *,
    by: str,
    force: bool,
    timeout_seconds: float,
    window_seconds: float,
    failback: FailbackChoice,
    ask: Asker,
    clock: Clock,
    poll_seconds: float,
) -> tuple[ExitCode, dict[str, Any], str]:
    """The drill; `stage` says how far it got, for an interruption: readiness, then
    watching (the alarm is set off), asking, then failback."""
    console.progress(f"Drill of pair {pair.name} on {deployment.where}, by {by}")

    with console.waiting(f"asking the function whether pair {pair.name} is ready"):
        readiness = check.request(deployment, pair.name, by=by)["pairs"][0]
    failed = check.failed_checks(readiness)
    console.progress(
        "readiness: READY" if not failed else "readiness: NOT READY\n  " + "\n  ".join(failed)
    )
    unsure = check.inconclusive_checks(readiness)
    if unsure:  # not a reason to refuse: the drill's real move settles them
        console.progress("inconclusive, the drill will tell:\n  " + "\n  ".join(unsure))
    if failed and not force:
        raise CliError(
            f"pair {pair.name} is NOT READY, so a drill would fail or mislead; fix the failed "
            "checks above (see `eni-failover check`), or drill anyway with --force",
            exit_code=ExitCode.NOT_READY,
        )

    stage.append("watching")
    watch = _set_off_and_watch(
        deployment,
        console,
        pair,
        record,
        by=by,
        timeout_seconds=timeout_seconds,
        window_seconds=window_seconds,
        clock=clock,
        poll_seconds=poll_seconds,
    )
    moved = watch.outcome is not None and watch.outcome.last_outcome == "swapped" and watch.attached
    data: dict[str, Any] = {
        "pair": pair.name,
        "by": by,
        "where": deployment.where,
        "readiness": readiness,
        "hops": [h.as_dict() for h in watch.hops.values()],
        "outcome": _outcome(watch.outcome),
        "moved": moved,
        "failback": None,
    }
    # The move itself is in the history as the alarm's; this says it was a drill, and whose.
    for warning in history.record_action(
        deployment,
        pair=pair.name,
        action="drill",
        outcome="moved" if moved else "no move",
        by=by,
        trigger=f"operator: drill through alarm {pair.alarm_name}",
        summary=watch.outcome.last_outcome_summary or "" if watch.outcome else "",
    ):
        console.progress(f"Warning: {warning}")
    console.progress(_timeline(watch, timeout_seconds, poll_seconds))
    if not moved:
        return _failure_code(watch), data, "Nothing moved, so there is nothing to fail back."

    stage.append("asking")
    answer_given = None
    if failback == "ask":
        answer_given = ask(f"Fail back to the primary {pair.primary_instance_id} now?")
    if failback == "no" or (failback == "ask" and not answer_given):
        # Without a terminal nobody could answer: say so, and how a script fails back.
        why = (
            "there is no terminal to ask at, so the drill does not fail back (--yes makes it "
            "fail back without asking)"
            if failback == "ask" and answer_given is None
            else "the interface stays on the standby"
        )
        data["failback_skipped"] = why
        return (
            ExitCode.OK,
            data,
            f"Not failing back: {why}. When you are ready:\n  eni-failover failback {pair.name}",
        )
    stage.append("failback")
    with console.waiting(f"failing back: moving the interfaces to {pair.primary_instance_id}"):
        answer = move.request(deployment, "failback", pair.name, by=by)
    [outcome] = answer["outcomes"]
    data["failback"] = outcome
    code = move.OUTCOME_EXIT.get(outcome["outcome"], ExitCode.ERROR)
    return code, data, move.describe_outcome(outcome)


def _interrupted(
    deployment: Deployment, pair: PairOutputs, stage: str, *, by: str, rerun: str
) -> Interrupted:
    """Ctrl-C mid-drill: what it left, said to the operator and written to the history."""
    failback = f"{rerun} failback {pair.name}"
    if stage == "readiness":
        left = interrupted.look(deployment, pair)
        said = Interrupted(
            f"interrupted: the drill of pair {pair.name} stopped during its readiness check, "
            f"before the alarm was set; nothing moved. Drill again with: {rerun} drill "
            f"{pair.name}",
            {"interrupted": True, "pair": pair.name, "stage": stage, "left": left.as_dict()},
            left=left,
        )
    elif stage in ("watching", "asking"):
        # The alarm reached (or is reaching) the function, which moves on its own: only
        # the drill's watch stopped. The window is closed and the alarm back to OK.
        said = interrupted.move_interrupted(
            deployment,
            pair.name,
            "failover",
            finish=f"{rerun} failover {pair.name} --force",
            goes_on=True,
            what=f"the drill of pair {pair.name} stopped "
            + (
                "while waiting for the function's failover (its window is closed and the "
                "alarm set back to OK)"
                if stage == "watching"
                else "before failing back"
            ),
        )
        said.message += f"\nOnce it is on the standby, end the drill with:\n  {failback}"
        said.details["end_drill"] = failback
    else:
        said = interrupted.move_interrupted(
            deployment,
            pair.name,
            "failback",
            finish=failback,
            what=f"the drill's failback of pair {pair.name}",
        )
    said.details["stage"] = stage
    for warning in history.record_action(
        deployment,
        pair=pair.name,
        action="drill",
        outcome="interrupted",
        by=by,
        trigger=f"operator: drill through alarm {pair.alarm_name}",
        summary=said.message.splitlines()[0].removeprefix("interrupted: ")[:1000],
        addresses=tuple(said.left.lines()) if said.left is not None else (),
    ):
        said.message += f"\nWarning: {warning}"
    return said


def _refuse_unless_drillable(deployment: Deployment, pair: PairOutputs) -> PairRecord:
    """A drill must start from a quiet, armed pair with the interface on the primary."""
    clients = deployment.clients
    record = deployment.records.read(pair.name)
    if record.paused_at is not None:
        raise CliError(
            f"pair {pair.name} is paused (by {record.paused_by}); a drill goes through the "
            f"alarm, which is off. Resume it first: eni-failover resume {pair.name}",
            exit_code=ExitCode.REFUSED,
        )
    alarms = clients.cloudwatch.describe_alarms(AlarmNames=[pair.alarm_name])["MetricAlarms"]
    if not alarms:
        raise CliError(f"alarm {pair.alarm_name} of pair {pair.name} does not exist")
    alarm = alarms[0]
    if not alarm.get("ActionsEnabled"):
        raise CliError(
            f"the actions of alarm {pair.alarm_name} are disabled, so it would not reach the "
            f"function; enable them with `eni-failover resume {pair.name}`",
            exit_code=ExitCode.REFUSED,
        )
    if alarm.get("StateValue") == "ALARM":
        raise CliError(
            f"alarm {pair.alarm_name} is in ALARM already ({alarm.get('StateReason')}): the "
            "primary may really be failing, and setting ALARM again would change nothing. "
            f"Look at `eni-failover status {pair.name}` first.",
            exit_code=ExitCode.REFUSED,
        )
    views = (
        ec2.describe_interfaces(clients.ec2, pair.interface_ids).values()
        if pair.interface_ids
        else []
    )
    away = [v.interface_id for v in views if not v.attached_to(pair.primary_instance_id)]
    if pair.has_addresses:
        instances = ec2.describe_instances(
            clients.ec2, (pair.primary_instance_id, pair.standby_instance_id)
        )
        away += [
            v.key
            for v in addresses.read(clients.ec2, pair, instances)
            if not v.held_by(pair.primary_instance_id)
        ]
    if away:
        raise CliError(
            f"{', '.join(away)} not on the primary {pair.primary_instance_id}; a drill moves "
            f"it from there. Fail back first: eni-failover failback {pair.name}",
            exit_code=ExitCode.REFUSED,
        )
    return record


def _set_off_and_watch(
    deployment: Deployment,
    console: Console,
    pair: PairOutputs,
    record: PairRecord,
    *,
    by: str,
    timeout_seconds: float,
    window_seconds: float,
    clock: Clock,
    poll_seconds: float,
) -> _Watch:
    deployment.records.open_drill_window(
        pair.name,
        by=by,
        until=clock.now() + timedelta(seconds=window_seconds),
    )
    watch = _Watch(deployment, pair, clock, clock.monotonic(), before=record.last_outcome_at)
    try:
        set_at, watch.started = clock.now(), clock.monotonic()
        set_alarm_state(deployment, pair.alarm_name, "ALARM", reason=f"eni-failover drill by {by}")
        # The timeline's zero: the moment the alarm was asked to change.
        watch.hops["alarm set"] = Hop(
            "alarm set", f"alarm {pair.alarm_name} set to ALARM (set-alarm-state)", 0.0, set_at
        )
        waiting = f"alarm set to ALARM; waiting up to {timeout_seconds:g} s for the function"
        console.progress(waiting)
        deadline = watch.started + timeout_seconds
        with console.waiting("waiting for the alarm to reach the function") as update:
            while not watch.poll() and clock.monotonic() + poll_seconds <= deadline:
                update(f"{watch.waiting_for()} ({clock.monotonic() - watch.started:.0f} s)")
                clock.sleep(poll_seconds)
    finally:
        # Each step on its own: one failing must not leave the other undone, or hide why
        # the drill itself stopped.
        with _reported(console, "close the drill window"):
            deployment.records.close_drill_window(pair.name)
        # CloudWatch would put a healthy primary's alarm back to OK at its next evaluation;
        # doing it now leaves the pair as it was (OK has no actions, nothing is triggered).
        with _reported(console, f"set alarm {pair.alarm_name} back to OK"):
            set_alarm_state(
                deployment, pair.alarm_name, "OK", reason=f"eni-failover drill by {by} ended"
            )
    return watch


@contextmanager
def _reported(console: Console, what: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError, FailoverError) as error:
        console.problem(f"eni-failover: could not {what} after the drill: {error}")


def set_alarm_state(
    deployment: Deployment, alarm_name: str, state: AlarmState, *, reason: str
) -> None:
    """SetAlarmState: the alarm changes state and runs that state's actions, as for real."""
    deployment.clients.cloudwatch.set_alarm_state(
        AlarmName=alarm_name, StateValue=state, StateReason=reason[:1023]
    )


def _outcome(record: PairRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "outcome": record.last_outcome,
        "summary": record.last_outcome_summary,
        "at": record.last_outcome_at,
    }


def _failure_code(watch: _Watch) -> ExitCode:
    if watch.outcome is not None and watch.outcome.last_outcome == "refused":
        return ExitCode.REFUSED
    return ExitCode.FAILED


def _timeline(watch: _Watch, timeout_seconds: float, poll_seconds: float) -> str:
    lines = [f"Timeline (each hop as first seen, polling every {poll_seconds:g} s):"]
    lines += columns(watch.timeline())
    outcome = watch.outcome
    if outcome is None:
        lines.append(
            f"Drill FAILED: no outcome within {timeout_seconds:g} s. Look at "
            "`eni-failover status`, the function's logs and the dead-letter queue."
        )
    elif outcome.last_outcome == "swapped" and watch.attached:
        attached = watch.hops["attached"]
        moved = "the interface was" if watch.pair.interface_ids else "the addresses were"
        lines.append(
            f"Drill passed: {moved} on the standby {attached.seconds:.2f} s after "
            f"the alarm. {outcome.last_outcome_summary or ''}".rstrip()
        )
    else:
        lines.append(
            f"Drill FAILED: the function's outcome was {outcome.last_outcome}: "
            f"{outcome.last_outcome_summary or ''}".rstrip()
        )
    return "\n".join(lines)
