"""Looks at EC2 that concurrent moves share through the state table.

Each trigger runs in its own Lambda sandbox, and the sandboxes share nothing but AWS. When
many pairs fail together (an Availability Zone's bad minute), every move observing and
polling EC2 on its own spends EC2's account-wide, per-action request buckets fifty times
over, and the throttles cost seconds of botocore backoff. So a move registers what it
watches (its interfaces and instances, with an expiry) in one item of the state table; a
look that a move needs is read from the last snapshot if one taken late enough covers it,
and otherwise one move claims the next look (a conditional write whose claim expires, so a
killed invocation stalls nobody), describes everything every move watches in one call per
action, and writes the snapshot for the others.

A move that registers alone describes directly, as it always has: one pair's move pays only
its registration and its leaving, and registers while it takes its pair's lease
(failover.handle), so neither is on its way to the detach. Any DynamoDB failure falls back
to describing directly for the rest of the move: a look is never lost because the sharing
failed.

Looks are shared within an Availability Zone, never across: a zone in a service disruption
fails every DescribeInstances that names one of its instances, so a look spanning zones
would blind the moves of every zone. It also spreads the reads: every poll of every move
reads its snapshot strongly consistently, and one item lives in one partition (3,000 read
units a second at most).

Items, one set per zone: WATCH_ID#zone holds the registrations (one attribute each,
WATCH_PREFIX + watcher); SNAPSHOT_ID#zone the last look and the claim on the next, so that
the one read a poll makes also tells whether a look is under way (a move then waits for it
instead of trying to claim: a refused conditional write is billed too). Writing the
snapshot replaces the item, which frees the claim in the same request. A move learns its
zone from what EC2 showed before (ec2.ZONES), else from one describe of its interfaces.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from eni_failover import ec2
from eni_failover.config import Pair
from eni_failover.errors import AwsCallFailed
from eni_failover.history import TTL_ATTRIBUTE
from eni_failover.observability import logger
from eni_failover.observed import Attachment, InstanceView, InterfaceView, PairState
from eni_failover.timeline import Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client

# Keys beside pair#NAME, prober#lease and history#...: never one of theirs.
WATCH_ID = "looks#watch"
SNAPSHOT_ID = "looks#snapshot"
WATCH_PREFIX = "watch#"
# How long a claim on the next look holds: a look is one or three describes, a second or
# so even after a throttle's first backoff; a killed claimant stalls the others no longer.
CLAIM_SECONDS = 2.0
# A move that finds another's look under way waits about as long as the last look took
# (its claim to its snapshot), within these bounds, before it reads the snapshot again:
# every waiting move reads once per wait, and each read is billed by the snapshot's size.
WAIT_SECONDS = (0.05, 0.25)
# A move waits for others' looks at most this long, then describes directly.
GIVE_UP_SECONDS = 3 * CLAIM_SECONDS
# Sandboxes' clocks agree to within milliseconds (Amazon Time Sync); a snapshot must be
# taken this much after the move's last action to be sure it shows that action.
CLOCK_MARGIN_SECONDS = 0.02
# The items expire (the table's time-to-live) a day after their last write: a stack whose
# pairs stop failing keeps nothing.
ITEM_DAYS = 1
DAY_SECONDS = 86_400
CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Look:
    """What EC2 said at `taken_at` (wall-clock seconds, when the describe was sent)."""

    taken_at: float
    interfaces: Mapping[str, InterfaceView]
    # None: the look did not ask about instances.
    instances: Mapping[str, InstanceView] | None = None

    def covers(self, interface_ids: Iterable[str], instance_ids: Iterable[str]) -> bool:
        wanted = list(instance_ids)
        if wanted and self.instances is None:
            return False
        return all(i in self.interfaces for i in interface_ids) and all(
            i in (self.instances or {}) for i in wanted
        )


class Looks(Protocol):
    # True while looks are shared with other moves: a look read may then be older than the
    # reading (swap times its polls from the taking).
    sharing: bool

    def look(
        self, interface_ids: Sequence[str], instance_ids: Sequence[str] = (), *, after: float
    ) -> Look:
        """A look at these IDs taken at or after `after` (wall-clock seconds)."""
        ...


class DirectLooks:
    """Every look its own describe calls: one move alone, or when sharing is not possible."""

    sharing = False

    def __init__(self, client: EC2Client, clock: Clock) -> None:
        self.client = client
        self.clock = clock

    def look(
        self, interface_ids: Sequence[str], instance_ids: Sequence[str] = (), *, after: float
    ) -> Look:
        taken_at = self.clock.now().timestamp()
        interfaces = ec2.describe_interfaces(self.client, interface_ids) if interface_ids else {}
        instances = (
            ec2.describe_instances(
                self.client, instance_ids, zones=_zone_guesses(interfaces, instance_ids)
            )
            if instance_ids
            else None
        )
        return Look(taken_at=taken_at, interfaces=interfaces, instances=instances)


def _zone_guesses(
    interfaces: Mapping[str, InterfaceView], instance_ids: Iterable[str]
) -> dict[str, str | None]:
    """The zone of one pair's instances: its interfaces' (they attach only there)."""
    zones = {v.availability_zone for v in interfaces.values() if v.availability_zone}
    zone = zones.pop() if len(zones) == 1 else None
    return dict.fromkeys(instance_ids, zone)


def observe_pair(looks: Looks, pair: Pair, *, now: datetime) -> PairState:
    """The pair's interfaces, both instances and their checks, as EC2 shows them since `now`."""
    look = looks.look(
        pair.interface_ids,
        (pair.primary_instance_id, pair.standby_instance_id),
        after=now.timestamp(),
    )
    instances = look.instances or {}
    return PairState(
        primary=instances[pair.primary_instance_id],
        standby=instances[pair.standby_instance_id],
        interfaces=tuple(look.interfaces[i] for i in pair.interface_ids),
        observed_at=now,
    )


class SharedLooks:
    """Looks shared with every other move registered in the state table (module doc)."""

    def __init__(
        self,
        client: EC2Client,
        dynamodb: DynamoDBClient,
        table: str,
        *,
        clock: Clock,
        watcher: str,
    ) -> None:
        self.direct = DirectLooks(client, clock)
        self.client = client
        self.dynamodb = dynamodb
        self.table = table
        self.clock = clock
        self.watcher = watcher
        # Share only once registered with company; any DynamoDB failure ends the sharing.
        self.sharing = False
        self.registered = False
        self.claimed_at = 0.0
        self.interface_ids: tuple[str, ...] = ()
        self.instance_ids: tuple[str, ...] = ()
        # The move's Availability Zone: the items it shares are that zone's.
        self.zone = ""
        self.watch_id = WATCH_ID
        self.snapshot_id = SNAPSHOT_ID
        # The describe of the interfaces that told the zone: the move's first direct look
        # uses it, so finding the zone costs a move alone nothing.
        self.primed: Look | None = None

    def watch(
        self, interface_ids: Iterable[str], instance_ids: Iterable[str], *, until: float
    ) -> None:
        """Register what this move watches until `until` (wall clock: when it would be killed)."""
        self.interface_ids = tuple(interface_ids)
        self.instance_ids = tuple(instance_ids)
        zone = self._zone()
        if zone is None:
            logger.warning("looks not shared: the move's zone is unknown")
            return
        self.zone = zone
        self.watch_id, self.snapshot_id = f"{WATCH_ID}#{zone}", f"{SNAPSHOT_ID}#{zone}"
        entry = {
            "M": {
                "interfaces": {"L": [{"S": i} for i in self.interface_ids]},
                "instances": {"L": [{"S": i} for i in self.instance_ids]},
                "until": {"N": f"{until:.3f}"},
            }
        }
        try:
            response = self.dynamodb.update_item(
                TableName=self.table,
                Key=_key(self.watch_id),
                UpdateExpression=f"SET #w = :entry, {TTL_ATTRIBUTE} = :expires",
                ExpressionAttributeNames={"#w": WATCH_PREFIX + self.watcher},
                ExpressionAttributeValues={
                    ":entry": entry,
                    ":expires": {"N": str(int(until + ITEM_DAYS * DAY_SECONDS))},
                },
                ReturnValues="ALL_NEW",
            )
        except (ClientError, BotoCoreError) as error:
            logger.warning("looks not shared: registration failed", error=str(error))
            return
        self.registered = True
        others = [
            name
            for name in _watchers(response.get("Attributes", {}), now=self._now())
            if name != self.watcher
        ]
        # Alone, a shared look would only add DynamoDB round trips to every poll; the moves
        # that register after this one describe its interfaces along with theirs anyway.
        self.sharing = bool(others)

    def _zone(self) -> str | None:
        """The zone of the move's instances, as EC2 showed it before; else its interfaces'
        (an interface attaches only in its own zone, and describing it works whichever zone
        is disrupted). None when they are in no one zone."""
        known = {z for i in self.instance_ids if (z := ec2.ZONES.zone_of(i))}
        if len(known) == 1:
            return known.pop()
        # The move's first look at its interfaces, kept for it (primed): failing here is
        # failing that look, and raises as it would.
        taken_at = self._now()
        interfaces = ec2.describe_interfaces(self.client, self.interface_ids)
        self.primed = Look(taken_at=taken_at, interfaces=interfaces)
        zones = {v.availability_zone for v in interfaces.values() if v.availability_zone}
        return zones.pop() if len(zones) == 1 else None

    def stop_watching(self) -> None:
        """Leave; the registration would expire on its own, so a failure here is only logged."""
        if not self.registered:
            return
        self.registered = self.sharing = False
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=_key(self.watch_id),
                UpdateExpression="REMOVE #w",
                ExpressionAttributeNames={"#w": WATCH_PREFIX + self.watcher},
            )
        except (ClientError, BotoCoreError) as error:
            logger.warning("registration left to expire", error=str(error))

    def look(
        self, interface_ids: Sequence[str], instance_ids: Sequence[str] = (), *, after: float
    ) -> Look:
        primed, self.primed = self.primed, None
        if not self.sharing:
            if primed is not None and primed.taken_at >= after and primed.covers(interface_ids, ()):
                instances = (
                    ec2.describe_instances(
                        self.client,
                        instance_ids,
                        zones=_zone_guesses(primed.interfaces, instance_ids),
                    )
                    if instance_ids
                    else None
                )
                return Look(primed.taken_at, primed.interfaces, instances)
            if self.zone and interface_ids and instance_ids:
                return self._both_at_once(interface_ids, instance_ids)
            return self.direct.look(interface_ids, instance_ids, after=after)
        try:
            return self._shared_look(interface_ids, instance_ids, after=after)
        except (ClientError, BotoCoreError) as error:
            logger.warning("looks no longer shared: DynamoDB failed", error=str(error))
            self.sharing = False
            return self.direct.look(interface_ids, instance_ids, after=after)

    def _both_at_once(self, interface_ids: Sequence[str], instance_ids: Sequence[str]) -> Look:
        """The interfaces and the instances described side by side: the instances are in the
        move's zone (its interfaces attach only there), so neither waits for the other. The
        move's first look, when its registration came before the lease (failover.handle)
        and the describe that told the zone is too old to decide on."""
        taken_at = self._now()
        instances = ec2.in_background(
            partial(
                ec2.describe_instances,
                self.client,
                instance_ids,
                zones=dict.fromkeys(instance_ids, self.zone),
            )
        )
        interfaces = ec2.describe_interfaces(self.client, interface_ids)
        return Look(taken_at=taken_at, interfaces=interfaces, instances=instances.result())

    def _shared_look(
        self, interface_ids: Sequence[str], instance_ids: Sequence[str], *, after: float
    ) -> Look:
        give_up = self.clock.monotonic() + GIVE_UP_SECONDS
        while True:
            snapshot, claimed_until, took = self._read_snapshot()
            if (
                snapshot is not None
                and snapshot.taken_at >= after + CLOCK_MARGIN_SECONDS
                and snapshot.covers(interface_ids, instance_ids)
            ):
                return snapshot
            # Claim only when no one visibly holds the claim: a refused conditional write
            # costs DynamoDB capacity all the same.
            seen = snapshot.taken_at if snapshot is not None else None
            if claimed_until < self._now() and self._claim(seen):
                return self._take(interface_ids, instance_ids)
            if self.clock.monotonic() >= give_up:
                # Others kept claiming without writing what this move needs.
                return self.direct.look(interface_ids, instance_ids, after=after)
            expected = claimed_until - CLAIM_SECONDS + took - self._now()
            self.clock.sleep(min(max(expected, WAIT_SECONDS[0]), WAIT_SECONDS[1]))

    def _read_snapshot(self) -> tuple[Look | None, float, float]:
        """The last look written, if any; until when someone holds the claim on the next; and
        how long the last look took from its claim to its snapshot."""
        item = self.dynamodb.get_item(
            TableName=self.table, Key=_key(self.snapshot_id), ConsistentRead=True
        ).get("Item", {})
        claimed_until = float(item.get("claim_until", {}).get("N", "0"))
        took = float(item.get("look_seconds", {}).get("N", "0"))
        return (_look_from_item(item) if "taken_at" in item else None), claimed_until, took

    def _claim(self, seen: float | None) -> bool:
        """Claim the next look; False when another move claimed it first, or wrote a look
        since this one read `seen` (that look may well do)."""
        now = self.claimed_at = self._now()
        values: dict[str, Any] = {
            ":me": {"S": self.watcher},
            ":until": {"N": f"{now + CLAIM_SECONDS:.3f}"},
            ":now": {"N": f"{now:.3f}"},
        }
        unchanged = "attribute_not_exists(taken_at)"
        if seen is not None:
            unchanged = "taken_at = :seen"
            values[":seen"] = {"N": f"{seen:.6f}"}
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=_key(self.snapshot_id),
                UpdateExpression="SET claim_owner = :me, claim_until = :until",
                ConditionExpression=(
                    f"(attribute_not_exists(claim_owner) OR claim_until < :now) AND {unchanged}"
                ),
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _code(error) == CONDITION_FAILED:
                return False
            raise
        return True

    def _take(self, interface_ids: Sequence[str], instance_ids: Sequence[str]) -> Look:
        """Describe what every registered move watches, write it for them (freeing the claim).

        Instances always, though most polls ask only for interfaces: the moves polling for
        their detach ask for their target too, and a look without it would keep them
        waiting for another. Two calls more per look, however many moves share it.
        """
        item = self.dynamodb.get_item(
            TableName=self.table, Key=_key(self.watch_id), ConsistentRead=True
        ).get("Item", {})
        now = self._now()
        entries = _watchers(item, now=now)
        all_interfaces = [*interface_ids, *(i for e in entries.values() for i in e.interfaces)]
        all_instances = [*instance_ids, *(i for e in entries.values() for i in e.instances)]
        try:
            taken_at = self._now()
            interfaces = ec2.describe_many_interfaces(self.client, all_interfaces)
            # Every one registered in this zone's items is in this zone: one call.
            instances = ec2.describe_instances(
                self.client, all_instances, zones=dict.fromkeys(all_instances, self.zone)
            )
        except AwsCallFailed:
            self._release()
            raise
        look = Look(taken_at=taken_at, interfaces=interfaces, instances=instances)
        self._write(look)
        expired = [name for name in _watchers(item, now=None) if name not in entries]
        if expired:
            self._forget(expired)
        return look

    def _write(self, look: Look) -> None:
        """The snapshot, replacing the item and so the claim with it."""
        item: dict[str, Any] = {
            **_key(self.snapshot_id),
            "taken_at": {"N": f"{look.taken_at:.6f}"},
            "interfaces": {"S": _dumps({i: _interface_row(v) for i, v in look.interfaces.items()})},
            TTL_ATTRIBUTE: {"N": str(int(look.taken_at + ITEM_DAYS * DAY_SECONDS))},
            # How long a look takes, claim to snapshot: how long the next one's waiters wait.
            "look_seconds": {"N": f"{max(0.0, self._now() - self.claimed_at):.3f}"},
        }
        if look.instances is not None:
            item["instances"] = {
                "S": _dumps({i: _instance_row(v) for i, v in look.instances.items()})
            }
        try:
            # Never over a later look (a slow claimant whose claim expired meanwhile).
            self.dynamodb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(taken_at) OR taken_at < :at",
                ExpressionAttributeValues={":at": item["taken_at"]},
            )
        except ClientError as error:
            if _code(error) != CONDITION_FAILED:
                raise

    def _release(self) -> None:
        """Free the claim after a look that failed, so the next move need not wait it out."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=_key(self.snapshot_id),
                UpdateExpression="REMOVE claim_owner, claim_until",
                ConditionExpression="claim_owner = :me",
                ExpressionAttributeValues={":me": {"S": self.watcher}},
            )
        except ClientError as error:
            if _code(error) != CONDITION_FAILED:
                raise

    def _forget(self, expired: list[str]) -> None:
        """Remove the registrations of invocations that were killed before they left."""
        names = {f"#x{n}": WATCH_PREFIX + name for n, name in enumerate(expired)}
        self.dynamodb.update_item(
            TableName=self.table,
            Key=_key(self.watch_id),
            UpdateExpression="REMOVE " + ", ".join(names),
            ExpressionAttributeNames=names,
        )

    def _now(self) -> float:
        return self.clock.now().timestamp()


def _key(item_id: str) -> dict[str, Any]:
    return {"id": {"S": item_id}}


@dataclass(frozen=True)
class _Watched:
    interfaces: list[str]
    instances: list[str]


def _watchers(item: Mapping[str, Any], *, now: float | None) -> dict[str, _Watched]:
    """What each registered move watches; only unexpired ones unless now is None."""
    found = {}
    for name, value in item.items():
        if not name.startswith(WATCH_PREFIX):
            continue
        entry = value.get("M", {})
        if now is not None and float(entry.get("until", {}).get("N", "0")) < now:
            continue
        found[name.removeprefix(WATCH_PREFIX)] = _Watched(
            interfaces=[v["S"] for v in entry.get("interfaces", {}).get("L", [])],
            instances=[v["S"] for v in entry.get("instances", {}).get("L", [])],
        )
    return found


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# Compact rows (positional, not keyed): every poll of every move reads the snapshot, and
# DynamoDB bills a read by the item's size.
def _interface_row(view: InterfaceView) -> list[Any]:
    attachment = view.attachment
    return [
        view.exists,
        view.status,
        view.availability_zone,
        None
        if attachment is None
        else [
            attachment.attachment_id,
            attachment.instance_id,
            attachment.device_index,
            attachment.status,
            attachment.network_card_index,
            attachment.delete_on_termination,
        ],
        list(view.private_ips),
        view.public_ip,
        view.mac_address,
    ]


def _instance_row(view: InstanceView) -> list[Any]:
    return [
        view.exists,
        view.state,
        view.availability_zone,
        view.system_status,
        view.instance_status,
        view.attached_ebs_status,
        [[card, index, i] for (card, index), i in view.device_indexes.items()],
        view.private_ip,
        view.failed_since.isoformat() if view.failed_since else None,
        view.launch_time.isoformat() if view.launch_time else None,
        view.subnet_id,
        view.vpc_id,
        view.source_dest_check,
    ]


def _look_from_item(item: Mapping[str, Any]) -> Look:
    interfaces = {
        interface_id: _interface_view(interface_id, row)
        for interface_id, row in json.loads(item["interfaces"]["S"]).items()
    }
    instances = None
    if "instances" in item:
        instances = {
            instance_id: _instance_view(instance_id, row)
            for instance_id, row in json.loads(item["instances"]["S"]).items()
        }
    return Look(taken_at=float(item["taken_at"]["N"]), interfaces=interfaces, instances=instances)


def _interface_view(interface_id: str, row: list[Any]) -> InterfaceView:
    exists, status, zone, attachment, private_ips, public_ip, mac = row
    return InterfaceView(
        interface_id=interface_id,
        exists=exists,
        status=status,
        availability_zone=zone,
        attachment=None if attachment is None else Attachment(*attachment),
        private_ips=tuple(private_ips),
        public_ip=public_ip,
        mac_address=mac,
    )


def _instance_view(instance_id: str, row: list[Any]) -> InstanceView:
    exists, state, zone, system, instance, ebs, slots, private_ip, failed_since, *later = row
    # A look stored before LaunchTime (or the primary interface's subnet) was kept has no
    # tenth (or eleventh to thirteenth) field.
    launched, subnet, vpc, source_dest_check = (*later, None, None, None, None)[:4]
    return InstanceView(
        instance_id=instance_id,
        exists=exists,
        state=state,
        availability_zone=zone,
        system_status=system,
        instance_status=instance,
        attached_ebs_status=ebs,
        device_indexes={(card, index): i for card, index, i in slots},
        private_ip=private_ip,
        failed_since=datetime.fromisoformat(failed_since) if failed_since else None,
        launch_time=datetime.fromisoformat(launched) if launched else None,
        subnet_id=subnet,
        vpc_id=vpc,
        source_dest_check=source_dest_check,
    )
