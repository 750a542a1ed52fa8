"""Requests from operators (the CLI) and the daily schedule, invoked directly on the function.

Manual moves go through the same lease, decision, swap and notification as automatic ones;
the only differences are that they are never stale and that --force may skip the checks
about the source's health (see decide.plan).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from eni_failover import decide, kinds, notify, readiness
from eni_failover.cloudwatch import METRIC_READINESS_READY
from eni_failover.config import FailbackPolicy, Pair
from eni_failover.contract import ACTIONS, REQUEST_KEY, OperatorRequest
from eni_failover.errors import AwsCallFailed, FailoverError, InvalidRequest
from eni_failover.failover import Request, Runtime
from eni_failover.observability import logger, metrics
from eni_failover.pair_record import PairRecord
from eni_failover.probe import ProbeResult
from eni_failover.prober import ProberLease, saved_result
from eni_failover.triggers import (
    SWEEP_ID_PREFIX,
    Trigger,
    TriggerKind,
    missed_failure_message,
)

if TYPE_CHECKING:
    from eni_failover.observed import PairState
    from eni_failover.timeline import Clock

# A readiness check's DryRuns draw on the account's Attach and Detach request buckets (50
# tokens each, 5 a second), the ones a real failover needs. Past the first pairs, one pair
# is checked every READINESS_PACE_SECONDS: a tenth of their refill, so checking hundreds of
# pairs never empties them while pairs fail. A pair whose route tables and Elastic IPs
# need more DryRuns (ReplaceRoute, AssociateAddress) waits that much longer
# (readiness.pace_seconds). What does not fit in the invocation waits for the next run,
# stalest first.
READINESS_UNPACED_PAIRS = 10
READINESS_PACE_SECONDS = 2.0
# Kept back from the invocation to record and answer.
READINESS_RESERVE_SECONDS = 10.0


def handle_request(
    runtime: Runtime,
    event: dict[str, Any],
    *,
    request_id: str,
    run: Callable[[Request], dict[str, Any]],
    remaining_seconds: float = 60.0,
) -> dict[str, Any]:
    """Answer one request; `run` carries out a move exactly as for a trigger."""
    operator = parse_request(event)
    logger.info("operator request", request=operator.model_dump())
    if operator.action == "sweep":
        return sweep(runtime, run=run)
    if operator.action == "pairs":
        return list_pairs(runtime)
    pairs = pairs_for(runtime, operator)
    if operator.action == "check":
        by = "the readiness schedule" if operator.scheduled else operator.requested_by
        return check_pairs(
            runtime, pairs, scheduled=operator.scheduled, by=by, remaining_seconds=remaining_seconds
        )
    request = manual_request(runtime, operator, pairs[0], request_id=request_id)
    if operator.dry_run:
        return dry_run(runtime, request)
    return {"outcomes": [run(request)], "ignored": [], "dead_lettered": []}


def check_pairs(
    runtime: Runtime,
    pairs: tuple[Pair, ...],
    *,
    scheduled: bool,
    by: str,
    remaining_seconds: float,
) -> dict[str, Any]:
    """The readiness of the pairs, paced past the first few, stalest first when they are
    many; those the invocation has no time left for are named, for the next run."""
    clock = runtime.clock
    if len(pairs) > READINESS_UNPACED_PAIRS:
        # Only to order them: each check reads its record again, minutes later when paced.
        last = {p.name: runtime.records.read(p.name).checked_at for p in pairs}
        pairs = tuple(sorted(pairs, key=lambda p: (last[p.name] is not None, last[p.name])))
    deadline = clock.monotonic() + remaining_seconds - READINESS_RESERVE_SECONDS
    checks: list[dict[str, Any]] = []
    postponed: list[str] = []
    for index, pair in enumerate(pairs):
        pace = (
            readiness.pace_seconds(pair, READINESS_PACE_SECONDS)
            if index >= READINESS_UNPACED_PAIRS
            else 0.0
        )
        if checks and clock.monotonic() + pace > deadline:
            postponed.append(pair.name)
            continue
        if pace:
            clock.sleep(pace)
        checks.append(check(runtime, pair, scheduled=scheduled, by=by))
    if postponed:
        logger.info("readiness check postponed", pairs=len(postponed))
    return {"checks": checks, "postponed": postponed, "tag_problems": tag_problems(runtime)}


def list_pairs(runtime: Runtime) -> dict[str, Any]:
    """The pairs the function protects, as it sees them now: the CLI's list (a stack's
    outputs cannot hold hundreds of pairs, and only the function knows the discovered),
    and what is wrong with any tagged pair it will not act on."""
    configured = {p.name for p in runtime.settings.failover.pairs}
    return {
        "pairs": [
            {
                **pair.model_dump(mode="json"),
                "source": "configured" if pair.name in configured else "tags",
            }
            for pair in runtime.all_pairs()
        ],
        "tag_problems": tag_problems(runtime),
    }


def tag_problems(runtime: Runtime) -> list[str]:
    """Malformed tag sets, one line each: reported, never acted on."""
    if runtime.discovered is None:
        return []
    cached = runtime.discovered.current()
    problems = [str(problem) for problem in cached.discovery.problems]
    note = cached.note()
    return [*problems, note] if note else problems


def sweep(runtime: Runtime, *, run: Callable[[Request], dict[str, Any]]) -> dict[str, Any]:
    """Every minute: a failed primary still holding its interface is a missed event; a
    failed-over pair with failback=auto has its hold-down watched.

    EventBridge delivers EC2's state changes on a best-effort basis; this looks at EC2
    itself. Each missed failure is handed off: published to the trigger topic as a trigger
    of its own, which Lambda runs as an invocation of its own, so a wide impairment moves
    every pair at once instead of one after another in here. The trigger's ID names the
    failure (state, since when) and the standby's state: a later sweep that finds the same
    failure before it is handled sends the same ID, and idempotency absorbs it. The outcome
    is told once, by that invocation; the sweep tells none. A hand-off SNS refuses is
    dead-lettered (the dead-letter alarm tells the operators) and tried again next minute.
    """
    now = runtime.clock.now()
    outcomes = []
    handed_off: list[dict[str, str]] = []
    dead_lettered: list[str] = []
    probes: dict[str, Any] | None = None
    unfinished: FailoverError | None = None
    pairs = runtime.all_pairs()
    looked = kinds.observe_pairs(runtime.clients.ec2, pairs, now=now)
    for name, why in looked.unobserved.items():
        # A zone EC2 cannot describe hides its own pairs, not the others; the next minute's
        # sweep looks again.
        logger.warning("sweep could not look at a pair", pair=name, error=why)
    for pair in pairs:
        state = looked.states.get(pair.name)
        if state is None:
            continue
        if pair.failback is FailbackPolicy.AUTO:
            if pair.probe and probes is None:
                probes, _saved = ProberLease(
                    runtime.clients.dynamodb, runtime.settings.state_table_name
                ).read_memory()
            failback = watch_failback(
                runtime, pair, state, primary_probe=saved_result(probes or {}, pair.name, "primary")
            )
            if failback is not None:
                try:
                    outcomes.append(run(failback))
                except FailoverError as error:
                    # Its outcome is told; the other pairs are still looked at this minute,
                    # and the invocation fails after them so Lambda records it.
                    logger.warning("failback not finished", pair=pair.name, error=str(error))
                    unfinished = unfinished or error
                continue
        missed = decide.missed_failure(
            pair, state, now, evaluation_periods=runtime.settings.failover.evaluation_periods
        )
        if missed is None:
            continue
        trigger = missed_failure_trigger(runtime, pair, state, missed)
        logger.warning("sweep found a missed failure", pair=pair.name, reason=missed)
        problem = hand_off(runtime, trigger)
        if problem is None:
            handed_off.append({"pair": pair.name, "trigger": trigger.trigger_id})
        else:
            dead_lettered.append(problem)
    logger.info(
        "sweep done",
        pairs=len(pairs),
        handed_off=len(handed_off),
        dead_lettered=len(dead_lettered),
        unobserved=len(looked.unobserved),
        failbacks=len(outcomes),
    )
    if unfinished is not None:
        raise unfinished
    return {
        "outcomes": outcomes,
        "handed_off": handed_off,
        "ignored": [],
        "dead_lettered": dead_lettered,
        "unobserved": [f"{name}: {why}" for name, why in looked.unobserved.items()],
    }


def missed_failure_trigger(runtime: Runtime, pair: Pair, state: PairState, missed: str) -> Trigger:
    """The trigger for a failure no event started a failover for: once per failure."""
    primary, standby = state.primary, state.standby
    since = primary.failed_since.isoformat() if primary.failed_since else "unknown"
    condition = "impaired" if primary.running else primary.state or "missing"
    return Trigger(
        trigger_id=(
            f"{SWEEP_ID_PREFIX}{pair.name}:{primary.instance_id}:{condition}:{since}:"
            f"{standby.state}/{standby.system_status}/{standby.instance_status}"
        ),
        kind=TriggerKind.SWEEP,
        source="sweep",
        instance_id=primary.instance_id,
        state=condition,
        is_failure=True,
        reason=f"{missed}; no event started a failover",
        occurred_at=runtime.clock.now(),
        account_id=runtime.settings.account_id,
        region=runtime.settings.region,
        pair_name=pair.name,
    )


def hand_off(runtime: Runtime, trigger: Trigger) -> str | None:
    """Publish the sweep's trigger for its pair's own invocation; if SNS refuses it, keep
    it in the dead-letter queue and say why (never dropped silently).

    Only the sweep publishes triggers, and a trigger's invocation never does: the chain
    function -> topic -> function is one hop, so Lambda's recursive-loop detection has no
    loop to stop.
    """
    settings = runtime.settings
    message = missed_failure_message(trigger)
    try:
        notify.publish_trigger(runtime.clients.sns, settings.trigger_topic_arn, message)
    except AwsCallFailed as error:
        problem = (
            f"the sweep could not hand off pair {trigger.pair_name}'s missed failure "
            f"({error}); nothing moved it, and the next sweep tries again"
        )
        logger.error("sweep hand-off dead-lettered", pair=trigger.pair_name, error=str(error))
        metrics.add_metric(name="DeadLettered", unit=MetricUnit.Count, value=1)
        notify.dead_letter(
            runtime.clients.sqs,
            settings.dead_letter_queue_url,
            reason=problem,
            record=json.loads(message),
        )
        return problem
    return None


def watch_failback(
    runtime: Runtime,
    pair: Pair,
    state: PairState,
    *,
    primary_probe: ProbeResult | None,
    record: PairRecord | None = None,
) -> Request | None:
    """One look at the hold-down: keep or restart the window; the failback once it is due."""
    now = runtime.clock.now()
    record = record or runtime.records.read(pair.name)
    watch = decide.failback_watch(pair, state, record, now, primary_probe=primary_probe)
    if watch.healthy_since != record.healthy_since:
        # One unhealthy observation restarts the window; the first healthy one opens it.
        runtime.records.set_healthy_since(pair.name, watch.healthy_since)
        logger.info("failback window", pair=pair.name, reason=watch.reason)
    if not watch.due or watch.healthy_since is None:
        if watch.healthy_since is None and record.last_direction == decide.Direction.TO_STANDBY:
            # Why a failed-over pair is not even holding down (e.g. it waits for the
            # primary's restart after a forced detach), every sweep while it is so.
            logger.info("no failback window", pair=pair.name, reason=watch.reason)
        return None
    trigger = Trigger(
        # One window, one failback: a redelivered sweep finds it handled already.
        trigger_id=f"failback:{pair.name}:{watch.healthy_since.isoformat()}",
        kind=TriggerKind.FAILBACK,
        source="sweep",
        instance_id=pair.primary_instance_id,
        state="healthy",
        is_failure=True,
        reason=watch.reason,
        occurred_at=now,
        account_id=runtime.settings.account_id,
        region=runtime.settings.region,
    )
    logger.warning("hold-down complete; failing back", pair=pair.name, reason=watch.reason)
    return Request(pair=pair, trigger=trigger, direction=decide.Direction.TO_PRIMARY)


def parse_request(event: dict[str, Any]) -> OperatorRequest:
    try:
        return OperatorRequest.model_validate(event)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in error.errors()
        )
        raise InvalidRequest(
            f"invalid request ({problems}); expected {{{REQUEST_KEY!r}: "
            f"{'|'.join(repr(a) for a in ACTIONS)}, "
            "'pair': NAME, 'force': bool, 'fence': bool, 'dry_run': bool}"
        ) from error


def pairs_for(runtime: Runtime, request: OperatorRequest) -> tuple[Pair, ...]:
    pairs = runtime.all_pairs(pair_name=request.pair)
    if request.pair is None:
        if request.action == "check":
            return pairs
        raise InvalidRequest(f"{request.action} needs a pair; configured: {_names(pairs)}")
    pair = next((p for p in pairs if p.name == request.pair), None)
    if pair is None:
        raise InvalidRequest(f"no pair named {request.pair!r}; configured: {_names(pairs)}")
    return (pair,)


def manual_request(
    runtime: Runtime, operator: OperatorRequest, pair: Pair, *, request_id: str
) -> Request:
    direction = (
        decide.Direction.TO_PRIMARY
        if operator.action == "failback"
        else decide.Direction.TO_STANDBY
    )
    trigger = manual_trigger(
        runtime.clock,
        runtime.settings.account_id,
        runtime.settings.region,
        action=operator.action,
        requested_by=operator.requested_by,
        request_id=request_id,
    )
    return Request(
        pair=pair,
        trigger=trigger,
        direction=direction,
        force=operator.force,
        fence=operator.fence,
        requested_by=operator.requested_by,
    )


def manual_trigger(
    clock: Clock, account_id: str, region: str, *, action: str, requested_by: str, request_id: str
) -> Trigger:
    return Trigger(
        trigger_id=f"manual:{request_id}",
        kind=TriggerKind.MANUAL,
        source="operator",
        instance_id=None,
        state="requested",
        is_failure=True,
        reason=f"{action} requested by {requested_by}",
        occurred_at=clock.now(),
        account_id=account_id,
        region=region,
    )


def dry_run(runtime: Runtime, request: Request) -> dict[str, Any]:
    """The plan a manual move would follow now, without taking the lease or moving."""
    state = kinds.observe_pair(runtime.clients.ec2, request.pair, now=runtime.clock.now())
    record = runtime.records.read(request.pair.name)
    plan = decide.plan(
        pair=request.pair,
        trigger=request.trigger,
        state=state,
        record=record,
        now=runtime.clock.now(),
        tuning=runtime.settings.failover.tuning,
        direction=request.direction,
        force=request.force,
    )
    return {
        "pair": request.pair.name,
        "direction": request.direction.value,
        "dry_run": True,
        "plan": describe_plan(plan),
    }


def describe_plan(plan: decide.Plan) -> dict[str, Any]:
    if isinstance(plan, decide.Move):
        return {
            "decision": "move",
            "force_detach": plan.force_detach,
            "resuming": plan.resuming,
            "overridden_checks": list(plan.overridden),
            "moves": [
                {
                    "interface_id": m.interface_id,
                    "from": m.from_instance_id,
                    "to": m.to_instance_id,
                    "device_index": m.device_index,
                    "network_card_index": m.network_card_index,
                }
                for m in plan.moves
            ],
            "addresses": [
                {"address": a.key, "from": a.from_instance_id, "to": a.to_instance_id}
                for a in plan.addresses
            ],
        }
    if isinstance(plan, decide.AlreadyThere):
        return {"decision": "already-in-place"}
    if isinstance(plan, decide.Stranded):
        return {"decision": "fail", "reasons": list(plan.reasons), "error": plan.error}
    return {"decision": "refuse", "reasons": list(plan.reasons)}


def check(
    runtime: Runtime, pair: Pair, *, scheduled: bool, by: str = "an operator"
) -> dict[str, Any]:
    """Readiness of one pair; on the schedule, announce it only when it changed.

    Every verdict is kept for `status` and drawn on the dashboard; only the schedule's
    answer is compared with the last one it announced.
    """
    settings = runtime.settings
    now = runtime.clock.now()
    state = kinds.observe_pair(runtime.clients.ec2, pair, now=now)
    record = runtime.records.read(pair.name)
    plan = decide.readiness_plan(
        pair=pair, state=state, record=record, now=now, tuning=settings.failover.tuning
    )
    checks = readiness.preconditions(plan, pair, state) + readiness.permission_checks(
        runtime.clients.ec2, plan, state
    )
    if pair.probe:
        memory, saved_at = ProberLease(
            runtime.clients.dynamodb, settings.state_table_name
        ).read_memory()
        checks.append(readiness.prober_sees(pair, memory, saved_at, now))
    if record.paused_at is not None:
        checks.append(
            readiness.Check(
                "automation",
                False,
                f"paused by {record.paused_by} at {record.paused_at.isoformat()}",
            )
        )
    result = readiness.verdict(checks)
    ready = readiness.ready(checks)
    runtime.pair_metrics.put(
        METRIC_READINESS_READY, MetricUnit.Count, 1 if ready else 0, pair=pair.name
    )
    try:
        runtime.records.note_check(pair.name, result, at=now, by=by)
    except AwsCallFailed as error:
        # The verdict is still answered (and announced): only `status` will not show it.
        logger.warning("readiness verdict not recorded", pair=pair.name, error=str(error))
    announced = False
    if scheduled:
        previous = runtime.records.swap_readiness(pair.name, result)
        # Announce a change, and a first verdict that is bad; a steady READY stays quiet.
        if previous != result and (previous is not None or result != readiness.READY):
            notify.publish_text(
                runtime.clients.sns,
                settings.notification_topic_arn,
                subject=f"ENI failover {pair.name}: readiness is now {result.split(':')[0]}",
                message=_readiness_text(pair, result, previous, checks),
            )
            announced = True
    return {
        "pair": pair.name,
        "verdict": result,
        "ready": ready,
        "checks": [c.as_dict() for c in checks],
        "announced": announced,
    }


# How the announcement marks each check: a failure and an inconclusive answer stand out.
_MARKS = {
    readiness.CheckResult.PASSED: "pass",
    readiness.CheckResult.FAILED: "FAIL",
    readiness.CheckResult.INCONCLUSIVE: "INCONCLUSIVE",
}


def _readiness_text(
    pair: Pair, result: str, previous: str | None, checks: list[readiness.Check]
) -> str:
    lines = [
        f"Readiness of pair {pair.name} changed from {previous or 'unknown'} to {result}.",
        "",
        *(f"  [{_MARKS[c.result]}] {c.name}: {c.detail}" for c in checks),
        "",
        f"Run `eni-failover check {pair.name}` to see it again.",
    ]
    return "\n".join(lines)


def _names(pairs: tuple[Pair, ...]) -> str:
    return ", ".join(p.name for p in pairs)
