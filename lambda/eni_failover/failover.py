"""One trigger for one pair, from lease to notification: observe, decide, act, tell.

Every path through `handle` ends in exactly one published outcome, or in a retryable
error raised before anything was decided (the pair was busy), which Lambda retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from eni_failover import decide, ec2, lease, notify
from eni_failover.config import Pair, Settings
from eni_failover.errors import AwsCallFailed, FailoverIncomplete, PairBusy
from eni_failover.outcome import Outcome, OutcomeKind
from eni_failover.state import InterfaceView, PairRecord
from eni_failover.swap import Clock, MoveStopped, SystemClock, Timeline, carry_out
from eni_failover.triggers import Trigger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

# Time kept back from the function's remaining time to publish the outcome and release
# the lease even when the move runs to its deadline.
RESERVE_SECONDS = 5.0


@dataclass
class Runtime:
    """Everything a handled trigger needs, built once per cold start."""

    settings: Settings
    ec2: EC2Client
    sns: SNSClient
    sqs: SQSClient
    dynamodb: DynamoDBClient
    clock: Clock = field(default_factory=SystemClock)


@dataclass(frozen=True)
class Request:
    pair: Pair
    trigger: Trigger
    direction: decide.Direction = decide.Direction.TO_STANDBY
    force: bool = False


def handle(runtime: Runtime, request: Request, *, owner: str, remaining_seconds: float) -> Outcome:
    """Handle one trigger for its pair; raises only retryable errors (see module doc)."""
    record = _take_lease(
        runtime, request.pair.name, owner=owner, remaining_seconds=remaining_seconds
    )
    attempt = _Attempt(runtime, request, record, remaining_seconds)
    try:
        outcome = attempt.decide_and_act(owner)
    except AwsCallFailed as error:
        # EC2 or DynamoDB failed beyond botocore's retries; say so, and where things are.
        outcome = attempt.finish(
            OutcomeKind.FAILED,
            _best_effort_interfaces(runtime, request.pair),
            error=str(error),
        )
    settings = runtime.settings
    try:
        notify.publish_outcome(runtime.sns, settings.notification_topic_arn, outcome)
    finally:
        lease.release(
            runtime.dynamodb,
            settings.state_table_name,
            request.pair.name,
            owner=owner,
            trigger_id=request.trigger.trigger_id,
            outcome=outcome.kind.value,
            summary=outcome.summary(),
            now=runtime.clock.now(),
            moved=outcome.kind is OutcomeKind.SWAPPED,
            move_finished=outcome.kind is not OutcomeKind.FAILED,
        )
    if outcome.kind is OutcomeKind.FAILED:
        # Published already; raising makes Lambda retry, and the retry resumes the move.
        raise FailoverIncomplete(f"pair {request.pair.name}: {outcome.error}")
    return outcome


def _take_lease(
    runtime: Runtime, pair_name: str, *, owner: str, remaining_seconds: float
) -> PairRecord:
    settings = runtime.settings
    tuning = settings.failover.tuning
    clock = runtime.clock
    # Wait only as long as still leaves time for a whole move afterwards.
    wait = min(
        tuning.lease_wait_seconds,
        max(0.0, remaining_seconds - RESERVE_SECONDS - tuning.swap_deadline_seconds),
    )
    give_up = clock.monotonic() + wait
    while True:
        record = lease.try_acquire(
            runtime.dynamodb,
            settings.state_table_name,
            pair_name,
            owner=owner,
            now=clock.now(),
            # Expires when this invocation would have been killed, so a dead one frees it.
            hold_seconds=remaining_seconds + RESERVE_SECONDS,
        )
        if record is not None:
            return record
        if clock.monotonic() + tuning.poll_interval_seconds > give_up:
            raise PairBusy(
                f"pair {pair_name} is being moved by another invocation; "
                "this trigger will be retried and decided from the state then"
            )
        clock.sleep(tuning.poll_interval_seconds)


class _Attempt:
    def __init__(
        self, runtime: Runtime, request: Request, record: PairRecord, remaining_seconds: float
    ) -> None:
        self.runtime = runtime
        self.request = request
        self.record = record
        self.remaining_seconds = remaining_seconds
        self.started_at = runtime.clock.now()
        self.timeline = Timeline(runtime.clock)

    def decide_and_act(self, owner: str) -> Outcome:
        runtime, request = self.runtime, self.request
        settings = runtime.settings
        tuning = settings.failover.tuning
        state = ec2.observe_pair(runtime.ec2, request.pair, now=self.started_at)
        plan = decide.plan(
            pair=request.pair,
            trigger=request.trigger,
            state=state,
            record=self.record,
            now=self.started_at,
            tuning=tuning,
            direction=request.direction,
            force=request.force,
        )
        if isinstance(plan, decide.Refuse):
            stranded = [i.interface_id for i in state.interfaces if _stranded(i)]
            if stranded:
                # A refusal leaves the interfaces where they are, and these are on no
                # instance (a move cut short): the service is down. That is a failure that
                # needs action, and Lambda's retry (which keeps the journal, so the device
                # index) may still finish the move once the reason has gone.
                return self.finish(
                    OutcomeKind.FAILED,
                    state.interfaces,
                    reasons=plan.reasons,
                    error=f"{', '.join(stranded)} is attached to no instance and cannot be "
                    f"moved now: {'; '.join(plan.reasons)}",
                )
            return self.finish(OutcomeKind.REFUSED, state.interfaces, reasons=plan.reasons)
        if isinstance(plan, decide.Ignore):
            return self.finish(OutcomeKind.REFUSED, state.interfaces, reasons=(plan.reason,))
        if isinstance(plan, decide.AlreadyThere):
            if plan.moved_by_this_trigger:
                # A retry after the move finished but before its outcome was published.
                return self.finish(
                    OutcomeKind.SWAPPED,
                    state.interfaces,
                    notes=("An earlier attempt of this trigger made the move; this confirms it.",),
                )
            return self.finish(OutcomeKind.ALREADY_IN_PLACE, state.interfaces)

        lease.write_journal(
            runtime.dynamodb,
            settings.state_table_name,
            request.pair.name,
            owner=owner,
            trigger_id=request.trigger.trigger_id,
            moves=plan.moves,
        )
        budget = min(tuning.swap_deadline_seconds, self.remaining_seconds - RESERVE_SECONDS)
        observed = {i.interface_id: i for i in state.interfaces}
        try:
            done = carry_out(
                runtime.ec2,
                plan,
                observed,
                tuning=tuning,
                budget_seconds=max(budget, tuning.poll_interval_seconds),
                timeline=self.timeline,
            )
        except MoveStopped as stopped:
            return self.finish(
                OutcomeKind.FAILED,
                tuple(stopped.left.get(i.interface_id, i) for i in state.interfaces),
                error=stopped.reason,
                resumed=plan.resuming,
                forced_detach=plan.force_detach,
            )
        return self.finish(
            OutcomeKind.SWAPPED,
            tuple(done.interfaces.get(i.interface_id, i) for i in state.interfaces),
            resumed=plan.resuming,
            forced_detach=done.forced,
            overridden=plan.overridden,
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
    ) -> Outcome:
        pair = self.request.pair
        if self.request.direction is decide.Direction.TO_PRIMARY:
            source, target = pair.standby_instance_id, pair.primary_instance_id
        else:
            source, target = pair.primary_instance_id, pair.standby_instance_id
        finished_at: datetime = self.runtime.clock.now()
        return Outcome(
            kind=kind,
            pair=pair.name,
            direction=self.request.direction.value,
            trigger=self.request.trigger,
            from_instance_id=source,
            to_instance_id=target,
            interfaces=interfaces,
            started_at=self.started_at,
            finished_at=finished_at,
            reasons=reasons,
            error=error,
            steps=tuple(self.timeline.steps),
            resumed=resumed,
            forced_detach=forced_detach,
            overridden=overridden,
            notes=notes,
        )


def _stranded(interface: InterfaceView) -> bool:
    """On no instance: detached, or on its way off one."""
    return interface.exists and (
        interface.attachment is None or interface.attachment.status == "detaching"
    )


def _best_effort_interfaces(runtime: Runtime, pair: Pair) -> tuple[InterfaceView, ...]:
    """Where the interfaces are, for a failure report; unknown if EC2 will not say."""
    try:
        found = ec2.describe_interfaces(runtime.ec2, pair.interface_ids)
    except AwsCallFailed:
        return tuple(
            InterfaceView(interface_id=i, exists=True, status="unknown (EC2 did not answer)")
            for i in pair.interface_ids
        )
    return tuple(found[i] for i in pair.interface_ids)
