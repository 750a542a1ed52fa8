"""Carry out a planned move: detach, wait until floating, attach, wait until attached.

Bounded polling at a short interval inside one deadline, never a fixed sleep and never the
20 s boto3 waiter. If the deadline passes or the target turns bad midway, stop and say
exactly where every interface was left: the caller reports it and a retry resumes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eni_failover import ec2
from eni_failover.config import Tuning
from eni_failover.decide import Move
from eni_failover.errors import THROTTLING_CODES, TRANSIENT_CODES, AwsCallFailed
from eni_failover.observed import InstanceView, InterfaceView, describe_slot
from eni_failover.pair_record import PlannedMove
from eni_failover.shared_looks import DirectLooks, Look, Looks
from eni_failover.timeline import Timeline

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

# EC2 says the attachment is already gone: the detach we wanted has happened.
ALREADY_DETACHED = ("InvalidAttachmentID.NotFound",)
# Each pause is the poll interval +/- this fraction.
POLL_JITTER = 0.2


# Attach errors worth another try within the deadline: EC2's own trouble, not a refusal.
# Anything else is EC2 saying no (a device index it will not give, an instance in the wrong
# state): the same attach would only be refused again, so the interface goes back.
TRANSIENT_ATTACH_CODES = TRANSIENT_CODES


class MoveStopped(Exception):
    """The move could not finish; `left` says where each interface is now, `forced`
    whether a detach was forced on the way."""

    def __init__(
        self, reason: str, left: dict[str, InterfaceView], *, forced: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.left = left
        self.forced = forced


class _AttachAbandoned(Exception):
    """The attach to the target will not happen in this attempt: EC2 refused it, it kept
    failing until the deadline, or the target is no longer fit to take the interface."""

    def __init__(self, planned: PlannedMove, reason: str) -> None:
        super().__init__(reason)
        self.planned = planned
        self.reason = reason


@dataclass(frozen=True)
class MoveDone:
    forced: bool
    interfaces: dict[str, InterfaceView]


def carry_out(
    client: EC2Client,
    move: Move,
    observed: dict[str, InterfaceView],
    *,
    tuning: Tuning,
    budget_seconds: float,
    timeline: Timeline,
    looks: Looks | None = None,
) -> MoveDone:
    """`looks`: how the move looks at EC2 (shared with concurrent moves, shared_looks);
    by default every look is the move's own describe."""
    mover = _Mover(
        client=client,
        looks=looks or DirectLooks(client, timeline.clock),
        tuning=tuning,
        timeline=timeline,
        budget_seconds=budget_seconds,
        deadline=timeline.clock.monotonic() + budget_seconds,
        ids=[m.interface_id for m in move.moves],
        target=move.moves[0].to_instance_id,
        forced=move.force_detach,
        force_reason=move.force_reason or "the source is stopped or impaired",
    )
    try:
        mover.request_detaches(observed)
        floating = mover.wait_until_floating()
        try:
            for planned in move.moves:
                mover.attach(planned, floating)
        except _AttachAbandoned as abandoned:
            mover.put_back(move.moves, abandoned)
        return MoveDone(forced=mover.forced, interfaces=mover.wait_until_attached())
    except MoveStopped as stopped:
        stopped.forced = mover.forced
        raise


@dataclass
class _Mover:
    client: EC2Client
    looks: Looks
    tuning: Tuning
    timeline: Timeline
    budget_seconds: float
    deadline: float
    ids: list[str]
    target: str
    forced: bool
    # Why the detach is forced from the start, for the timeline (decide.Move.force_reason).
    force_reason: str = ""
    # The grace before Force runs from the detach request, not from the attempt's start
    # (a resumed move finds its detach already under way: the grace runs from then).
    detach_requested_at: float = 0.0
    throttled_polls: int = 0
    # Wall-clock times: of the last detach or attach EC2 answered, and of the last look
    # used. A look shared with other moves counts only if taken after both (a newer one).
    acted_at: float = 0.0
    seen_at: float = 0.0
    # The target as the last poll showed it, when it did (a shared look shows every
    # watched instance): as fresh as a look of its own, without another round.
    target_seen: InstanceView | None = None
    target_seen_at: float = 0.0

    def __post_init__(self) -> None:
        self.detach_requested_at = self.timeline.clock.monotonic()
        self.acted_at = self.timeline.clock.now().timestamp()

    def _acted(self) -> None:
        self.acted_at = self.timeline.clock.now().timestamp()

    def _fresh_look(self, *, interfaces: bool = True, target: bool = False) -> Look:
        """A look newer than the last action and the last look (strictly: a poll that read
        the same snapshot twice would learn nothing)."""
        after = max(self.acted_at, self.seen_at + 1e-6)
        look = self.looks.look(
            self.ids if interfaces else [], (self.target,) if target else (), after=after
        )
        self.seen_at = max(self.seen_at, look.taken_at)
        return look

    def _out_of_time(self) -> bool:
        clock = self.timeline.clock
        return clock.monotonic() + self.tuning.poll_interval_seconds > self.deadline

    def _pause(self, *, after_look: bool = False) -> None:
        """One poll interval, jittered so that pairs failing together do not poll in step.

        `after_look`: the pause follows a look, and the interval runs from when that look
        was taken. A shared look may have been taken well before this move read it; an
        interval from the reading would make every shared poll up to twice as late as a
        move's own, while from the taking the moves wake together as the next look is due
        (the first one up takes it and the others read it).
        """
        clock = self.timeline.clock
        pause = self.tuning.poll_interval_seconds * random.uniform(  # noqa: S311 - not crypto
            1 - POLL_JITTER, 1 + POLL_JITTER
        )
        if after_look and self.looks.sharing:
            pause = max(0.0, self.seen_at + pause - clock.now().timestamp())
        clock.sleep(pause)

    def _poll(self) -> dict[str, InterfaceView] | None:
        """Where the interfaces are now, or None when EC2 throttled the look.

        A throttled poll (after botocore's own retries) is a missed poll, not a failed
        move: the interface is mid-flight and giving up would leave it detached until
        Lambda's retry a minute later. The deadline still bounds the wait.
        """
        try:
            look = self._fresh_look()
        except AwsCallFailed as error:
            if error.code not in THROTTLING_CODES or self._out_of_time():
                raise
            self._note_throttled(error)
            return None
        shown = (look.instances or {}).get(self.target)
        if shown is not None:
            self.target_seen, self.target_seen_at = shown, look.taken_at
        # A shared look shows other moves' interfaces too.
        return {i: look.interfaces[i] for i in self.ids}

    def _look(self) -> dict[str, InterfaceView]:
        """Where the interfaces are, polling past throttled looks (bounded by the deadline)."""
        while (polled := self._poll()) is None:
            self._pause()
        return polled

    def _look_at_target(self) -> InstanceView | None:
        """The target as EC2 sees it now, or None when EC2 throttled the look. The target
        as the last poll saw it counts once, if that poll came after the last action."""
        seen, self.target_seen = self.target_seen, None
        if seen is not None and self.target_seen_at >= self.acted_at:
            return seen
        try:
            instances = self._fresh_look(interfaces=False, target=True).instances
        except AwsCallFailed as error:
            if error.code not in THROTTLING_CODES or self._out_of_time():
                raise
            self._note_throttled(error)
            return None
        return (instances or {})[self.target]

    def _note_throttled(self, error: AwsCallFailed) -> None:
        self.throttled_polls += 1
        if self.throttled_polls == 1:
            self.timeline.mark("poll throttled, polling on", str(error))

    def request_detaches(self, observed: dict[str, InterfaceView]) -> None:
        for interface_id in self.ids:
            attachment = observed[interface_id].attachment
            # None: a previous attempt already detached it; detaching: on its way already.
            if attachment is None or attachment.status == "detaching":
                continue
            _detach(self.client, attachment.attachment_id, force=self.forced)
            self._acted()
            self.detach_requested_at = self.timeline.clock.monotonic()
            self.timeline.mark(
                "detach requested",
                f"{interface_id} from {attachment.instance_id}"
                + (f" (force: {self.force_reason})" if self.forced else ""),
            )

    def wait_until_floating(self) -> dict[str, InterfaceView]:
        """Poll until every interface is available; escalate to Force after the grace.

        A shared poll also shows the target (every shared look describes the watched
        instances): the attach's check of the target then needs no look of its own.
        """
        while True:
            current = self._look()
            missing = [i.interface_id for i in current.values() if not i.exists]
            if missing:
                raise MoveStopped(
                    f"interface {', '.join(missing)} disappeared during the move", current
                )
            pending = [i for i in current.values() if not i.floating]
            if not pending:
                self.timeline.mark("detached", ", ".join(self.ids) + " available")
                return current
            waited = self.timeline.clock.monotonic() - self.detach_requested_at
            if not self.forced and waited >= self.tuning.detach_grace_seconds:
                self.forced = True
                for interface in pending:
                    if interface.attachment is not None:
                        _detach(self.client, interface.attachment.attachment_id, force=True)
                        self._acted()
                self.timeline.mark(
                    "force detach",
                    f"a normal detach did not finish in {self.tuning.detach_grace_seconds:g} s",
                )
            if self._out_of_time():
                states = ", ".join(f"{i.interface_id}: {i.status}" for i in pending)
                raise MoveStopped(
                    f"the detach did not finish within {self.budget_seconds:.0f} s ({states})",
                    current,
                )
            self._pause(after_look=True)

    def attach(self, planned: PlannedMove, current: dict[str, InterfaceView]) -> None:
        """Attach at the planned card and device index, retrying within the deadline,
        after checking the target once more.

        The target was checked before the detach; attaching to an instance that has
        failed since would only move the outage, so look again before every attempt.
        """
        interface_id = planned.interface_id
        waiting = False
        while True:
            instance = self._look_at_target()
            if instance is None:
                self._pause()
                continue
            unfit = not instance.running or instance.impaired
            # The interface serves no one now, so an impaired check (which can clear) is
            # waited out within the deadline; a target that is not running will not be
            # back in time, so that is reported at once.
            if unfit and instance.running and not self._out_of_time():
                if not waiting:
                    self.timeline.mark("waiting for the target", instance.describe())
                    waiting = True
                self._pause()
                continue
            if unfit:
                raise _AttachAbandoned(
                    planned,
                    f"the target {instance.describe()} is no longer fit to take {interface_id}",
                )
            try:
                ec2.attach(
                    self.client,
                    interface_id=interface_id,
                    instance_id=self.target,
                    device_index=planned.device_index,
                    network_card_index=planned.network_card_index,
                )
            except AwsCallFailed as error:
                self._acted()
                # A lost response to an attach that did happen reads as InUse on the retry.
                polled = self._poll()
                if polled is not None and polled[interface_id].attached_to(self.target):
                    return
                if error.answered and error.code not in TRANSIENT_ATTACH_CODES:
                    # Refused: retrying would only hammer EC2 with the same answer. An
                    # attach that got no answer at all (no route, a timeout) is tried again.
                    raise _AttachAbandoned(
                        planned,
                        f"EC2 refused to attach {interface_id} to {self.target} ({error}); "
                        "not retried",
                    ) from error
                if self._out_of_time():
                    raise _AttachAbandoned(
                        planned,
                        f"attaching {interface_id} to {self.target} kept failing ({error})",
                    ) from error
                self.timeline.mark("attach failed, retrying", str(error))
                self._pause()
                continue
            self._acted()
            self.timeline.mark(
                "attach requested",
                f"{interface_id} to {self.target} at "
                f"{describe_slot(planned.device_index, planned.network_card_index)}",
            )
            return

    def put_back(self, moves: tuple[PlannedMove, ...], abandoned: _AttachAbandoned) -> None:
        """The attach will not happen now: put every interface not on the target back where
        it came from, at the card and device index it had there, once, and say so
        (MoveStopped).

        An interface attached to nothing serves no one, and shows nothing an operator can
        act on; the instance it came from is the one place it is known to fit, and the one
        that serves again should it recover by itself. The move is not retried here: Lambda's
        retry, the sweep or an operator decides again from what is true then.
        """
        self.timeline.mark("attach abandoned, putting back", abandoned.reason)
        current = self._look()
        back: list[str] = []
        stuck: list[str] = []
        returned: dict[str, str] = {}
        for planned in moves:
            interface = current[planned.interface_id]
            if not interface.floating:
                continue  # on the target already, or not ours to move
            source = planned.from_instance_id
            if source is None:
                stuck.append(f"{planned.interface_id} (where it came from is not recorded)")
                continue
            try:
                ec2.attach(
                    self.client,
                    interface_id=planned.interface_id,
                    instance_id=source,
                    device_index=planned.device_index,
                    network_card_index=planned.network_card_index,
                )
            except AwsCallFailed as error:
                stuck.append(
                    f"{planned.interface_id} (putting it back on {source} failed: {error})"
                )
                continue
            self._acted()
            returned[planned.interface_id] = source
            back.append(
                f"{planned.interface_id} was put back on {source} at "
                f"{describe_slot(planned.device_index, planned.network_card_index)}"
            )
        left = self._wait_until_back(returned, current) if returned else current
        said = abandoned.reason
        if back:
            said += ": " + "; ".join(back)
        if stuck:
            said += "; attached to nothing: " + "; ".join(stuck)
        raise MoveStopped(said, left)

    def _wait_until_back(
        self, returned: dict[str, str], current: dict[str, InterfaceView]
    ) -> dict[str, InterfaceView]:
        """Poll until the interfaces put back are attached to where they came from, within
        the deadline; where every interface is by then."""
        while not all(
            (attachment := current[i].attachment) is not None
            and attachment.instance_id == source
            and attachment.status == "attached"
            for i, source in returned.items()
        ):
            if self._out_of_time():
                break
            self._pause(after_look=True)
            current = self._look()
        return current

    def wait_until_attached(self) -> dict[str, InterfaceView]:
        while True:
            current = self._look()
            if all(
                i.attachment is not None
                and i.attachment.instance_id == self.target
                and i.attachment.status == "attached"
                for i in current.values()
            ):
                self.timeline.mark("attached", f"{', '.join(self.ids)} attached to {self.target}")
                return current
            if self._out_of_time():
                raise MoveStopped(
                    f"the attach to {self.target} did not finish within "
                    f"{self.budget_seconds:.0f} s",
                    current,
                )
            self._pause(after_look=True)


def _detach(client: EC2Client, attachment_id: str, *, force: bool) -> None:
    try:
        ec2.detach(client, attachment_id, force=force)
    except AwsCallFailed as error:
        if error.code not in ALREADY_DETACHED:
            raise
