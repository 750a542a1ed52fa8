"""The pairs' history: every handled trigger and every operator action, newest first.

Kept in the state table, with no table of its own: each entry is one item (`id` is
history#PAIR#AT#ENTRY, so entries never collide with pair records or Powertools' idempotency
records), and a sparse global secondary index (HISTORY_INDEX: partition `history_pair`, sort
`history_at`) lists one pair's entries newest first with a single Query. Only history items
carry those two attributes, so the index holds nothing else. A sort key on the table itself
would have meant replacing the table of every deployed stack; an index is added in place.
Entries expire through the table's time-to-live attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from eni_failover.errors import AWS_ERRORS, AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HISTORY_INDEX = "history"
PAIR_ATTRIBUTE = "history_pair"
AT_ATTRIBUTE = "history_at"
# The state table's time-to-live attribute (eni_failover_cdk.state_table sets it on the table).
TTL_ATTRIBUTE = "expiration"
DEFAULT_RETENTION_DAYS = 90
# Who asked, for a trigger no person sent (an alarm, an EC2 event, the prober, the sweep).
AUTOMATIC = "automatic"


def sort_time(moment: datetime) -> str:
    """Fixed-width UTC ISO time: sorts as text in the order of time (the index's sort key)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One thing that happened to a pair."""

    at: datetime
    pair: str
    # failover | failback for a move; pause, resume, drill, ... for an operator's action.
    action: str
    # What set it off: the trigger as the notification says it, or the operator's command.
    trigger: str
    outcome: str  # swapped, refused, failed, already-in-place; paused, resumed, ...
    by: str  # who asked: the operator, or AUTOMATIC
    summary: str = ""
    # How long the move took (the swap's timeline); None when nothing moved.
    swap_seconds: float | None = None
    # Makes the item's key unique: the trigger's ID, or the operator request's.
    entry_id: str = ""
    # Where the pair's routes, Elastic IPs and secondary IPs were when the outcome was told
    # (AddressView.describe), so the history answers "where did the address go" too.
    addresses: tuple[str, ...] = ()

    @property
    def direction(self) -> str | None:
        return self.action if self.action in ("failover", "failback") else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "pair": self.pair,
            "action": self.action,
            "direction": self.direction,
            "trigger": self.trigger,
            "outcome": self.outcome,
            "swap_seconds": self.swap_seconds,
            "by": self.by,
            "summary": self.summary,
            "addresses": list(self.addresses),
        }


class History:
    """The history items in the state table; record is one PutItem, read one Query per pair."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        self.client = client
        self.table = table
        self.retention_days = retention_days

    def record(self, entry: HistoryEntry) -> None:
        at = sort_time(entry.at)
        expires = entry.at + timedelta(days=self.retention_days)
        item: dict[str, Any] = {
            "id": {"S": f"history#{entry.pair}#{at}#{entry.entry_id}"},
            PAIR_ATTRIBUTE: {"S": entry.pair},
            AT_ATTRIBUTE: {"S": at},
            "action": {"S": entry.action},
            "trigger": {"S": entry.trigger[:1000]},
            "outcome": {"S": entry.outcome},
            "by": {"S": entry.by[:200]},
            "summary": {"S": entry.summary[:1000]},
            TTL_ATTRIBUTE: {"N": str(int(expires.timestamp()))},
        }
        if entry.swap_seconds is not None:
            item["swap_seconds"] = {"N": f"{entry.swap_seconds:.3f}"}
        if entry.addresses:
            # A list, in the pair's order; each line short, and a pair's few addresses
            # keep the item far below DynamoDB's 400 KB.
            item["addresses"] = {"L": [{"S": a[:300]} for a in entry.addresses[:100]]}
        try:
            self.client.put_item(TableName=self.table, Item=item)
        except AWS_ERRORS as error:
            raise AwsCallFailed.from_client_error("PutItem", error) from error

    def read(
        self, pair: str, *, since: datetime | None = None, limit: int | None = None
    ) -> list[HistoryEntry]:
        """The pair's entries, newest first, at or after `since`, at most `limit`."""
        condition = "#pair = :pair"
        names = {"#pair": PAIR_ATTRIBUTE}
        values: dict[str, Any] = {":pair": {"S": pair}}
        if since is not None:
            condition += " AND #at >= :since"
            names["#at"] = AT_ATTRIBUTE
            values[":since"] = {"S": sort_time(since)}
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": HISTORY_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        entries: list[HistoryEntry] = []
        while limit is None or len(entries) < limit:
            if limit is not None:
                arguments["Limit"] = limit - len(entries)
            try:
                response = self.client.query(**arguments)
            except AWS_ERRORS as error:
                raise AwsCallFailed.from_client_error("Query", error) from error
            entries += [_entry(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                break
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return entries


def _entry(item: dict[str, Any]) -> HistoryEntry:
    def text(name: str) -> str:
        return str(item.get(name, {}).get("S", ""))

    seconds = item.get("swap_seconds", {}).get("N")
    return HistoryEntry(
        at=datetime.fromisoformat(text(AT_ATTRIBUTE)),
        pair=text(PAIR_ATTRIBUTE),
        action=text("action"),
        trigger=text("trigger"),
        outcome=text("outcome"),
        by=text("by"),
        summary=text("summary"),
        swap_seconds=float(seconds) if seconds is not None else None,
        entry_id=text("id").rsplit("#", 1)[-1],
        addresses=tuple(str(a.get("S", "")) for a in item.get("addresses", {}).get("L", [])),
    )
