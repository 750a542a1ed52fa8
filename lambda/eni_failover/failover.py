"""One trigger for one pair, from lease to notification: observe, decide, act, tell.

Every path through `handle` ends in exactly one published outcome, or in an error that
Lambda retries: raised before anything was decided (the pair was busy, DynamoDB refused the
lease), or because the outcome could not be published (the pair record keeps it, and the
retry tells it). A trigger whose outcome was told is never acted on or told again.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property, partial

from botocore.exceptions import BotoCoreError

from eni_failover import cloudwatch, decide, ec2, notify
from eni_failover.clients import AwsClients
from eni_failover.config import FenceMode, Pair, Settings
from eni_failover.discovery import DiscoveryCache
from eni_failover.errors import AwsCallFailed, FailoverIncomplete, PairBusy
from eni_failover.history import AUTOMATIC, History, HistoryEntry
from eni_failover.kinds import with_addresses
from eni_failover.kinds.mover import AddressesStopped, move_addresses
from eni_failover.observability import PairMetrics, logger
from eni_failover.observed import AddressView, InterfaceView, PairState
from eni_failover.outcome import FenceResult, Outcome, OutcomeKind
from eni_failover.pair_record import (
    HOLDER_CLI,
    Lease,
    LeaseHolder,
    PairRecord,
    PairRecords,
    process_alive,
    provably_gone,
)
from eni_failover.shared_looks import SharedLooks, observe_pair
from eni_failover.swap import MoveStopped, carry_out
from eni_failover.timeline import Clock, SystemClock, Timeline
from eni_failover.triggers import Trigger, TriggerKind

# Time kept back from the function's remaining time to publish the outcome and release
# the lease even when the move runs to its deadline.
RESERVE_SECONDS = 5.0
# How long a stop fence waits for the primary to be stopped before saying "stopping"
# (with SkipOsShutdown a stop takes seconds; the outcome is not held back for long).
FENCE_STOP_WAIT_SECONDS = 30.0


@dataclass
class Runtime:
    """Everything a handled trigger needs, built once per cold start."""

    settings: Settings
    clients: AwsClients
    clock: Clock = field(default_factory=SystemClock)
    pair_metrics: PairMetrics = field(default_factory=PairMetrics.from_environment)
    # Set when the CLI runs the function's code in its own process (the sandbox): the lease
    # then names that process, which Ctrl-C may stop mid-move (pair_record.LeaseHolder).
    local_run: LeaseHolder | None = None
    # This host, and whether a process of it lives: a lease left by a local run whose
    # process is gone is taken over at once (pair_record.provably_gone).
    this_host: str = field(default_factory=socket.gethostname)
    alive: Callable[[int], bool] = process_alive

    def lease_holder(self, request_id: str) -> LeaseHolder:
        """Who this invocation is, for the lease item."""
        if self.local_run is not None:
            return replace(self.local_run, request_id=request_id)
        return LeaseHolder(request_id=request_id)

    @cached_property
    def records(self) -> PairRecords:
        return PairRecords(self.clients.dynamodb, self.settings.state_table_name)

    @cached_property
    def discovered(self) -> DiscoveryCache | None:
        """The pairs tagged in EC2, when the stack discovers them; kept while warm."""
        if not self.settings.failover.discover_tags:
            return None
        failover = self.settings.failover
        return DiscoveryCache.from_ec2(
            self.clients.ec2,
            configured=failover.pairs,
            # The prober judges the same ports: a tagged probe both see, or neither.
            probe_ports=failover.ports_for_tagged_probes,
            clock=self.clock,
        )

    def all_pairs(
        self, *, instance_id: str | None = None, pair_name: str | None = None
    ) -> tuple[Pair, ...]:
        """The configured pairs, then the discovered ones. Asking about an instance or a
        pair no discovered pair has looks in EC2 again (rate-limited), so a pair tagged a
        minute ago is found on its first trigger."""
        configured = self.settings.failover.pairs
        if self.discovered is None:
            return configured
        known = {p.name for p in configured}
        known_instances = {
            i for p in configured for i in (p.primary_instance_id, p.standby_instance_id)
        }
        # A question a configured pair answers needs no fresh look at the tags.
        if instance_id in known_instances:
            instance_id = None
        if pair_name in known:
            pair_name = None
        asked = instance_id is not None or pair_name is not None
        try:
            cached = (
                self.discovered.about(instance_id=instance_id, pair_name=pair_name)
                if asked
                else self.discovered.current()
            )
        except AwsCallFailed as error:
            # The sandbox's first read of the tags failed (a zone's service disruption
            # fails every describe by tag). A question only the tags can answer fails, and
            # Lambda retries it; the configured pairs never wait on the tags.
            if asked:
                raise
            logger.warning("tagged pairs unknown: the tags could not be read", error=str(error))
            return configured
        if cached.stale:
            logger.warning("tagged pairs may be out of date", note=cached.note())
        return configured + tuple(p for p in cached.discovery.pairs if p.name not in known)

    @cached_property
    def history(self) -> History:
        return History(
            self.clients.dynamodb,
            self.settings.state_table_name,
            retention_days=self.settings.history_retention_days,
        )


@dataclass(frozen=True)
class Request:
    pair: Pair
    trigger: Trigger
    direction: decide.Direction = decide.Direction.TO_STANDBY
    force: bool = False
    # The operator asks to fence the primary after a manual failover (`--fence`).
    fence: bool = False
    # The operator who asked, for a manual request; None for an automatic trigger.
    requested_by: str | None = None


def handle(
    runtime: Runtime,
    request: Request,
    *,
    owner: str,
    remaining_seconds: float,
    holder: LeaseHolder | None = None,
) -> Outcome:
    """Handle one trigger for its pair; raises only retryable errors (see module doc).

    `holder`: who this invocation is, recorded in the lease (the function by default)."""
    # The move registers what it watches while it takes the lease: the registration asks
    # only EC2 for the interfaces' zone (which never changes) and writes to the shared
    # looks, so it need not wait for the lease, and the decision's first look, which must,
    # is then one round trip after it (shared_looks).
    looks = _Looks.register(runtime, request.pair, remaining_seconds)
    try:
        record, taken_from = _take_lease(
            runtime,
            request,
            owner=owner,
            holder=holder or LeaseHolder(),
            remaining_seconds=remaining_seconds,
        )
    except BaseException:
        looks.leave()
        raise
    attempt = _Attempt(runtime, request, record, remaining_seconds, looks)
    if taken_from is not None:
        attempt.notes.append(
            f"The pair's lease was taken over from {taken_from.holder.describe()}, whose "
            "process is gone: it was interrupted or killed before it could finish"
            + (" its move; this finishes it." if record.journal_trigger_id else ".")
        )
    told = _told_outcome(record, request.trigger)
    if told is not None:
        looks.leave()
        # Here again only because its idempotency record never completed: a second move
        # or a second notification is all this delivery could add.
        runtime.records.give_back(request.pair.name, owner=owner)
        return attempt.replay(told, record)
    try:
        outcome = attempt.decide_and_act(owner)
    except AwsCallFailed as error:
        # EC2 or DynamoDB failed beyond botocore's retries; say so, and where things are.
        outcome = attempt.finish(
            OutcomeKind.FAILED,
            _best_effort_interfaces(runtime, request.pair),
            error=str(error),
        )
    if _told_already(record, request.trigger, outcome):
        # A retry that failed before acting, exactly as this trigger's last attempt did (a
        # zone still disrupted, say): the operators have that notification; a copy a minute
        # tells them nothing. It still fails, so Lambda retries, then dead-letters it.
        logger.warning("same failure as the last attempt, already told", pair=request.pair.name)
    else:
        try:
            notify.publish_outcome(
                runtime.clients.sns, runtime.settings.notification_topic_arn, outcome
            )
        except AwsCallFailed:
            # Nobody was told. Record the outcome all the same (the retry finds the move
            # made and tells it as this trigger's own), and fail, so that Lambda retries.
            _release(runtime, request, outcome, record, owner=owner, told=False)
            raise
    try:
        _release(runtime, request, outcome, record, owner=owner, told=True)
    except AwsCallFailed as error:
        # The operators have the outcome; failing now would have Lambda's retry tell it
        # again. The lease expires by itself, and the next trigger decides from EC2.
        logger.error("outcome published, not recorded", pair=request.pair.name, error=str(error))
    _record_history(runtime, request, outcome)
    if outcome.kind is OutcomeKind.FAILED:
        # Published already; raising makes Lambda retry, and the retry resumes the move.
        raise FailoverIncomplete(f"pair {request.pair.name}: {outcome.error}")
    return outcome


def _told_already(record: PairRecord, trigger: Trigger, outcome: Outcome) -> bool:
    """This attempt failed before it did anything, exactly as this trigger's last attempt
    was told it had (an attempt that acted or resumed a move is always told)."""
    return (
        outcome.kind is OutcomeKind.FAILED
        and not outcome.steps
        and not outcome.resumed
        and record.last_told_trigger_id == trigger.trigger_id
        and record.last_outcome == OutcomeKind.FAILED.value
        and record.last_outcome_summary == outcome.summary()
    )


def _told_outcome(record: PairRecord, trigger: Trigger) -> OutcomeKind | None:
    """The outcome this trigger was given and told, if final (a failure is retried)."""
    if record.last_told_trigger_id != trigger.trigger_id or record.last_outcome is None:
        return None
    kind = OutcomeKind(record.last_outcome)
    return None if kind is OutcomeKind.FAILED else kind


def _release(
    runtime: Runtime,
    request: Request,
    outcome: Outcome,
    record: PairRecord,
    *,
    owner: str,
    told: bool,
) -> None:
    now = runtime.clock.now()
    kind = request.trigger.kind
    moved = outcome.kind is OutcomeKind.SWAPPED
    automatic = kind is not TriggerKind.MANUAL
    # The flap limit's memory: this move, if automatic, and those of the last hour.
    recent = decide.recent_automatic_moves(record, now)
    runtime.records.release(
        request.pair.name,
        owner=owner,
        trigger_id=request.trigger.trigger_id,
        outcome=outcome.kind.value,
        summary=outcome.summary(),
        now=now,
        moved=moved,
        move_finished=outcome.kind is not OutcomeKind.FAILED,
        told=told,
        direction=outcome.direction,
        move_kind=kind.value,
        manual=not automatic,
        automatic_moves=(*recent, now) if moved and automatic else recent,
    )


def _record_history(runtime: Runtime, request: Request, outcome: Outcome) -> None:
    """One history entry per published outcome. The operators have the outcome already: a
    failure here is logged, and neither fails the trigger nor has it told again."""
    entry = HistoryEntry(
        at=outcome.finished_at,
        pair=outcome.pair,
        action=outcome.direction,
        trigger=outcome.trigger.describe(),
        outcome=outcome.kind.value,
        by=request.requested_by or AUTOMATIC,
        summary=outcome.summary(),
        swap_seconds=outcome.swap_seconds,
        entry_id=outcome.trigger.trigger_id,
        addresses=tuple(a.describe() for a in outcome.addresses),
    )
    try:
        runtime.history.record(entry)
    except (AwsCallFailed, BotoCoreError) as error:
        logger.error("outcome published, history entry not written", error=str(error))


def _take_lease(
    runtime: Runtime,
    request: Request,
    *,
    owner: str,
    holder: LeaseHolder,
    remaining_seconds: float,
) -> tuple[PairRecord, Lease | None]:
    """The pair's record with the lease taken, and the lease taken over, if it was one
    whose holder is provably gone; PairBusy (saying who holds it) if it stays held."""
    tuning = runtime.settings.failover.tuning
    clock = runtime.clock
    pair_name = request.pair.name
    # Wait only as long as still leaves time for a whole move afterwards.
    wait = min(
        tuning.lease_wait_seconds,
        max(0.0, remaining_seconds - RESERVE_SECONDS - tuning.swap_deadline_seconds),
    )
    give_up = clock.monotonic() + wait
    # Expires when this invocation would have been killed, so a dead one frees it.
    take = partial(
        runtime.records.try_acquire,
        pair_name,
        owner=owner,
        holder=holder,
        hold_seconds=remaining_seconds + RESERVE_SECONDS,
    )
    while True:
        record = take(now=clock.now())
        if record is not None:
            return record, None
        held = runtime.records.read(pair_name).lease
        if held is not None and provably_gone(
            held.holder, this_host=runtime.this_host, alive=runtime.alive
        ):
            # Taken from that owner only: had it changed hands since, the write fails.
            record = take(now=clock.now(), take_from=held.owner)
            if record is not None:
                logger.info("lease taken over", pair=pair_name, lease=held.describe())
                return record, held
        if clock.monotonic() + tuning.poll_interval_seconds > give_up:
            raise PairBusy(
                busy_message(pair_name, held, manual=request.trigger.kind is TriggerKind.MANUAL)
            )
        clock.sleep(tuning.poll_interval_seconds)


def busy_message(pair_name: str, held: Lease | None, *, manual: bool) -> str:
    """Who holds the pair, since and until when, and what the one who asked can do (the
    CLI says "nothing moved" before it)."""
    who = held.describe() if held is not None else "another invocation (it has just let go)"
    text = f"pair {pair_name} is being moved by {who}"
    if not manual:
        return text + "; this trigger will be retried and decided from the state then"
    text += "; a request from the CLI is never retried"
    if held is not None and held.holder.kind == HOLDER_CLI:
        # A live local run (or one of another host, or a pid now reused): never taken over.
        until = held.expires_at.isoformat(timespec="seconds")
        return (
            f"{text}. If that run is still going, let it finish; if it was stopped, run this "
            "command again once its process has exited (on the same host it then takes the "
            f"lease over at once), or after {until}, when the lease expires"
        )
    return (
        f"{text}. Run it again when that move has ended: `eni-failover status {pair_name}` "
        "shows the lease while it is held; the function lets go when it ends, and the lease "
        "expires by itself if the function was killed"
    )


@dataclass
class _Looks:
    """A move's looks at EC2, shared with concurrent moves (shared_looks), and its
    registration with them, under way in the background until `joined`."""

    shared: SharedLooks
    registering: Future[None] | None

    @classmethod
    def register(cls, runtime: Runtime, pair: Pair, remaining_seconds: float) -> _Looks:
        shared = SharedLooks(
            runtime.clients.ec2,
            runtime.clients.dynamodb,
            runtime.settings.state_table_name,
            clock=runtime.clock,
            watcher=f"{pair.name}#{uuid.uuid4().hex[:12]}",
        )
        # A pair of addresses only polls no interface, and its one look at the instances
        # gains nothing from sharing.
        if not pair.interface_ids:
            return cls(shared, None)
        # Until this invocation would have been killed: a dead one stops being watched.
        until = runtime.clock.now().timestamp() + remaining_seconds + RESERVE_SECONDS
        watch = partial(
            shared.watch,
            pair.interface_ids,
            (pair.primary_instance_id, pair.standby_instance_id),
            until=until,
        )
        return cls(shared, ec2.in_background(watch))

    def joined(self) -> SharedLooks:
        """The looks once registered; a failed describe of the zone raises here, as the
        move's first look failing would."""
        registering, self.registering = self.registering, None
        if registering is not None:
            registering.result()
        return self.shared

    def leave(self) -> None:
        """Stop watching (after the registration, whatever it came to)."""
        with suppress(Exception):
            self.joined()
        self.shared.stop_watching()


class _Attempt:
    def __init__(
        self,
        runtime: Runtime,
        request: Request,
        record: PairRecord,
        remaining_seconds: float,
        looks: _Looks,
    ) -> None:
        self.runtime = runtime
        self.request = request
        self.record = record
        self.remaining_seconds = remaining_seconds
        self.started_at = runtime.clock.now()
        self.started_monotonic = runtime.clock.monotonic()
        self.timeline = Timeline(runtime.clock)
        # The pair's routes, Elastic IPs and secondary IPs as last seen: every outcome says
        # where they are.
        self.addresses: tuple[AddressView, ...] = ()
        # What every outcome of this attempt adds (an instance EC2 would not describe).
        self.notes: list[str] = []
        # Many pairs failing at once share their looks at EC2 (shared_looks).
        self.registration = looks
        self.looks = looks.shared

    def decide_and_act(self, owner: str) -> Outcome:
        try:
            self.registration.joined()
            return self._decide_and_act(owner)
        finally:
            self.registration.leave()

    def _decide_and_act(self, owner: str) -> Outcome:
        runtime, request = self.runtime, self.request
        tuning = runtime.settings.failover.tuning
        state = with_addresses(runtime.clients.ec2, request.pair, self._observe())
        self.addresses = state.addresses
        trigger = request.trigger
        # A service alarm is believed only while it still says ALARM: look, do not assume.
        alarm_now = (
            cloudwatch.alarm_state(runtime.clients.cloudwatch, trigger.source)
            if trigger.kind is TriggerKind.SERVICE_ALARM
            else None
        )
        plan = decide.plan(
            pair=request.pair,
            trigger=trigger,
            state=state,
            record=self.record,
            now=self.started_at,
            tuning=tuning,
            direction=request.direction,
            force=request.force,
            alarm_now=alarm_now,
            probe_failures_needed=runtime.settings.failover.probing.failures,
        )
        if isinstance(plan, decide.Stranded):
            return self.finish(
                OutcomeKind.FAILED, state.interfaces, reasons=plan.reasons, error=plan.error
            )
        if isinstance(plan, decide.Refuse):
            paused = self._pause_on_flap_limit(plan)
            return self.finish(
                OutcomeKind.REFUSED,
                state.interfaces,
                reasons=plan.reasons,
                automation_paused=paused,
            )
        if isinstance(plan, decide.AlreadyThere):
            if plan.moved_by_this_trigger:
                # A retry after the move finished but before its outcome was published.
                return self.finish(
                    OutcomeKind.SWAPPED,
                    state.interfaces,
                    notes=("An earlier attempt of this trigger made the move; this confirms it.",),
                )
            return self.finish(OutcomeKind.ALREADY_IN_PLACE, state.interfaces)

        restored: FenceResult | None = None
        if request.direction is decide.Direction.TO_PRIMARY and self.record.fence_mode:
            # An isolated primary gets its own groups back before it takes the interface.
            restored = self._undo_fence()
            if restored is not None and not restored.done:
                return self.finish(
                    OutcomeKind.FAILED,
                    state.interfaces,
                    error=f"the primary's security groups could not be restored: "
                    f"{restored.detail}; nothing moved",
                    fence=restored,
                )
        runtime.records.write_journal(
            request.pair.name,
            owner=owner,
            trigger_id=request.trigger.trigger_id,
            moves=plan.moves,
            addresses=plan.addresses,
        )
        budget = min(tuning.swap_deadline_seconds, self.remaining_seconds - RESERVE_SECONDS)
        deadline = runtime.clock.monotonic() + max(budget, tuning.poll_interval_seconds)
        # The addresses first: one call each, they serve again in a second or two, while an
        # interface takes its detach and attach; and a refused address does not hold the
        # interfaces back (both are tried, and the outcome says which did not arrive).
        stopped_addresses = self._move_addresses(plan, state, deadline)
        if not plan.moves:
            self._after_move(state, forced=False, arrived=stopped_addresses is None)
            return self._finish_move(plan, state, state.interfaces, stopped_addresses, restored)
        observed = {i.interface_id: i for i in state.interfaces}
        try:
            done = carry_out(
                runtime.clients.ec2,
                plan,
                observed,
                tuning=tuning,
                budget_seconds=max(
                    deadline - runtime.clock.monotonic(), tuning.poll_interval_seconds
                ),
                timeline=self.timeline,
                looks=self.looks,
            )
        except MoveStopped as stopped:
            self._after_move(state, forced=stopped.forced, arrived=False)
            left = tuple(stopped.left.get(i.interface_id, i) for i in state.interfaces)
            error = stopped.reason + (f"; {stopped_addresses}" if stopped_addresses else "")
            return self.finish(
                OutcomeKind.FAILED,
                left,
                error=error,
                resumed=plan.resuming,
                forced_detach=plan.force_detach,
                fence=restored,
            )
        now_on = tuple(done.interfaces.get(i.interface_id, i) for i in state.interfaces)
        self._after_move(state, forced=done.forced, arrived=not stopped_addresses)
        return self._finish_move(
            plan, state, now_on, stopped_addresses, restored, forced=done.forced
        )

    def _observe(self) -> PairState:
        """The pair as EC2 shows it now. A source whose zone is in a service disruption
        (EC2 would not describe it) is read from its interfaces, for a pair of routes and
        Elastic IPs, which are regional and move away from the zone: the outcome says so."""
        pair = self.request.pair
        try:
            return observe_pair(self.looks, pair, now=self.started_at)
        except AwsCallFailed as error:
            source, _ = self.request.direction.ends(pair)
            state = ec2.observe_pair_beyond_a_disrupted_zone(
                self.runtime.clients.ec2,
                pair,
                unreachable_id=source,
                failed=error,
                now=self.started_at,
            )
            unseen = state.primary if source == pair.primary_instance_id else state.standby
            self.notes.append(
                f"EC2 would not describe {source} in {unseen.availability_zone or 'its zone'} "
                f"({error.code}, as a zone in a service disruption answers): it was read "
                "from its interfaces, and the move decided from what they show."
            )
        return state

    def _move_addresses(self, plan: decide.Move, state: PairState, deadline: float) -> str | None:
        """Move the planned routes, Elastic IPs and secondary IPs; why they did not all
        arrive, or None when they did (or there were none)."""
        if not plan.addresses:
            return None
        runtime, request = self.runtime, self.request
        source, target = request.direction.ends(request.pair)
        self.timeline.mark(
            "decided", f"{', '.join(a.key for a in plan.addresses)} from {source} to {target}"
        )
        instances = {
            state.primary.instance_id: state.primary,
            state.standby.instance_id: state.standby,
        }
        try:
            moved = move_addresses(
                runtime.clients.ec2,
                request.pair,
                plan.addresses,
                {a.key: a for a in state.addresses},
                instances=instances,
                target=instances[target],
                tuning=runtime.settings.failover.tuning,
                budget_seconds=max(
                    deadline - runtime.clock.monotonic(),
                    runtime.settings.failover.tuning.poll_interval_seconds,
                ),
                timeline=self.timeline,
            )
        except AddressesStopped as stopped:
            self.addresses = tuple(stopped.left.get(a.key, a) for a in state.addresses)
            return stopped.reason
        self.addresses = tuple(moved.get(a.key, a) for a in state.addresses)
        return None

    def _finish_move(
        self,
        plan: decide.Move,
        state: PairState,
        now_on: tuple[InterfaceView, ...],
        stopped_addresses: str | None,
        restored: FenceResult | None,
        *,
        forced: bool = False,
    ) -> Outcome:
        """The outcome of a move whose interfaces (if any) arrived."""
        if stopped_addresses is not None:
            return self.finish(
                OutcomeKind.FAILED,
                now_on,
                error=stopped_addresses,
                resumed=plan.resuming,
                forced_detach=forced,
                fence=restored,
            )
        return self.finish(
            OutcomeKind.SWAPPED,
            now_on,
            resumed=plan.resuming,
            forced_detach=forced,
            overridden=plan.overridden,
            fence=restored or self._fence(state, now_on),
        )

    def _after_move(self, before: PairState, *, forced: bool, arrived: bool) -> None:
        """What the pair must remember of a move: a forced detach from the primary (failback
        waits for its restart), that one is over once the interface is home, and that an
        automatic failback which did not arrive starts its hold-down afresh (so a refused
        attach is not tried again a minute later)."""
        pair, records = self.request.pair, self.runtime.records
        to_primary = self.request.direction is decide.Direction.TO_PRIMARY
        if forced and not to_primary:
            records.record_forced_detach(
                pair.name,
                instance_id=pair.primary_instance_id,
                at=self.runtime.clock.now(),
                launch_time=before.primary.launch_time,
            )
        elif arrived and to_primary and self.record.forced_detach_at is not None:
            records.clear_forced_detach(pair.name)
        if not arrived and self.request.trigger.kind is TriggerKind.FAILBACK:
            records.set_healthy_since(pair.name, None)

    def _pause_on_flap_limit(self, plan: decide.Refuse) -> bool:
        """Past the flap limit, automation pauses the pair (the flag `pause` sets)."""
        if not any(p.check == decide.FLAP_LIMIT for p in plan.problems):
            return False
        limit = self.request.pair.max_automatic_moves
        self.runtime.records.set_paused(
            self.request.pair.name,
            by=f"automation: flap limit ({limit} automatic moves in an hour)",
            now=self.runtime.clock.now(),
        )
        logger.warning("flap limit reached; pair paused", pair=self.request.pair.name)
        return True

    def _fence(
        self, before: PairState, interfaces: tuple[InterfaceView, ...]
    ) -> FenceResult | None:
        """Fence the failed primary, once, if the pair and the failure call for it."""
        pair, request = self.request.pair, self.request
        decision = decide.fence_decision(
            pair,
            request.trigger,
            before,
            self.record,
            self.started_at,
            direction=request.direction,
            operator_asked=request.fence,
        )
        if decision.mode is None:
            logger.info("no fence", pair=pair.name, reason=decision.reason)
            return None
        # Never the standby: the fence names the primary, and only once the interface is
        # attached on the standby (the move's own check, made again on what it left).
        primary, standby = pair.primary_instance_id, pair.standby_instance_id
        if not all(
            i.attachment is not None
            and i.attachment.instance_id == standby
            and i.attachment.status == "attached"
            for i in interfaces
        ) or not all(a.held_by(standby) for a in self.addresses):
            return FenceResult(
                decision.mode.value,
                primary,
                done=False,
                detail="not fenced: not every interface and address is on the standby yet",
            )
        try:
            if decision.mode is FenceMode.STOP:
                return self._stop(primary, decision.reason)
            detail = self._isolate(primary, decision.reason)
        except AwsCallFailed as error:
            # Reported in the outcome, never retried: a second fence would act on a later
            # state of the primary that nobody has looked at.
            logger.error("fence failed", pair=pair.name, error=str(error))
            return FenceResult(decision.mode.value, primary, done=False, detail=str(error))
        logger.warning("primary fenced", pair=pair.name, mode=decision.mode.value)
        return FenceResult(decision.mode.value, primary, done=True, detail=detail)

    def _stop(self, primary: str, reason: str) -> FenceResult:
        """Stop the primary; the fence is done only once EC2 shows it stopped.

        "stopping" still runs the guest's last moments (and, without SkipOsShutdown, its
        whole shutdown): it is waited for within the invocation's time, and reported as it
        is when the time runs out.
        """
        pair, clock = self.request.pair, self.runtime.clock
        answer = ec2.stop_instance(self.runtime.clients.ec2, primary)
        self.runtime.records.record_fence(
            pair.name, mode="stop", instance_id=primary, at=clock.now()
        )
        how = (
            "StopInstances (Force, SkipOsShutdown)"
            if answer.skipped_os_shutdown
            else "StopInstances (Force; this runtime's botocore does not know SkipOsShutdown, "
            "so EC2 first attempts a graceful OS shutdown)"
        )
        state, waited = self._wait_until_stopped(primary, answer.state)
        if state == "stopped":
            logger.warning("primary fenced", pair=pair.name, mode="stop")
            return FenceResult(
                "stop", primary, done=True, detail=f"{reason}; {how}; {primary} is stopped"
            )
        logger.warning("primary still stopping", pair=pair.name, state=state)
        return FenceResult(
            "stop",
            primary,
            done=False,
            pending=True,
            detail=f"{reason}; {how}; {primary} is still {state} after {waited:.0f} s, so it "
            f"is not fenced until EC2 shows it stopped (`eni-failover status {pair.name}`)",
        )

    def _wait_until_stopped(self, instance_id: str, state: str) -> tuple[str, float]:
        """Poll the primary's state until stopped, for at most FENCE_STOP_WAIT_SECONDS and
        never into the time kept to publish; (the last state seen, seconds waited)."""
        clock, tuning = self.runtime.clock, self.runtime.settings.failover.tuning
        started = clock.monotonic()
        left = self.remaining_seconds - (started - self.started_monotonic) - RESERVE_SECONDS
        give_up = started + min(FENCE_STOP_WAIT_SECONDS, left)
        while state != "stopped" and clock.monotonic() + tuning.poll_interval_seconds <= give_up:
            clock.sleep(tuning.poll_interval_seconds)
            try:
                state = ec2.instance_state(self.runtime.clients.ec2, instance_id)
            except AwsCallFailed as error:
                # The stop was asked; only the look failed. Say what was last seen.
                logger.warning("primary state unknown after the stop", error=str(error))
                break
        return state, clock.monotonic() - started

    def _isolate(self, primary: str, reason: str) -> str:
        """Quarantine every interface still attached to the primary, one by one.

        Per interface (ModifyNetworkInterfaceAttribute): ModifyInstanceAttribute Groups
        fails on an instance with more than one interface. Each one's groups are remembered
        before it is changed, so failback gives each its own back.
        """
        pair = self.request.pair
        quarantine = pair.quarantine_group_id
        if not quarantine:
            raise AwsCallFailed(
                "ModifyNetworkInterfaceAttribute",
                "NoQuarantineGroup",
                f"pair {pair.name} has fence=isolate but no quarantine security group; "
                "deploy the stack with fence=isolate and vpcId",
            )
        client = self.runtime.clients.ec2
        found = ec2.interface_groups(client, primary)
        if not found:
            raise AwsCallFailed(
                "DescribeNetworkInterfaces",
                "NoInterfaces",
                f"EC2 shows no interface attached to {primary}; nothing was isolated",
            )
        to_change = {i: groups for i, groups in found.items() if groups != (quarantine,)}
        if not to_change:
            return f"{reason}; {', '.join(found)} already had only the quarantine group"
        # An earlier attempt's memory wins for an interface it already quarantined.
        remembered = dict(self.record.isolated_interfaces) | to_change
        self.runtime.records.record_fence(
            pair.name,
            mode="isolate",
            instance_id=primary,
            at=self.runtime.clock.now(),
            isolated=remembered,
        )
        for interface_id in to_change:
            ec2.replace_interface_groups(client, interface_id, (quarantine,))
        changed = "; ".join(f"{i} ({', '.join(g) or 'no group'})" for i, g in to_change.items())
        return (
            f"{reason}; the groups of {changed} were replaced by the quarantine group "
            f"{quarantine}. Tracked connections are not cut by a group change: they live "
            "until they time out (fence=stop ends them)"
        )

    def _undo_fence(self) -> FenceResult | None:
        """Before a failback: give each isolated interface its groups back, forget the fence."""
        record, pair = self.record, self.request.pair
        primary = record.fenced_instance_id or pair.primary_instance_id
        if not record.isolated:
            self.runtime.records.clear_fence(pair.name)
            return None
        restored = []
        try:
            for interface_id, groups in record.isolated_interfaces:
                ec2.replace_interface_groups(self.runtime.clients.ec2, interface_id, groups)
                restored.append(f"{interface_id} has {', '.join(groups)} again")
        except AwsCallFailed as error:
            done = f" ({'; '.join(restored)})" if restored else ""
            return FenceResult("restore", primary, done=False, detail=f"{error}{done}")
        self.runtime.records.clear_fence(pair.name)
        return FenceResult("restore", primary, done=True, detail="; ".join(restored))

    def replay(self, kind: OutcomeKind, record: PairRecord) -> Outcome:
        """The answer this trigger was given and told, with where the interfaces are now."""
        told_at = record.last_outcome_at.isoformat() if record.last_outcome_at else "?"
        return self.finish(
            kind,
            _best_effort_interfaces(self.runtime, self.request.pair),
            notes=(
                f"This trigger was handled already, and its outcome told at {told_at}: "
                f"{record.last_outcome_summary} Nothing was done or told again.",
            ),
        )

    def finish(
        self,
        kind: OutcomeKind,
        interfaces: tuple[InterfaceView, ...],
        *,
        reasons: tuple[str, ...] = (),
        error: str | None = None,
        resumed: bool = False,
        forced_detach: bool = False,
        overridden: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
        fence: FenceResult | None = None,
        automation_paused: bool = False,
    ) -> Outcome:
        pair = self.request.pair
        source, target = self.request.direction.ends(pair)
        finished_at: datetime = self.runtime.clock.now()
        return Outcome(
            kind=kind,
            pair=pair.name,
            direction=self.request.direction.value,
            trigger=self.request.trigger,
            from_instance_id=source,
            to_instance_id=target,
            interfaces=interfaces,
            addresses=self.addresses,
            started_at=self.started_at,
            finished_at=finished_at,
            reasons=reasons,
            error=error,
            steps=tuple(self.timeline.steps),
            resumed=resumed,
            forced_detach=forced_detach,
            overridden=overridden,
            notes=(*self.notes, *notes),
            fence=fence,
            automation_paused=automation_paused,
        )


def _best_effort_interfaces(runtime: Runtime, pair: Pair) -> tuple[InterfaceView, ...]:
    """Where the interfaces are, for a failure report; unknown if EC2 will not say."""
    try:
        found = ec2.describe_interfaces(runtime.clients.ec2, pair.interface_ids)
    except AwsCallFailed:
        return tuple(
            InterfaceView(interface_id=i, exists=True, status="unknown (EC2 did not answer)")
            for i in pair.interface_ids
        )
    return tuple(found[i] for i in pair.interface_ids)
