"""The pure decision: given a trigger and what is true now, what should happen?

No AWS here. Every input is a value (the observed state, the pair's record, the time), and
the answer is a plan: move these interfaces, nothing to do, or refuse and say why. The
rule that keeps failover safe on a bad day is simple: decide from the current state, never
from the trigger alone, and move an interface automatically back towards a primary only
when the pair asks for it (failback=auto) and the primary has been healthy for the whole
hold-down. Whether to fail back, the flap limit and whether to fence are decided here too,
and whether to force the detach from the start: for a source that is stopped or impaired,
and for a probe that proved the primary's service dead and the standby's alive
(probe_proved_the_move), never otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from eni_failover.config import FailbackPolicy, FenceMode, Pair, Tuning
from eni_failover.kinds import KINDS, kind_of
from eni_failover.observed import (
    AddressView,
    InstanceView,
    InterfaceView,
    PairState,
    describe_slot,
)
from eni_failover.pair_record import PairRecord, PlannedAddress, PlannedMove
from eni_failover.probe import ProbeResult
from eni_failover.triggers import Trigger, TriggerKind


class Direction(StrEnum):
    TO_STANDBY = "failover"  # primary -> standby (automatic triggers, manual failover)
    TO_PRIMARY = "failback"  # standby -> primary (manual, or the sweep's with failback=auto)

    def ends(self, pair: Pair) -> tuple[str, str]:
        """(source, target) instance IDs of a move in this direction."""
        if self is Direction.TO_STANDBY:
            return pair.primary_instance_id, pair.standby_instance_id
        return pair.standby_instance_id, pair.primary_instance_id


@dataclass(frozen=True)
class Ignore:
    """Not a failure of a configured primary: log the reason, publish nothing."""

    reason: str


@dataclass(frozen=True)
class Problem:
    """One reason a move cannot go ahead, under the name of the check that found it."""

    # interfaces | addresses | zones | target | device index | stale | paused | source |
    # flap limit | failback
    check: str
    reason: str


FLAP_LIMIT = "flap limit"


@dataclass(frozen=True)
class AlreadyThere:
    """Every interface and address is already on the target; nothing to move."""

    # True when an earlier attempt of this same trigger made the move (a retry).
    moved_by_this_trigger: bool = False


@dataclass(frozen=True)
class Refuse:
    """Nothing may move now; the interfaces stay where they are."""

    problems: tuple[Problem, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(p.reason for p in self.problems)


@dataclass(frozen=True)
class Stranded:
    """Nothing may move now, and some interfaces are on no instance: the service is down.

    A move cut short left them detached. That is a failure that needs action, not a
    refusal, and Lambda's retry (which keeps the journal, so the device index) may still
    finish the move once the reason has gone.
    """

    problems: tuple[Problem, ...]
    interface_ids: tuple[str, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(p.reason for p in self.problems)

    @property
    def error(self) -> str:
        return (
            f"{', '.join(self.interface_ids)} is attached to no instance and cannot be "
            f"moved now: {'; '.join(self.reasons)}"
        )


@dataclass(frozen=True)
class Move:
    moves: tuple[PlannedMove, ...]  # the interfaces (swap carries them out)
    # Force the detach from the start (detach_reason says why): the source is stopped or
    # impaired, or the probe proved its service dead and the standby's alive
    # (probe_proved_the_move), so a graceful detach would only wait on a guest that is gone.
    force_detach: bool
    # Some interface is already detached or detaching: a previous attempt was cut short.
    resuming: bool
    overridden: tuple[str, ...] = ()  # checks skipped on an operator's --force
    # The routes, Elastic IPs and secondary IPs (kinds.mover carries them out).
    addresses: tuple[PlannedAddress, ...] = ()
    # Why the detach is forced from the start (None when it is not).
    force_reason: str | None = None


Plan = AlreadyThere | Refuse | Stranded | Move

# How far ahead of this function's clock a trigger's time may be (clocks disagree a little).
MAX_CLOCK_SKEW_SECONDS = 300.0


def route(  # noqa: PLR0912 - one branch per kind of trigger, each routed its own way
    trigger: Trigger, pairs: tuple[Pair, ...], *, account_id: str, region: str
) -> Pair | Ignore:
    """Find the pair a trigger is about, or say why it is none of ours."""
    if trigger.account_id != account_id:
        return Ignore(f"trigger is for account {trigger.account_id}, this is {account_id}")
    if trigger.region is not None and trigger.region != region:
        return Ignore(f"trigger is for region {trigger.region}, this is {region}")
    if trigger.kind is TriggerKind.PROBE:
        pair = next((p for p in pairs if p.name == trigger.pair_name and p.probe), None)
        if pair is None:
            return Ignore(f"the prober names pair {trigger.pair_name!r}, which is not probed")
    elif trigger.kind is TriggerKind.SWEEP:
        # Named by the sweep that found the failure; the primary must still be the pair's.
        pair = next((p for p in pairs if p.name == trigger.pair_name), None)
        if pair is None or pair.primary_instance_id != trigger.instance_id:
            return Ignore(
                f"the sweep names pair {trigger.pair_name!r} with primary "
                f"{trigger.instance_id}, which no pair has now"
            )
    elif trigger.kind is TriggerKind.SERVICE_ALARM:
        pair = next((p for p in pairs if trigger.source in p.trigger_alarms), None)
        if pair is None:
            return Ignore(f"alarm {trigger.source!r} is in no pair's triggerAlarms")
    elif trigger.kind is TriggerKind.ALARM:
        pair = next((p for p in pairs if p.alarm_name and p.alarm_name == trigger.source), None)
        if pair is None:
            return Ignore(f"alarm {trigger.source!r} guards no configured pair")
        # Every InstanceId the alarm's metrics name (all of a metric-math alarm's) must be the
        # primary: an alarm renamed onto another instance is not this pair's alarm.
        named = dict.fromkeys(
            i for i in (trigger.instance_id, *trigger.watched_instances) if i is not None
        )
        others = [i for i in named if i != pair.primary_instance_id]
        if others:
            return Ignore(
                f"alarm {trigger.source!r} watches {', '.join(others)}, but pair "
                f"{pair.name!r} has primary {pair.primary_instance_id}"
            )
    else:
        pair = next((p for p in pairs if p.primary_instance_id == trigger.instance_id), None)
        if pair is None:
            return Ignore(f"instance {trigger.instance_id} is the primary of no configured pair")
    if not trigger.is_failure:
        return Ignore(f"{trigger.state} is not a failure ({trigger.describe()})")
    return pair


def plan(
    *,
    pair: Pair,
    trigger: Trigger,
    state: PairState,
    record: PairRecord,
    now: datetime,
    tuning: Tuning,
    direction: Direction = Direction.TO_STANDBY,
    force: bool = False,
    alarm_now: str | None = None,
    probe_failures_needed: int | None = None,
) -> Plan:
    """`alarm_now`: for a service alarm, its state when the function looked (DescribeAlarms).
    `probe_failures_needed`: the failed probes in a row that make a failure (Probing.failures);
    a probe trigger holding that many forces the detach (probe_proved_the_move)."""
    decided = _plan(
        pair=pair,
        trigger=trigger,
        state=state,
        record=record,
        now=now,
        tuning=tuning,
        direction=direction,
        force=force,
        alarm_now=alarm_now,
        probe_failures_needed=probe_failures_needed,
    )
    if isinstance(decided, Refuse):
        stranded = tuple(i.interface_id for i in state.interfaces if on_no_instance(i))
        if stranded:
            return Stranded(decided.problems, stranded)
    return decided


def readiness_plan(
    *, pair: Pair, state: PairState, record: PairRecord, now: datetime, tuning: Tuning
) -> Plan:
    """What a failover would do if the primary failed now (the readiness check asks this).

    The primary is expected to be healthy during a check, so the question is asked as an
    operator's forced failover: every check about the interfaces and the standby applies,
    and the journal of a cut-short move gives the device index, as it would for real.
    """
    probe = Trigger(
        trigger_id="readiness",
        kind=TriggerKind.MANUAL,
        source="readiness check",
        instance_id=None,
        state="requested",
        is_failure=True,
        reason="readiness check",
        occurred_at=now,
        account_id="",
        region=None,
    )
    return plan(
        pair=pair, trigger=probe, state=state, record=record, now=now, tuning=tuning, force=True
    )


def _plan(  # noqa: PLR0912 - one decision, its checks in the order they are reported
    *,
    pair: Pair,
    trigger: Trigger,
    state: PairState,
    record: PairRecord,
    now: datetime,
    tuning: Tuning,
    direction: Direction,
    force: bool,
    alarm_now: str | None = None,
    probe_failures_needed: int | None = None,
) -> Plan:
    automatic = trigger.kind is not TriggerKind.MANUAL
    source, target = (
        (state.primary, state.standby)
        if direction is Direction.TO_STANDBY
        else (state.standby, state.primary)
    )

    problems = [
        *zone_problems(pair, state),
        *interface_problems(pair, state, target),
        *address_problems(pair, state, target),
    ]
    if problems:
        # Say everything that is wrong at once: the target's fitness too.
        return Refuse((*problems, *target_problems(target)))

    to_move = [i for i in state.interfaces if not i.attached_to(target.instance_id)]
    addresses_to_move = [a for a in state.addresses if not a.held_by(target.instance_id)]
    if not to_move and not addresses_to_move:
        # An earlier attempt of this trigger made the move if it recorded it, or if it was
        # killed after the attach and before that record, leaving only its journal.
        return AlreadyThere(
            moved_by_this_trigger=trigger.trigger_id
            in (record.last_move_trigger_id, record.journal_trigger_id)
        )

    on_source = any(i.attached_to(source.instance_id) for i in to_move) or any(
        a.held_by(source.instance_id) for a in addresses_to_move
    )
    # This trigger's own move, cut short after the detach: Lambda's retry may come after
    # the trigger has aged out, and finishing the move can only end the outage it began.
    own_move_cut_short = not on_source and record.journal_trigger_id == trigger.trigger_id
    if automatic:
        stale = None if own_move_cut_short else _staleness(trigger, record, now, tuning)
        if stale:
            return Refuse((Problem("stale", stale),))
        doubt = _doubt_about_the_service(trigger, alarm_now)
        if doubt:
            return Refuse((doubt,))
        if record.paused_at is not None:
            # Pausing disables the alarm actions and the rule; this catches what was
            # already in flight (or retried) when the operator paused.
            return Refuse(
                (
                    Problem(
                        "paused",
                        f"automatic failover of pair {pair.name!r} is paused (by "
                        f"{record.paused_by or 'an operator'} at {record.paused_at.isoformat()})",
                    ),
                )
            )
        if direction is Direction.TO_PRIMARY:
            blocked = failback_blockers(pair, record, now)
            if trigger.kind is not TriggerKind.FAILBACK:
                blocked.insert(0, "only the failback watch moves an interface back automatically")
            if not target.healthy:
                blocked.append(f"the primary {target.describe()} is not healthy now")
            if blocked:
                return Refuse(tuple(Problem("failback", b) for b in blocked))
        flapping = flap_limit_problem(pair, record, now)
        if flapping:
            return Refuse((flapping,))

    problems = target_problems(target)
    if direction is Direction.TO_PRIMARY:
        # Automatic or manual, and --force does not skip them: the primary must show it
        # can take an interface again, and serve with it.
        waiting = forced_detach_wait(record, target)
        if waiting:
            problems.append(Problem("failback", waiting))
        problems += _failback_target_checks(target)
    overridden: list[str] = []
    # A healthy source with its interfaces still attached: for an automatic trigger, the
    # trigger no longer describes reality (a flap, a late message) and moving now would
    # cause the outage it is meant to end. An operator's drill (`eni-failover drill`) sets
    # the alarm on a healthy primary on purpose; for that short window it is believed.
    drilling = record.drill_until is not None and now < record.drill_until
    # A probe or a service alarm speaks of the service, which can fail on a primary that EC2
    # rightly calls healthy: that is the failure it exists to catch.
    if (
        on_source
        and source.healthy
        and direction is Direction.TO_STANDBY
        and not trigger.kind.about_the_service
    ):
        if automatic and not drilling:
            problems.append(
                Problem(
                    "source",
                    f"the primary {source.describe()} is healthy now, so this trigger is "
                    "out of date (the alarm flapped or the message was late)",
                )
            )
        elif not automatic and not force:
            problems.append(
                Problem(
                    "source",
                    f"the primary {source.describe()} is healthy; a manual failover of a "
                    "healthy primary needs --force",
                )
            )
        elif not automatic:
            # --force skips only this check, about the source, whose health does not matter
            # to the move; checks about the target and the interfaces are never skipped.
            overridden.append("source-healthy")

    # A detached interface remembers no slot: the journal of the move that detached it does.
    journal_slot = {m.interface_id: m.slot for m in record.journal}
    # Nor where it came from: the journal does, and a refused attach puts it back there.
    journal_from = {m.interface_id: m.from_instance_id for m in record.journal}
    moves = []
    for interface in to_move:
        attachment = interface.attachment
        card, index = (
            attachment.slot
            if attachment is not None
            else journal_slot.get(interface.interface_id, (0, 1))
        )
        moves.append(
            PlannedMove(
                interface_id=interface.interface_id,
                device_index=index,
                from_instance_id=(
                    attachment.instance_id
                    if attachment
                    else journal_from.get(interface.interface_id)
                ),
                to_instance_id=target.instance_id,
                network_card_index=card,
            )
        )

    problems += index_conflicts(target, tuple(moves))
    if problems:
        return Refuse(tuple(problems))

    # An address already on the target while others are not: a move of this pair was cut
    # short (its journal says which), and this one finishes it.
    addresses_resumed = record.journal_trigger_id is not None and any(
        a.held_by(target.instance_id) for a in state.addresses
    )
    resuming = addresses_resumed or any(
        i.attachment is None or i.attachment.status == "detaching" for i in to_move
    )
    force_reason = (
        "the source is stopped or impaired"
        if not source.running or source.impaired
        else (
            PROBE_PROVED_FORCE
            if direction is Direction.TO_STANDBY
            and probe_proved_the_move(trigger, failures_needed=probe_failures_needed)
            else None
        )
    )
    return Move(
        moves=tuple(moves),
        force_detach=force_reason is not None,
        force_reason=force_reason,
        resuming=resuming,
        overridden=tuple(overridden),
        addresses=tuple(
            PlannedAddress(
                key=a.key, from_instance_id=a.instance_id, to_instance_id=target.instance_id
            )
            for a in addresses_to_move
        ),
    )


PROBE_PROVED_FORCE = "the probe found the service dead on the primary, alive on the standby"


def probe_proved_the_move(trigger: Trigger, *, failures_needed: int | None) -> bool:
    """A probe trigger whose evidence proves the primary's service dead and the standby's
    alive: the full count of failed service probes in a row, and the standby's own service
    answering the same probe. Such a failover forces the detach from the start.

    Only this trigger proves both: a service alarm says nothing of the standby, a probe
    through the pair (a NAT's forwarding) cannot probe it, a status-check alarm on a
    running primary and an operator's --force speak of no service. The forced detach's
    after-effect (EC2 may refuse that device index until the primary is stopped and
    started) is recorded like any other: failback waits for the restart
    (forced_detach_wait), and fence=stop, which a failed probe calls for, gives it.
    """
    evidence = trigger.evidence
    if (
        trigger.kind is not TriggerKind.PROBE
        or evidence is None
        or evidence.standby is None
        or failures_needed is None
    ):
        return False
    return (
        len(evidence.failures) >= failures_needed
        and not any(f.ok for f in evidence.failures)
        and evidence.standby.ok
    )


def on_no_instance(interface: InterfaceView) -> bool:
    """Detached, or on its way off one."""
    return interface.exists and (
        interface.attachment is None or interface.attachment.status == "detaching"
    )


def _doubt_about_the_service(trigger: Trigger, alarm_now: str | None) -> Problem | None:
    """Why a trigger about the service no longer holds, if it does not."""
    if trigger.kind is TriggerKind.SERVICE_ALARM and alarm_now != "ALARM":
        now = f"is {alarm_now} now" if alarm_now else "no longer exists"
        return Problem(
            "stale",
            f"alarm {trigger.source!r} {now}: it no longer says the service is down",
        )
    standby = trigger.evidence.standby if trigger.evidence else None
    if trigger.kind is TriggerKind.PROBE and standby is not None and not standby.ok:
        # Moving to a standby whose service is down too helps no one, and both failing at
        # once more likely means the prober's own network broke.
        return Problem(
            "detection",
            "detection degraded: the standby's service does not answer the same probe "
            f"either ({standby.describe()}); both failing at once more likely means the "
            "prober cannot reach the pair, so nothing moved",
        )
    return None


# The sweep leaves a primary stopped (or terminated) this recently to its EC2 event, which
# arrives within seconds; the sweep is for the events EventBridge did not deliver.
SWEEP_GRACE_SECONDS = 60.0
# EC2 runs its status checks every minute; the status-check alarm counts periods this long.
STATUS_CHECK_PERIOD_SECONDS = 60.0
# How late a pair's status-check alarm may fire after its periods (CloudWatch's lag): the
# sweep waits this much longer for a pair that has one, and is its backstop, not its rival.
ALARM_LAG_SECONDS = 60.0
# The flap limit counts automatic moves in any rolling window this long.
FLAP_WINDOW = timedelta(hours=1)
# The prober saves its last results every 10 s; older than this, they prove nothing.
PROBE_RESULT_MAX_AGE_SECONDS = 120.0


def recent_automatic_moves(record: PairRecord, now: datetime) -> tuple[datetime, ...]:
    """The pair's automatic moves within the flap window, oldest first."""
    return tuple(sorted(m for m in record.automatic_moves if now - m < FLAP_WINDOW))


def flap_limit_problem(pair: Pair, record: PairRecord, now: datetime) -> Problem | None:
    """Why one more automatic move would be one too many, if it would."""
    recent = recent_automatic_moves(record, now)
    if len(recent) < pair.max_automatic_moves:
        return None
    return Problem(
        FLAP_LIMIT,
        f"pair {pair.name!r} made {len(recent)} automatic moves in the last hour, its limit "
        f"(maxAutomaticMoves) is {pair.max_automatic_moves}: automation paused the pair, so "
        f"nothing moves by itself until an operator runs `eni-failover resume {pair.name}`",
    )


def failback_blockers(pair: Pair, record: PairRecord, now: datetime) -> list[str]:
    """Why the pair may not fail back by itself now, whatever the primary's health."""
    blockers = []
    if pair.failback is not FailbackPolicy.AUTO:
        blockers.append(f"pair {pair.name!r} fails back by hand (failback={pair.failback})")
    if record.paused_at is not None:
        blockers.append(f"automation of pair {pair.name!r} is paused")
    if record.drill_until is not None and now < record.drill_until:
        blockers.append(f"a drill window is open until {record.drill_until.isoformat()}")
    # Set by a manual move; cleared by `resume` (or a later automatic move).
    if record.manual_hold:
        blockers.append(
            "an operator moved the interface by hand; it stays until they fail back or "
            f"run `eni-failover resume {pair.name}`"
        )
    elif record.last_move_kind is None:
        blockers.append("what made the last move is not recorded")
    return blockers


@dataclass(frozen=True)
class FailbackWatch:
    """What the sweep concludes about a pair's failback: the window, and whether it is due."""

    due: bool
    reason: str
    # The new start of the healthy window (None: no window, or it restarts).
    healthy_since: datetime | None = None
    remaining_seconds: float | None = None


def failback_watch(
    pair: Pair,
    state: PairState,
    record: PairRecord,
    now: datetime,
    *,
    primary_probe: ProbeResult | None = None,
) -> FailbackWatch:
    """Has the failed-over primary been healthy for the whole hold-down?

    Healthy means running with status checks ok and, where the pair is probed at the
    instances' own addresses, the prober's last result for the primary answering and
    fresh. One observation short of that restarts the window.
    """
    if pair.failback is not FailbackPolicy.AUTO:
        return FailbackWatch(False, f"failback is {pair.failback}")
    if not failed_over(state):
        return FailbackWatch(False, "the pair is not failed over")
    blockers = failback_blockers(pair, record, now)
    if blockers:
        return FailbackWatch(False, "; ".join(blockers))
    waiting = forced_detach_wait(record, state.primary)
    if waiting:
        # No window yet: it opens at the first healthy look after the restart.
        return FailbackWatch(False, waiting)
    unhealthy = _primary_unhealthy(pair, state.primary, primary_probe, now)
    if unhealthy:
        return FailbackWatch(False, unhealthy)
    since = record.healthy_since or now
    held = (now - since).total_seconds()
    remaining = max(0.0, pair.failback_after_seconds - held)
    if remaining > 0:
        return FailbackWatch(
            False,
            f"the primary has been healthy for {held:.0f} s of {pair.failback_after_seconds} s",
            healthy_since=since,
            remaining_seconds=remaining,
        )
    probed = f"; its service answered ({primary_probe.describe()})" if primary_probe else ""
    return FailbackWatch(
        True,
        f"the primary {state.primary.describe()} has been healthy without interruption since "
        f"{since.isoformat()} ({held:.0f} s, the hold-down is {pair.failback_after_seconds} s)"
        f"{probed}",
        healthy_since=since,
        remaining_seconds=0.0,
    )


def failed_over(state: PairState) -> bool:
    """Every interface and address of the pair is on the standby."""
    standby = state.standby.instance_id
    return bool(state.interfaces or state.addresses) and (
        all(i.attached_to(standby) for i in state.interfaces)
        and all(a.held_by(standby) for a in state.addresses)
    )


def forced_detach_wait(record: PairRecord, primary: InstanceView) -> str | None:
    """Why failback must wait for the primary to be stopped and started, if it must.

    After a forced detach EC2 may refuse another interface at that device index "without
    first stopping and starting the instance" (DetachNetworkInterface). The evidence is a
    LaunchTime later than the one the primary had at the forced detach (both from EC2's
    clock), or, where that was not seen, later than the detach itself.
    """
    if record.forced_detach_at is None or record.forced_detach_instance_id != primary.instance_id:
        return None
    before = record.forced_detach_launch_time or record.forced_detach_at
    launched = primary.launch_time
    if launched is not None and launched > before:
        return None
    return (
        f"the interface was forcibly detached from the primary {primary.instance_id} at "
        f"{record.forced_detach_at.isoformat()}, and EC2 may refuse to attach it there again "
        "until the instance has been stopped and started: failing back waits for that "
        f"(its LaunchTime, {launched.isoformat() if launched else 'unknown'}, must be later "
        f"than {before.isoformat()}); stop and start {primary.instance_id}, then fail back"
    )


def _failback_target_checks(primary: InstanceView) -> list[Problem]:
    """A running primary whose status checks are not ok yet (initializing, insufficient
    data) is not known to serve: the interface stays where it serves now."""
    if not primary.running or primary.impaired or primary.healthy:
        return []  # not running or impaired: target_problems says so
    return [
        Problem(
            "target",
            f"the primary {primary.describe()} is running but its status checks are not ok "
            "yet; failing back waits until they are",
        )
    ]


def _primary_unhealthy(
    pair: Pair, primary: InstanceView, probe: ProbeResult | None, now: datetime
) -> str | None:
    if not primary.healthy:
        return f"the primary {primary.describe()} is not healthy"
    spec = pair.probe_spec
    if spec is None or spec.through_pair:
        return None  # nothing probes the primary's own address
    if probe is None:
        return "the prober has no result for the primary's own address"
    age = (now - probe.at).total_seconds()
    if age > PROBE_RESULT_MAX_AGE_SECONDS:
        return f"the prober's last result for the primary is {age:.0f} s old"
    if not probe.ok:
        return f"the primary's service does not answer the probe ({probe.describe()})"
    return None


@dataclass(frozen=True)
class FenceDecision:
    """Whether to fence the failed primary after a failover, and why (or why not)."""

    mode: FenceMode | None
    reason: str


def fence_decision(
    pair: Pair,
    trigger: Trigger,
    state: PairState,
    record: PairRecord,
    now: datetime,
    *,
    direction: Direction,
    operator_asked: bool = False,
) -> FenceDecision:
    """Fence only a half-alive primary after a failover; the target is never the standby.

    `state` is as observed before the move. Automatic: only a primary that is running but
    impaired, or whose service failed its probe. Manual: only when the operator asks
    (`--fence`). Never on a drill, nor on a primary that is stopped, terminated or gone.
    """
    mode = pair.fence
    if direction is not Direction.TO_STANDBY:
        return FenceDecision(None, "a failback fences nothing")
    if mode is FenceMode.NONE:
        return FenceDecision(None, "the pair's fence is none")
    if trigger.kind is TriggerKind.MANUAL and not operator_asked:
        return FenceDecision(None, "a manual failover fences only with --fence")
    if record.drill_until is not None and now < record.drill_until:
        return FenceDecision(None, "a drill never fences the primary")
    primary = state.primary
    if not primary.running:
        return FenceDecision(
            None, f"the primary {primary.describe()} is not running: nothing to fence"
        )
    if trigger.kind is not TriggerKind.MANUAL and not (
        primary.impaired or trigger.kind is TriggerKind.PROBE
    ):
        return FenceDecision(
            None, "the failover was caused neither by an impaired primary nor a failed probe"
        )
    cause = (
        "its service failed the probe"
        if trigger.kind is TriggerKind.PROBE
        else ("an impaired status check" if primary.impaired else "an operator's --fence")
    )
    return FenceDecision(mode, f"the primary {primary.instance_id} is running with {cause}")


def missed_failure(
    pair: Pair, state: PairState, now: datetime, *, evaluation_periods: int
) -> str | None:
    """What the sweep should act on: a failed primary still holding a floating interface.

    How long a failure is left alone depends on what it is (`sweep_grace_seconds`): a stop
    or termination for SWEEP_GRACE_SECONDS, to its EC2 event; an impaired status check for
    `evaluation_periods` minutes since EC2's ImpairedSince, the tolerance the status-check
    alarm gives it, so a check that fails for less never moves the interface, whether an
    alarm or the sweep looks. A pair with an alarm of its own (a configured pair) is left to
    it for ALARM_LAG_SECONDS more, so the sweep acts only when the alarm did not; a tagged
    pair has no alarm, and the sweep is what notices. A failure EC2 gives no time for is
    acted on at once.
    """
    primary = state.primary
    holding = [
        *(i.interface_id for i in state.interfaces if i.attached_to(primary.instance_id)),
        # A route to a stopped primary reads "blackhole": it serves no one, but it is still
        # the primary's, and only a failover points it at the standby.
        *(a.key for a in state.addresses if a.instance_id == primary.instance_id),
    ]
    if not holding or not primary.exists or (primary.running and not primary.impaired):
        return None
    since = primary.failed_since
    grace = sweep_grace_seconds(pair, primary, evaluation_periods=evaluation_periods)
    if since is not None and (now - since).total_seconds() < grace:
        return None
    return f"the primary {primary.describe()} still holds {', '.join(holding)}"


def sweep_grace_seconds(pair: Pair, primary: InstanceView, *, evaluation_periods: int) -> float:
    """How long after it began the sweep leaves the primary's failure to its trigger."""
    if not primary.running:
        return SWEEP_GRACE_SECONDS
    # Impaired: the status-check alarm's tolerance, and its lag where the pair has one.
    tolerance = evaluation_periods * STATUS_CHECK_PERIOD_SECONDS
    return tolerance + ALARM_LAG_SECONDS if pair.alarm_name else tolerance


def _staleness(trigger: Trigger, record: PairRecord, now: datetime, tuning: Tuning) -> str | None:
    age = (now - trigger.occurred_at).total_seconds()
    if age < -MAX_CLOCK_SKEW_SECONDS:
        # CloudWatch and EC2 stamp their own messages: a time well ahead of ours is a
        # wrong clock or a message that is not theirs, and it would never age out.
        return (
            f"the trigger is dated {-age:.0f} s in the future "
            f"({trigger.occurred_at.isoformat()}); a clock is wrong or the message is "
            "not genuine"
        )
    if age > tuning.max_trigger_age_seconds:
        return (
            f"the trigger is stale: it happened {age:.0f} s ago, more than the "
            f"{tuning.max_trigger_age_seconds:.0f} s a trigger may be old"
        )
    if (
        record.last_move_at is not None
        and record.last_move_trigger_id != trigger.trigger_id
        and trigger.occurred_at <= record.last_move_at
    ):
        return (
            f"the trigger is stale: it happened at {trigger.occurred_at.isoformat()}, before "
            f"the pair last moved ({record.last_move_at.isoformat()}); acting on it could "
            "undo that move"
        )
    return None


def interface_problems(pair: Pair, state: PairState, target: InstanceView) -> list[Problem]:
    problems: list[str] = []
    members = {pair.primary_instance_id, pair.standby_instance_id}
    for interface in state.interfaces:
        if not interface.exists:
            problems.append(f"interface {interface.interface_id} does not exist")
            continue
        attachment = interface.attachment
        if attachment is not None and attachment.slot == (0, 0):
            problems.append(
                f"interface {interface.interface_id} is the primary interface (device index 0) "
                f"of {attachment.instance_id}; EC2 never detaches a primary interface"
            )
        elif attachment is not None and attachment.instance_id not in members:
            problems.append(
                f"interface {interface.interface_id} is attached to {attachment.instance_id}, "
                f"which is in neither side of pair {pair.name!r}"
            )
        if (
            target.availability_zone
            and interface.availability_zone
            and interface.availability_zone != target.availability_zone
        ):
            problems.append(
                f"interface {interface.interface_id} is in {interface.availability_zone} but "
                f"{target.instance_id} is in {target.availability_zone}; an interface can only "
                "move within its Availability Zone"
            )
    return [Problem("interfaces", p) for p in problems]


def zone_problems(pair: Pair, state: PairState) -> list[Problem]:
    """Instances in different zones: only the kinds that cross zones can follow them (an
    interface's own zone is checked with it, interface_problems)."""
    primary, standby = state.primary, state.standby
    if not (primary.availability_zone and standby.availability_zone) or (
        primary.availability_zone == standby.availability_zone
    ):
        return []
    stuck = [k.LABEL for k in KINDS if not k.CROSSES_ZONES and k.listed(pair)]
    if not stuck:
        return []
    crossing = " and ".join(k.LABEL.split(" (")[0] for k in KINDS if k.CROSSES_ZONES)
    return [
        Problem(
            "zones",
            f"the primary {primary.instance_id} is in {primary.availability_zone} and the "
            f"standby {standby.instance_id} in {standby.availability_zone}: across zones a "
            f"pair may hold only {crossing}, and this one lists {' and '.join(stuck)}, "
            "which cannot leave their subnet",
        )
    ]


def address_problems(pair: Pair, state: PairState, target: InstanceView) -> list[Problem]:
    """What forbids moving the pair's routes, Elastic IPs and secondary IPs to the target:
    each must exist and be on one side of the pair, or on nothing (a blackhole route, an
    address the terminated primary let go of: moving those can only restore service), and
    its kind's own rules (kinds.*.problems)."""
    if not state.addresses:
        return []
    problems: list[str] = []
    members = {pair.primary_instance_id, pair.standby_instance_id}
    if target.running and target.primary_interface_id is None:
        problems.append(f"{target.instance_id} shows no primary interface to move addresses to")
    for address in state.addresses:
        if not address.exists:
            problems.append(
                f"{address.key} does not exist" + (f" ({address.detail})" if address.detail else "")
            )
            continue
        if _serves_elsewhere(address, members):
            where = address.instance_id or address.interface_id or address.detail
            problems.append(
                f"{address.key} is on {where}, which is in neither side of pair {pair.name!r}"
            )
            continue
        problems += kind_of(address).problems(address, target)
    return [Problem("addresses", p) for p in problems]


def _serves_elsewhere(address: AddressView, members: set[str]) -> bool:
    """In service for something outside the pair: moving it would take it from them."""
    if address.state in ("blackhole", "not associated", "not assigned", "reassigning"):
        return False
    return address.instance_id not in members


def index_conflicts(target: InstanceView, moves: tuple[PlannedMove, ...]) -> list[Problem]:
    """Moves whose (network card, device index) the target uses for another interface."""
    return [
        Problem(
            "device index",
            f"{target.instance_id} already uses "
            f"{describe_slot(m.device_index, m.network_card_index)} "
            f"(for {target.device_indexes[m.slot]}); the interface needs that index",
        )
        for m in moves
        if m.slot in target.device_indexes and target.device_indexes[m.slot] != m.interface_id
    ]


def target_problems(target: InstanceView) -> list[Problem]:
    if not target.exists:
        reason = f"the target instance {target.instance_id} does not exist"
    elif not target.running:
        reason = f"the target instance {target.instance_id} is {target.state}, not running"
    elif target.impaired:
        reason = (
            f"the target instance {target.describe()} has an impaired status check; moving "
            "the interface there would not restore service"
        )
    else:
        return []
    return [Problem("target", reason)]
