"""The pair's lease and memory in DynamoDB: one invocation moves a pair at a time.

Triggers for different pairs run side by side; two triggers for the same pair (the alarm
and the state-change event of one failure, or a redelivery) take turns through a
conditional write. The lease expires on its own, so an invocation that Lambda killed
mid-move cannot block the pair: the next one takes over and resumes from the journal.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from eni_failover.errors import AwsCallFailed
from eni_failover.state import PairRecord, PlannedMove

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _key(pair_name: str) -> dict[str, Any]:
    # Prefixed so pair records never collide with Powertools' idempotency records.
    return {"id": {"S": f"pair#{pair_name}"}}


def _failed(operation: str, error: ClientError) -> AwsCallFailed:
    details = error.response.get("Error", {})
    return AwsCallFailed(operation, details.get("Code", "Unknown"), details.get("Message", ""))


def _conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def try_acquire(
    client: DynamoDBClient,
    table: str,
    pair_name: str,
    *,
    owner: str,
    now: datetime,
    hold_seconds: float,
) -> PairRecord | None:
    """Take the lease if it is free or expired; None if someone else holds it."""
    try:
        response = client.update_item(
            TableName=table,
            Key=_key(pair_name),
            UpdateExpression="SET lease_owner = :owner, lease_expires_at = :expires",
            ConditionExpression=(
                "attribute_not_exists(lease_owner) OR lease_expires_at < :now "
                "OR lease_owner = :owner"
            ),
            ExpressionAttributeValues={
                ":owner": {"S": owner},
                ":expires": {"N": f"{now.timestamp() + hold_seconds:.3f}"},
                ":now": {"N": f"{now.timestamp():.3f}"},
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if _conditional_failure(error):
            return None
        raise _failed("UpdateItem", error) from error
    return _record(response.get("Attributes", {}))


def write_journal(
    client: DynamoDBClient,
    table: str,
    pair_name: str,
    *,
    owner: str,
    trigger_id: str,
    moves: tuple[PlannedMove, ...],
) -> None:
    """Note the move before the first change, so whoever resumes it knows the plan."""
    journal = {
        "L": [
            {
                "M": {
                    "interface_id": {"S": m.interface_id},
                    "device_index": {"N": str(m.device_index)},
                    "from_instance_id": {"S": m.from_instance_id or ""},
                    "to_instance_id": {"S": m.to_instance_id},
                }
            }
            for m in moves
        ]
    }
    try:
        client.update_item(
            TableName=table,
            Key=_key(pair_name),
            UpdateExpression="SET journal = :journal, journal_trigger_id = :trigger",
            ConditionExpression="lease_owner = :owner",
            ExpressionAttributeValues={
                ":journal": journal,
                ":trigger": {"S": trigger_id},
                ":owner": {"S": owner},
            },
        )
    except ClientError as error:
        raise _failed("UpdateItem", error) from error


def release(
    client: DynamoDBClient,
    table: str,
    pair_name: str,
    *,
    owner: str,
    trigger_id: str,
    outcome: str,
    summary: str,
    now: datetime,
    moved: bool,
    move_finished: bool,
) -> None:
    """Give the lease back and remember how the trigger ended.

    `moved`: the interfaces are on the target now (the last move's time is what makes
    older triggers stale). `move_finished`: the journal is no longer needed; a move cut
    short keeps it so the next attempt knows which device index to restore.
    """
    sets = [
        "last_outcome = :outcome",
        "last_outcome_at = :now",
        "last_outcome_summary = :summary",
        "last_trigger_id = :trigger",
    ]
    values: dict[str, Any] = {
        ":outcome": {"S": outcome},
        ":now": {"S": now.isoformat()},
        ":summary": {"S": summary[:1000]},
        ":trigger": {"S": trigger_id},
        ":owner": {"S": owner},
    }
    if moved:
        sets += ["last_move_at = :now", "last_move_trigger_id = :trigger"]
    removes = ["lease_owner", "lease_expires_at"]
    if move_finished:
        removes += ["journal", "journal_trigger_id"]
    try:
        client.update_item(
            TableName=table,
            Key=_key(pair_name),
            UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            ConditionExpression="lease_owner = :owner",
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if _conditional_failure(error):
            # Our lease expired and someone else took the pair: their record wins.
            return
        raise _failed("UpdateItem", error) from error


def read(client: DynamoDBClient, table: str, pair_name: str) -> PairRecord:
    try:
        response = client.get_item(TableName=table, Key=_key(pair_name), ConsistentRead=True)
    except ClientError as error:
        raise _failed("GetItem", error) from error
    return _record(response.get("Item", {}))


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
        )
        for entry in item.get("journal", {}).get("L", [])
    )
    return PairRecord(
        journal_trigger_id=text("journal_trigger_id"),
        journal=journal,
        last_move_trigger_id=text("last_move_trigger_id"),
        last_move_at=when("last_move_at"),
        last_trigger_id=text("last_trigger_id"),
        last_outcome=text("last_outcome"),
        last_outcome_at=when("last_outcome_at"),
        last_outcome_summary=text("last_outcome_summary"),
        paused_at=when("paused_at"),
        paused_by=text("paused_by"),
        readiness=text("readiness"),
        drill_until=when("drill_until"),
        drill_by=text("drill_by"),
    )


def set_paused(
    client: DynamoDBClient, table: str, pair_name: str, *, by: str | None, now: datetime | None
) -> None:
    """Pause (a time and who) or resume (None) automatic failover of a pair."""
    try:
        if now is None:
            client.update_item(
                TableName=table, Key=_key(pair_name), UpdateExpression="REMOVE paused_at, paused_by"
            )
        else:
            client.update_item(
                TableName=table,
                Key=_key(pair_name),
                UpdateExpression="SET paused_at = :at, paused_by = :by",
                ExpressionAttributeValues={
                    ":at": {"S": now.isoformat()},
                    ":by": {"S": by or "an operator"},
                },
            )
    except ClientError as error:
        raise _failed("UpdateItem", error) from error


def open_drill_window(
    client: DynamoDBClient, table: str, pair_name: str, *, by: str, until: datetime
) -> None:
    """Let automatic triggers move a healthy primary's interface until `until` (a drill)."""
    try:
        client.update_item(
            TableName=table,
            Key=_key(pair_name),
            UpdateExpression="SET drill_until = :until, drill_by = :by",
            ExpressionAttributeValues={":until": {"S": until.isoformat()}, ":by": {"S": by}},
        )
    except ClientError as error:
        raise _failed("UpdateItem", error) from error


def close_drill_window(client: DynamoDBClient, table: str, pair_name: str) -> None:
    try:
        client.update_item(
            TableName=table, Key=_key(pair_name), UpdateExpression="REMOVE drill_until, drill_by"
        )
    except ClientError as error:
        raise _failed("UpdateItem", error) from error


def swap_readiness(client: DynamoDBClient, table: str, pair_name: str, verdict: str) -> str | None:
    """Store the latest readiness verdict and return the one before it."""
    try:
        response = client.update_item(
            TableName=table,
            Key=_key(pair_name),
            UpdateExpression="SET readiness = :verdict",
            ExpressionAttributeValues={":verdict": {"S": verdict}},
            ReturnValues="ALL_OLD",  # UPDATED_OLD may omit an attribute set to the same value
        )
    except ClientError as error:
        raise _failed("UpdateItem", error) from error
    previous = response.get("Attributes", {}).get("readiness", {}).get("S")
    return str(previous) if previous else None
