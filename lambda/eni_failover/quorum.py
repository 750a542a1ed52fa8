"""The probe quorum: a failure counts only when every vantage that can probe sees it.

A probe from one place cannot tell a dead service from a broken path to it. With
probeQuorum, one prober function (a vantage) runs in each probe subnet, each in its own
zone, and each keeps its view of every pair in the state table (`prober#view#<vantage>`):
one write when a pair's state changes (answering, failing, failed) and a heartbeat every
HEARTBEAT_SECONDS. A vantage that has confirmed a failure asks `decide` what the others saw:

- send: every other vantage that can probe has confirmed it too;
- alone: no other vantage can probe (its view is missing or older than the stale bound:
  its zone is down, its function is not running); it does not veto;
- wait: another has not confirmed yet (some failed probes, or too recent to say): ask again
  next round;
- degraded: another sees the service answering well after this one's failures began: the
  path from here is broken, not the service. Reported as "detection degraded", never acted on.

Before sending, the vantage claims the episode (`prober#claim#<pair>`) with a conditional
write, so two vantages confirming in the same round send one trigger between them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from eni_failover import ec2
from eni_failover.config import Probing
from eni_failover.errors import AWS_ERRORS, AwsCallFailed
from eni_failover.observability import logger
from eni_failover.probe import ProbeTracker, Verdict
from eni_failover.timeline import Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client

VIEW_PREFIX = "prober#view#"
CLAIM_PREFIX = "prober#claim#"
# How often a vantage rewrites its view while nothing changes: the others read its age to
# tell "answering" from "not running".
HEARTBEAT_SECONDS = 5.0
# A view older than three heartbeats is a vantage that cannot probe: two heartbeats lost to
# a slow or throttled write are tolerated, and a vantage whose zone went down delays the
# other's lone trigger by at most this.
STALE_SECONDS = 3 * HEARTBEAT_SECONDS
# A write, then the other's read: DynamoDB answers in milliseconds, a retried call in well
# under a second.
LATENCY_MARGIN_SECONDS = 1.0

ANSWERING = "answering"
FAILING = "failing"
FAILED = "failed"


def pair_state(verdict: Verdict) -> str:
    """What a vantage tells the others of one pair after a round."""
    if verdict is Verdict.HEALTHY:
        return ANSWERING
    if verdict is Verdict.FAILING:
        return FAILING
    return FAILED  # FAILED, STILL_FAILED: this vantage has confirmed the failure


class Answer(StrEnum):
    SEND = "send"  # the others that can probe see the failure too
    ALONE = "alone"  # no other vantage can probe: this one decides
    WAIT = "wait"  # another has not confirmed yet: ask again next round
    DEGRADED = "degraded"  # another sees the service answering: never act


@dataclass(frozen=True)
class Bounds:
    """How old a view may be and still count, and how long another vantage may lag."""

    # Another vantage probes on its own phase: its first failed probe comes up to an
    # interval plus a timeout after this one's, then its write and this one's read.
    grace_seconds: float
    stale_seconds: float = STALE_SECONDS

    @classmethod
    def for_probing(cls, probing: Probing) -> Bounds:
        return cls(
            grace_seconds=probing.interval_seconds
            + probing.timeout_seconds
            + LATENCY_MARGIN_SECONDS
        )


@dataclass(frozen=True)
class View:
    """One vantage's last saved view: each pair's state, and when it said so."""

    vantage: str
    saved_at: datetime
    pairs: Mapping[str, str]
    # One-sided failures this vantage reported (pair -> the sentence `status` shows).
    degraded: Mapping[str, str] = field(default_factory=dict)

    def dump(self) -> dict[str, Any]:
        return {"pairs": dict(self.pairs), "degraded": dict(self.degraded)}


@dataclass(frozen=True)
class Decision:
    answer: Answer
    why: str


def decide(
    *,
    pair: str,
    vantage: str,
    failing_since: datetime,
    others: Mapping[str, View | None],
    now: datetime,
    bounds: Bounds,
) -> Decision:
    """What this vantage does with its confirmed failure of `pair`, given the others' views."""
    confirmed: list[str] = []
    pending: list[str] = []
    answering: list[str] = []
    for name, view in others.items():
        state = view.pairs.get(pair) if view is not None else None
        if view is None or state is None:
            continue  # never saved, or does not probe this pair (yet): cannot veto
        if (now - view.saved_at).total_seconds() > bounds.stale_seconds:
            continue  # not running, or its zone is down: cannot veto
        if state == FAILED:
            confirmed.append(name)
        elif state == FAILING:
            pending.append(name)
        else:
            answering.append(name)
    failing_for = (now - failing_since).total_seconds()
    if answering and failing_for > bounds.grace_seconds:
        return Decision(
            Answer.DEGRADED,
            f"detection degraded: {vantage} sees {pair} failing, "
            f"{', '.join(answering)} sees it answering",
        )
    if answering or pending:
        return Decision(
            Answer.WAIT,
            f"{vantage} sees {pair} failing; waiting for {', '.join(answering + pending)}",
        )
    if confirmed:
        return Decision(Answer.SEND, f"{vantage} and {', '.join(confirmed)} see {pair} failing")
    return Decision(
        Answer.ALONE,
        f"{vantage} sees {pair} failing; no other vantage is probing, so it decides alone",
    )


# -- the state table ---------------------------------------------------------------------


def _condition_failed(error: Exception) -> bool:
    return (
        isinstance(error, ClientError)
        and error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


class QuorumStore:
    """The vantages' views and the episodes' claims, in the state table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def save_view(self, view: View) -> None:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": VIEW_PREFIX + view.vantage},
                    "view": {"S": _json(view.dump())},
                    "saved_at": {"S": view.saved_at.isoformat()},
                },
            )
        except AWS_ERRORS as error:
            raise AwsCallFailed.from_client_error("PutItem", error) from error

    def read_view(self, vantage: str) -> View | None:
        try:
            item = self.client.get_item(
                TableName=self.table, Key={"id": {"S": VIEW_PREFIX + vantage}}, ConsistentRead=True
            ).get("Item")
        except AWS_ERRORS as error:
            raise AwsCallFailed.from_client_error("GetItem", error) from error
        if not item:
            return None
        try:
            raw = _load(item["view"]["S"])
            return View(
                vantage=vantage,
                saved_at=datetime.fromisoformat(item["saved_at"]["S"]),
                pairs={str(k): str(v) for k, v in raw.get("pairs", {}).items()},
                degraded={str(k): str(v) for k, v in raw.get("degraded", {}).items()},
            )
        except (KeyError, TypeError, ValueError):
            return None  # a damaged view: as good as none

    def claim(self, pair: str, vantage: str, *, now: datetime, oldest: datetime) -> bool:
        """Claim the episode's one trigger; False if another vantage claimed it since
        `oldest` (the start of this vantage's failure, less the grace)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": CLAIM_PREFIX + pair}},
                UpdateExpression="SET claimant = :me, claimed_at = :now",
                ConditionExpression="attribute_not_exists(claimed_at) OR claimed_at < :oldest "
                "OR claimant = :me",
                ExpressionAttributeValues={
                    ":me": {"S": vantage},
                    ":now": {"N": f"{now.timestamp():.3f}"},
                    ":oldest": {"N": f"{oldest.timestamp():.3f}"},
                },
            )
        except AWS_ERRORS as error:
            if _condition_failed(error):
                return False
            raise AwsCallFailed.from_client_error("UpdateItem", error) from error
        return True


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _load(text: str) -> dict[str, Any]:
    loaded = json.loads(text)
    return loaded if isinstance(loaded, dict) else {}


# -- one vantage's part --------------------------------------------------------------------


@dataclass
class Quorum:
    """One vantage's side of the quorum, kept by its Prober."""

    vantage: str
    others: tuple[str, ...]
    store: QuorumStore
    bounds: Bounds
    clock: Clock
    states: dict[str, str] = field(default_factory=dict)
    degraded: dict[str, str] = field(default_factory=dict)
    _changed: bool = True  # the first round always writes: the others learn we run
    _last_write: float | None = None
    # Where the vantages are: told once per invocation, at its first round.
    ec2_client: EC2Client | None = None
    zones_note: str | None = None
    _zones_checked: bool = False

    @classmethod
    def for_vantage(
        cls,
        *,
        vantage: str,
        vantages: tuple[str, ...],
        client: DynamoDBClient,
        table: str,
        probing: Probing,
        clock: Clock,
        ec2_client: EC2Client | None = None,
    ) -> Quorum | None:
        """This vantage's quorum; None without one (a single vantage probes alone)."""
        others = tuple(v for v in vantages if v != vantage)
        if not vantage or not others:
            return None
        return cls(
            vantage=vantage,
            others=others,
            store=QuorumStore(client, table),
            bounds=Bounds.for_probing(probing),
            clock=clock,
            ec2_client=ec2_client,
        )

    def check_zones(self) -> None:
        """Say when the vantages share a zone: the synth cannot know a subnet's zone, and a
        quorum within one zone cannot tell a broken zone from a dead service."""
        self._zones_checked = True
        if self.ec2_client is None:
            return
        vantages = (self.vantage, *self.others)
        try:
            zones = ec2.subnet_zones(self.ec2_client, vantages)
        except AwsCallFailed as error:
            logger.warning("could not look up the vantages' zones", error=str(error))
            return
        self.zones_note = zones_note(zones, vantages)
        if self.zones_note:
            logger.warning(self.zones_note, vantage=self.vantage)

    def note(self, pair: str, verdict: Verdict) -> None:
        """A pair's verdict this round; a change is written at the end of the round."""
        state = pair_state(verdict)
        if self.states.get(pair) != state:
            self.states[pair] = state
            self._changed = True
        if state == ANSWERING and self.degraded.pop(pair, None) is not None:
            self._changed = True
            logger.info("detection restored", pair=pair, vantage=self.vantage)

    def publish(self) -> None:
        """Write the view if a pair changed, or the heartbeat is due."""
        if not self._zones_checked:
            self.check_zones()
        now = self.clock.monotonic()
        due = self._last_write is None or now - self._last_write >= HEARTBEAT_SECONDS
        if not (self._changed or due):
            return
        try:
            self.store.save_view(
                View(
                    vantage=self.vantage,
                    saved_at=self.clock.now(),
                    pairs=dict(self.states),
                    degraded=dict(self.degraded),
                )
            )
        except AwsCallFailed as error:
            # Written again next round; meanwhile the others may count us as not running,
            # which lets them decide alone, never blocks them.
            logger.error("could not save the vantage's view", error=str(error))
            return
        self._changed = False
        self._last_write = now

    def agrees(self, pair: str, tracker: ProbeTracker) -> bool:
        """Whether this vantage's confirmed failure of `pair` may be sent now (and is this
        vantage's to send). A failure another vantage sent already opens the episode here."""
        self.publish()  # the others learn of our failure before we ask about theirs
        now = self.clock.now()
        failing_since = tracker.failing_since or now
        try:
            others = {name: self.store.read_view(name) for name in self.others}
        except AwsCallFailed as error:
            # Not knowing is not agreeing: the others see our view age and decide alone.
            logger.error("could not read the other vantages' views", error=str(error))
            return False
        decision = decide(
            pair=pair,
            vantage=self.vantage,
            failing_since=failing_since,
            others=others,
            now=now,
            bounds=self.bounds,
        )
        if decision.answer is Answer.DEGRADED:
            if pair not in self.degraded:
                logger.warning(decision.why, pair=pair, vantage=self.vantage)
                self.degraded[pair] = decision.why
                self._changed = True
            return False
        if decision.answer is Answer.WAIT:
            logger.info(decision.why, pair=pair, vantage=self.vantage)
            return False
        try:
            claimed = self.store.claim(
                pair,
                self.vantage,
                now=now,
                oldest=failing_since - timedelta(seconds=self.bounds.grace_seconds),
            )
        except AwsCallFailed as error:
            logger.error("could not claim the failure's trigger", pair=pair, error=str(error))
            return False
        if not claimed:
            # Another vantage sent this episode's trigger: ours is handled too.
            tracker.open_episode()
            logger.info("the other vantage sent the trigger", pair=pair, vantage=self.vantage)
            return False
        logger.warning(decision.why, pair=pair, vantage=self.vantage, answer=decision.answer)
        if self.degraded.pop(pair, None) is not None:
            self._changed = True
        return True

    def memory(self) -> dict[str, Any]:
        """What the prober's saved memory carries for `status` and `check`."""
        return {
            "vantage": self.vantage,
            "vantages": [self.vantage, *self.others],
            "degraded": dict(self.degraded),
            "zones": self.zones_note,
        }


def zones_note(zones: Mapping[str, str], vantages: tuple[str, ...]) -> str | None:
    """None when the vantages are in two zones or more; else what is wrong, for `status`."""
    missing = [v for v in vantages if v not in zones]
    if missing:
        return f"probe quorum: subnet {', '.join(missing)} not found; its vantage cannot run"
    if len(set(zones[v] for v in vantages)) < 2:
        return (
            f"probe quorum: every vantage ({', '.join(vantages)}) is in zone "
            f"{zones[vantages[0]]}; a broken zone looks like a dead service from all of "
            "them: list probeSubnetIds in two zones"
        )
    return None
