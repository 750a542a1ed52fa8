"""The pair's record in DynamoDB: lease, journal, pause, drill window, readiness, failback
watch, recent automatic moves and fence.

One item per pair. The lease lets one invocation move a pair at a time: triggers for
different pairs run side by side, while two triggers for the same pair (the alarm and the
state-change event of one failure, or a redelivery) take turns through a conditional
write. The lease expires on its own, so an invocation that Lambda killed mid-move cannot
block the pair: the next one takes over and resumes from the journal.

The lease item names its holder (LeaseHolder), so that whoever finds the pair busy can say
who holds it and since when: the function, by its Lambda request ID, or a CLI's local run of
the function's code against the sandbox, by its host and process. A local run that was
interrupted (Ctrl-C) or killed leaves its lease behind; its process being gone on this very
host proves it will never finish, so the next one takes the lease over at once instead of
waiting for it to expire (`provably_gone`). Nothing else is ever taken over early.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from eni_failover.errors import AWS_ERRORS, AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class PlannedMove:
    """One interface's journey, written to the journal before the first change."""

    interface_id: str
    device_index: int
    from_instance_id: str | None
    to_instance_id: str
    network_card_index: int = 0

    @property
    def slot(self) -> tuple[int, int]:
        """(network card, device index) the interface takes on the target."""
        return self.network_card_index, self.device_index


@dataclass(frozen=True)
class PlannedAddress:
    """One route's, Elastic IP's or secondary IP's move (AddressView.key), journaled with
    the interfaces' before the first change."""

    key: str
    from_instance_id: str | None
    to_instance_id: str


# Who holds a lease: the function (deployed, or the sandbox's stand-in for it), or the
# function's code run by the CLI in its own process (`eni-failover --sandbox failover`).
HOLDER_FUNCTION = "function"
HOLDER_CLI = "cli"


@dataclass(frozen=True)
class LeaseHolder:
    """Who takes a lease, as the lease item records it."""

    kind: str = HOLDER_FUNCTION  # HOLDER_FUNCTION | HOLDER_CLI
    # The Lambda request ID of the invocation (a CLI's local run has a made-up one).
    request_id: str | None = None
    # A CLI's local run: where it runs, its process, and who ran it.
    host: str | None = None
    pid: int | None = None
    user: str | None = None

    def describe(self) -> str:
        if self.kind == HOLDER_CLI:
            who = f"{self.user} on " if self.user else ""
            return f"a CLI run ({who}host {self.host or '?'}, process {self.pid or '?'})"
        request = f" (request {self.request_id})" if self.request_id else ""
        return f"the function{request}"


@dataclass(frozen=True)
class Lease:
    """A pair's lease as found: who holds it, since when, until when."""

    owner: str
    holder: LeaseHolder
    since: datetime | None
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return self.expires_at < now

    def describe(self) -> str:
        since = f" since {self.since.isoformat(timespec='seconds')}" if self.since else ""
        return (
            f"{self.holder.describe()}{since}, lease until "
            f"{self.expires_at.isoformat(timespec='seconds')}"
        )


def process_alive(pid: int) -> bool:
    """Whether a process of this host is running (signal 0 tests without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    except OSError:  # not a pid this system knows how to ask about: assume alive
        return True
    return True


def provably_gone(
    holder: LeaseHolder, *, this_host: str, alive: Callable[[int], bool] = process_alive
) -> bool:
    """The holder will never finish its move: a CLI's local run on this very host whose
    process no longer exists. The function is never provably gone (Lambda may still be
    running it; only the lease's expiry says it was killed), nor is a process of another
    host (its pid means nothing here), nor a live process (it may be moving right now). A
    pid reused by another process reads as alive: the lease is then waited out, never
    taken from a live mover."""
    return (
        holder.kind == HOLDER_CLI
        and holder.host is not None
        and holder.host == this_host
        and holder.pid is not None
        and not alive(holder.pid)
    )


@dataclass(frozen=True)
class PairRecord:
    """The pair's durable memory, read when the lease is taken."""

    # A move in flight: set before the first detach, cleared when the move ends.
    journal_trigger_id: str | None = None
    journal: tuple[PlannedMove, ...] = ()
    journal_addresses: tuple[PlannedAddress, ...] = ()
    # The last completed move, to recognise stale triggers and retries of a done move.
    last_move_trigger_id: str | None = None
    last_move_at: datetime | None = None
    last_trigger_id: str | None = None  # the trigger the last outcome answered
    last_outcome: str | None = None
    last_outcome_at: datetime | None = None
    last_outcome_summary: str | None = None
    # The trigger whose outcome reached the notification topic: a delivery of it that
    # comes again (its idempotency record never completed) must not act or tell twice.
    last_told_trigger_id: str | None = None
    # Set by `eni-failover pause`: automatic triggers are refused until resumed.
    paused_at: datetime | None = None
    paused_by: str | None = None
    # Set by `eni-failover drill`: until then an alarm on a healthy primary is a rehearsal.
    drill_until: datetime | None = None
    drill_by: str | None = None
    # The last scheduled readiness verdict, so only a change is announced.
    readiness: str | None = None
    # The direction of the last outcome: failover or failback.
    last_direction: str | None = None
    # The verdict of the last readiness check, scheduled or an operator's, when and whose.
    checked_readiness: str | None = None
    checked_at: datetime | None = None
    checked_by: str | None = None
    # What made the last move (a TriggerKind value), and whether an operator's manual move
    # holds the pair where it is: automatic failback waits for their failback or resume.
    last_move_kind: str | None = None
    manual_hold: bool = False
    # When the sweep first saw the failed-over primary healthy, uninterrupted since.
    healthy_since: datetime | None = None
    # Times of the automatic moves of the last hour (the flap limit counts them).
    automatic_moves: tuple[datetime, ...] = ()
    # The fence put on the primary after a failover, until failback undoes it.
    fence_mode: str | None = None  # stop | isolate
    fenced_at: datetime | None = None
    fenced_instance_id: str | None = None
    # isolate: each interface of the primary whose groups were replaced, with its groups
    # before; failback gives each its own back. (Records written before every interface
    # was isolated name one: isolated_interface_id.)
    isolated_interfaces: tuple[tuple[str, tuple[str, ...]], ...] = ()
    isolated_interface_id: str | None = None
    # Every group the isolated interfaces had, for `status` to show.
    isolated_groups: tuple[str, ...] = ()
    # A forced detach from the primary: EC2 may refuse another interface at that device
    # index until the instance is stopped and started, so failback waits for its LaunchTime
    # to be later than the one it had then (both EC2's clock; the time is for operators).
    forced_detach_instance_id: str | None = None
    forced_detach_at: datetime | None = None
    forced_detach_launch_time: datetime | None = None
    # The lease, when someone holds it (or held it and let it expire without releasing).
    lease: Lease | None = None

    @property
    def isolated(self) -> bool:
        return self.fence_mode == "isolate" and bool(self.isolated_interfaces)


class PairRecords:
    """The pair records in the state table; every method is one DynamoDB call."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def try_acquire(
        self,
        pair_name: str,
        *,
        owner: str,
        now: datetime,
        hold_seconds: float,
        holder: LeaseHolder | None = None,
        take_from: str | None = None,
    ) -> PairRecord | None:
        """Take the lease if it is free or expired; None if someone else holds it.

        `holder`: who takes it, recorded for whoever finds the pair busy. `take_from`: the
        owner of a lease whose holder is provably gone (provably_gone): taken from that
        owner only, so a lease that changed hands since it was read is not.
        """
        holder = holder or LeaseHolder()
        condition = (
            "attribute_not_exists(lease_owner) OR lease_expires_at < :now OR lease_owner = :owner"
        )
        values: dict[str, Any] = {
            ":owner": {"S": owner},
            ":expires": {"N": f"{now.timestamp() + hold_seconds:.3f}"},
            ":now": {"N": f"{now.timestamp():.3f}"},
            ":since": {"S": now.isoformat()},
            ":kind": {"S": holder.kind},
        }
        sets = [
            "lease_owner = :owner",
            "lease_expires_at = :expires",
            "lease_since = :since",
            "lease_kind = :kind",
        ]
        removes = []
        for name, value in (
            ("lease_request_id", holder.request_id),
            ("lease_host", holder.host),
            ("lease_user", holder.user),
        ):
            if value:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = {"S": value}
            else:
                removes.append(name)
        if holder.pid is not None:
            sets.append("lease_pid = :lease_pid")
            values[":lease_pid"] = {"N": str(holder.pid)}
        else:
            removes.append("lease_pid")
        if take_from is not None:
            condition += " OR lease_owner = :gone"
            values[":gone"] = {"S": take_from}
        response = self._update(
            pair_name,
            f"SET {', '.join(sets)}" + (f" REMOVE {', '.join(removes)}" if removes else ""),
            condition=condition,
            values=values,
            returns="ALL_NEW",
        )
        return None if response is None else _record(response.get("Attributes", {}))

    def write_journal(
        self,
        pair_name: str,
        *,
        owner: str,
        trigger_id: str,
        moves: tuple[PlannedMove, ...],
        addresses: tuple[PlannedAddress, ...] = (),
    ) -> None:
        """Note the move before the first change, so whoever resumes it knows the plan."""
        journal = {
            "L": [
                {
                    "M": {
                        "interface_id": {"S": m.interface_id},
                        "device_index": {"N": str(m.device_index)},
                        "network_card_index": {"N": str(m.network_card_index)},
                        "from_instance_id": {"S": m.from_instance_id or ""},
                        "to_instance_id": {"S": m.to_instance_id},
                    }
                }
                for m in moves
            ]
        }
        journal_addresses = {
            "L": [
                {
                    "M": {
                        "key": {"S": a.key},
                        "from_instance_id": {"S": a.from_instance_id or ""},
                        "to_instance_id": {"S": a.to_instance_id},
                    }
                }
                for a in addresses
            ]
        }
        written = self._update(
            pair_name,
            "SET journal = :journal, journal_addresses = :addresses, journal_trigger_id = :trigger",
            condition="lease_owner = :owner",
            values={
                ":journal": journal,
                ":addresses": journal_addresses,
                ":trigger": {"S": trigger_id},
                ":owner": {"S": owner},
            },
        )
        if written is None:
            # Our lease expired and someone else holds the pair: moving now would race them.
            raise AwsCallFailed(
                "UpdateItem",
                "ConditionalCheckFailedException",
                f"the lease on pair {pair_name} passed to another invocation before the move",
            )

    def release(
        self,
        pair_name: str,
        *,
        owner: str,
        trigger_id: str,
        outcome: str,
        summary: str,
        now: datetime,
        moved: bool,
        move_finished: bool,
        told: bool = False,
        direction: str | None = None,
        move_kind: str | None = None,
        manual: bool = False,
        automatic_moves: tuple[datetime, ...] | None = None,
    ) -> None:
        """Give the lease back and remember how the trigger ended.

        `moved`: the interfaces are on the target now (the last move's time is what makes
        older triggers stale). `move_finished`: the journal is no longer needed; a move cut
        short keeps it so the next attempt knows which network card and device index to
        restore. `told`: the outcome was published. `move_kind`: what made the move (with
        `manual` for an operator's), `automatic_moves`: the recent automatic moves, this one
        included. If our lease expired and someone else took the pair, their record wins.
        """
        sets = [
            "last_outcome = :outcome",
            "last_outcome_at = :now",
            "last_outcome_summary = :summary",
            "last_trigger_id = :trigger",
        ]
        if direction:
            sets.append("last_direction = :direction")
        values: dict[str, Any] = {}
        removes = list(LEASE_ATTRIBUTES)
        if moved:
            sets += ["last_move_at = :now", "last_move_trigger_id = :trigger"]
            # A move starts any failback watch afresh.
            removes.append("healthy_since")
            if move_kind is not None:
                sets += ["last_move_kind = :kind", "manual_hold = :manual"]
                values |= {":kind": {"S": move_kind}, ":manual": {"BOOL": manual}}
            if automatic_moves is not None:
                sets.append("automatic_moves = :moves")
                values[":moves"] = {"L": [{"S": m.isoformat()} for m in automatic_moves]}
        if told:
            sets.append("last_told_trigger_id = :trigger")
        else:
            removes.append("last_told_trigger_id")
        if move_finished:
            removes += ["journal", "journal_addresses", "journal_trigger_id"]
        self._update(
            pair_name,
            f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            condition="lease_owner = :owner",
            values={
                ":outcome": {"S": outcome},
                ":now": {"S": now.isoformat()},
                ":summary": {"S": summary[:1000]},
                ":trigger": {"S": trigger_id},
                ":owner": {"S": owner},
                **({":direction": {"S": direction}} if direction else {}),
                **values,
            },
        )

    def give_back(self, pair_name: str, *, owner: str) -> None:
        """Release the lease and change nothing else (a trigger that was answered already)."""
        self._update(
            pair_name,
            f"REMOVE {', '.join(LEASE_ATTRIBUTES)}",
            condition="lease_owner = :owner",
            values={":owner": {"S": owner}},
        )

    def read(self, pair_name: str) -> PairRecord:
        try:
            response = self.client.get_item(
                TableName=self.table, Key=_key(pair_name), ConsistentRead=True
            )
        except AWS_ERRORS as error:
            raise AwsCallFailed.from_client_error("GetItem", error) from error
        return _record(response.get("Item", {}))

    def set_paused(self, pair_name: str, *, by: str | None, now: datetime | None) -> None:
        """Pause (a time and who) or resume (None) automatic failover of a pair.

        Resuming is the operator's word that automation may act again: it also ends the hold
        of a manual move, and the flap limit counts afresh.
        """
        if now is None:
            self._update(
                pair_name,
                "REMOVE paused_at, paused_by, automatic_moves, healthy_since SET manual_hold = :no",
                values={":no": {"BOOL": False}},
            )
        else:
            self._update(
                pair_name,
                "SET paused_at = :at, paused_by = :by",
                values={":at": {"S": now.isoformat()}, ":by": {"S": by or "an operator"}},
            )

    def open_drill_window(self, pair_name: str, *, by: str, until: datetime) -> None:
        """Let automatic triggers move a healthy primary's interface until `until` (a drill)."""
        self._update(
            pair_name,
            "SET drill_until = :until, drill_by = :by",
            values={":until": {"S": until.isoformat()}, ":by": {"S": by}},
        )

    def close_drill_window(self, pair_name: str) -> None:
        self._update(pair_name, "REMOVE drill_until, drill_by")

    def set_healthy_since(self, pair_name: str, since: datetime | None) -> None:
        """Start (a time) or restart (None) the failback watch of a failed-over pair."""
        if since is None:
            self._update(pair_name, "REMOVE healthy_since")
        else:
            self._update(
                pair_name, "SET healthy_since = :since", values={":since": {"S": since.isoformat()}}
            )

    def record_fence(
        self,
        pair_name: str,
        *,
        mode: str,
        instance_id: str,
        at: datetime,
        isolated: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        """Remember a fence: `isolate` keeps each interface's groups for failback to restore."""
        sets = ["fence_mode = :mode", "fenced_at = :at", "fenced_instance_id = :instance"]
        values: dict[str, Any] = {
            ":mode": {"S": mode},
            ":at": {"S": at.isoformat()},
            ":instance": {"S": instance_id},
        }
        if isolated:
            sets.append("isolated_interfaces = :isolated")
            values[":isolated"] = {
                "M": {
                    interface_id: {"L": [{"S": g} for g in groups]}
                    for interface_id, groups in isolated.items()
                }
            }
        self._update(pair_name, f"SET {', '.join(sets)}", values=values)

    def clear_fence(self, pair_name: str) -> None:
        self._update(
            pair_name,
            "REMOVE fence_mode, fenced_at, fenced_instance_id, isolated_interfaces, "
            "isolated_interface_id, isolated_groups",
        )

    def record_forced_detach(
        self, pair_name: str, *, instance_id: str, at: datetime, launch_time: datetime | None
    ) -> None:
        """Remember that a move forcibly detached an interface from this instance."""
        sets = ["forced_detach_instance_id = :instance", "forced_detach_at = :at"]
        values: dict[str, Any] = {":instance": {"S": instance_id}, ":at": {"S": at.isoformat()}}
        removes = ""
        if launch_time is not None:
            sets.append("forced_detach_launch_time = :launched")
            values[":launched"] = {"S": launch_time.isoformat()}
        else:
            removes = " REMOVE forced_detach_launch_time"
        self._update(pair_name, f"SET {', '.join(sets)}{removes}", values=values)

    def clear_forced_detach(self, pair_name: str) -> None:
        self._update(
            pair_name,
            "REMOVE forced_detach_instance_id, forced_detach_at, forced_detach_launch_time",
        )

    def note_check(self, pair_name: str, verdict: str, *, at: datetime, by: str) -> None:
        """Remember the verdict of any readiness check, for `status` to show."""
        self._update(
            pair_name,
            "SET checked_readiness = :verdict, checked_at = :at, checked_by = :by",
            values={":verdict": {"S": verdict}, ":at": {"S": at.isoformat()}, ":by": {"S": by}},
        )

    def swap_readiness(self, pair_name: str, verdict: str) -> str | None:
        """Store the latest readiness verdict and return the one before it."""
        response = self._update(
            pair_name,
            "SET readiness = :verdict",
            values={":verdict": {"S": verdict}},
            returns="ALL_OLD",  # UPDATED_OLD may omit an attribute set to the same value
        )
        previous = (response or {}).get("Attributes", {}).get("readiness", {}).get("S")
        return str(previous) if previous else None

    def _update(
        self,
        pair_name: str,
        expression: str,
        *,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        returns: str = "NONE",
    ) -> dict[str, Any] | None:
        """One UpdateItem on the pair's item; None when its condition did not hold."""
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "Key": _key(pair_name),
            "UpdateExpression": expression,
            "ReturnValues": returns,
        }
        if condition is not None:
            arguments["ConditionExpression"] = condition
        if values:
            arguments["ExpressionAttributeValues"] = values
        try:
            return dict(self.client.update_item(**arguments))
        except AWS_ERRORS as error:
            if (
                isinstance(error, ClientError)
                and condition is not None
                and _code(error) == "ConditionalCheckFailedException"
            ):
                return None
            raise AwsCallFailed.from_client_error("UpdateItem", error) from error


# Everything the lease item says about the lease: released together.
LEASE_ATTRIBUTES = (
    "lease_owner",
    "lease_expires_at",
    "lease_since",
    "lease_kind",
    "lease_request_id",
    "lease_host",
    "lease_pid",
    "lease_user",
)


def _lease(item: dict[str, Any]) -> Lease | None:
    owner = item.get("lease_owner", {}).get("S")
    expires = item.get("lease_expires_at", {}).get("N")
    if not owner or expires is None:
        return None
    text = {
        name: str(item[name]["S"]) if item.get(name, {}).get("S") else None
        for name in ("lease_since", "lease_kind", "lease_request_id", "lease_host", "lease_user")
    }
    pid = item.get("lease_pid", {}).get("N")
    since = text["lease_since"]
    return Lease(
        owner=str(owner),
        # A lease taken before holders were recorded was the function's, by request ID.
        holder=LeaseHolder(
            kind=text["lease_kind"] or HOLDER_FUNCTION,
            request_id=text["lease_request_id"] or str(owner).split(":", 1)[0],
            host=text["lease_host"],
            pid=int(pid) if pid is not None else None,
            user=text["lease_user"],
        ),
        since=datetime.fromisoformat(since) if since else None,
        expires_at=datetime.fromtimestamp(float(expires), UTC),
    )


def _key(pair_name: str) -> dict[str, Any]:
    # Prefixed so pair records never collide with Powertools' idempotency records.
    return {"id": {"S": f"pair#{pair_name}"}}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _record(item: dict[str, Any]) -> PairRecord:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return str(value) if value else None

    def when(name: str) -> datetime | None:
        value = text(name)
        return datetime.fromisoformat(value) if value else None

    journal = tuple(
        PlannedMove(
            interface_id=entry["M"]["interface_id"]["S"],
            device_index=int(entry["M"]["device_index"]["N"]),
            from_instance_id=entry["M"]["from_instance_id"]["S"] or None,
            to_instance_id=entry["M"]["to_instance_id"]["S"],
            # Journals written before network cards were recorded: card 0, where they were.
            network_card_index=int(entry["M"].get("network_card_index", {}).get("N", "0")),
        )
        for entry in item.get("journal", {}).get("L", [])
    )
    journal_addresses = tuple(
        PlannedAddress(
            key=entry["M"]["key"]["S"],
            from_instance_id=entry["M"]["from_instance_id"]["S"] or None,
            to_instance_id=entry["M"]["to_instance_id"]["S"],
        )
        for entry in item.get("journal_addresses", {}).get("L", [])
    )
    isolated = tuple(
        (interface_id, tuple(str(g["S"]) for g in groups.get("L", [])))
        for interface_id, groups in item.get("isolated_interfaces", {}).get("M", {}).items()
    )
    legacy_groups = tuple(str(g["S"]) for g in item.get("isolated_groups", {}).get("L", []))
    if not isolated and text("isolated_interface_id") and legacy_groups:
        # Written when isolate changed the primary interface only.
        isolated = ((str(text("isolated_interface_id")), legacy_groups),)
    return PairRecord(
        journal_trigger_id=text("journal_trigger_id"),
        journal=journal,
        journal_addresses=journal_addresses,
        last_move_trigger_id=text("last_move_trigger_id"),
        last_move_at=when("last_move_at"),
        last_trigger_id=text("last_trigger_id"),
        last_outcome=text("last_outcome"),
        last_outcome_at=when("last_outcome_at"),
        last_outcome_summary=text("last_outcome_summary"),
        last_told_trigger_id=text("last_told_trigger_id"),
        paused_at=when("paused_at"),
        paused_by=text("paused_by"),
        readiness=text("readiness"),
        last_direction=text("last_direction"),
        checked_readiness=text("checked_readiness"),
        checked_at=when("checked_at"),
        checked_by=text("checked_by"),
        drill_until=when("drill_until"),
        drill_by=text("drill_by"),
        last_move_kind=text("last_move_kind"),
        manual_hold=bool(item.get("manual_hold", {}).get("BOOL", False)),
        healthy_since=when("healthy_since"),
        automatic_moves=tuple(
            datetime.fromisoformat(moved["S"])
            for moved in item.get("automatic_moves", {}).get("L", [])
        ),
        fence_mode=text("fence_mode"),
        fenced_at=when("fenced_at"),
        fenced_instance_id=text("fenced_instance_id"),
        isolated_interfaces=isolated,
        isolated_interface_id=text("isolated_interface_id"),
        isolated_groups=tuple(dict.fromkeys(g for _i, groups in isolated for g in groups)),
        forced_detach_instance_id=text("forced_detach_instance_id"),
        forced_detach_at=when("forced_detach_at"),
        forced_detach_launch_time=when("forced_detach_launch_time"),
        lease=_lease(item),
    )
