"""`eni-failover history [PAIR]`: what happened to each pair, newest first.

The function writes an entry for every outcome it publishes (automatic triggers and
operators' failover and failback requests alike); the CLI writes one for each action it
carries out itself with the operator's credentials (pause, resume, a drill). Entries live in
the state table and expire after the stack's retention (eni_failover.history).
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError

from eni_failover.errors import AwsCallFailed
from eni_failover.history import DEFAULT_RETENTION_DAYS, History, HistoryEntry
from eni_failover_cli.console import columns
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.errors import CliError, ExitCode

DEFAULT_LIMIT = 20
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
EXPECT_SINCE = "an ISO time (2026-11-26T09:00, UTC unless it says) or a duration: 30m, 2h, 7d, 2w"


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """--since: an ISO time, or a duration back from now; ValueError names both forms."""
    duration = _DURATION.fullmatch(text.strip().lower())
    if duration is not None:
        amount, unit = int(duration.group(1)), _UNITS[duration.group(2)]
        return (now or datetime.now(UTC)) - timedelta(**{unit: amount})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not {EXPECT_SINCE}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def history_of(deployment: Deployment) -> History:
    retention = deployment.outputs.history_retention_days or DEFAULT_RETENTION_DAYS
    return History(
        deployment.clients.dynamodb,
        deployment.outputs.state_table_name,
        retention_days=retention,
    )


def run(
    deployment: Deployment, pair_name: str | None, *, since: datetime | None, limit: int
) -> tuple[ExitCode, dict[str, Any], str]:
    pairs = deployment.selected(pair_name)
    history = history_of(deployment)
    entries: list[HistoryEntry] = []
    try:
        for pair in pairs:
            entries += history.read(pair.name, since=since, limit=limit)
    except AwsCallFailed as error:
        if "index" in str(error).lower():
            raise CliError(
                f"the state table has no history index ({error}): the stack predates the "
                "history; `npx cdk deploy` adds it"
            ) from error
        raise
    entries = sorted(entries, key=lambda e: e.at, reverse=True)[:limit]
    data = {
        "where": deployment.where,
        "pair": pair_name,
        "pairs": [p.name for p in pairs],
        "since": since,
        "limit": limit,
        "entries": [e.as_dict() for e in entries],
    }
    return ExitCode.OK, data, describe(data, retention_days=history.retention_days)


def describe(data: dict[str, Any], *, retention_days: int) -> str:
    which = f"pair {data['pair']}" if data["pair"] else "every pair"
    since = f" since {_time(data['since'])}" if data["since"] else ""
    entries = data["entries"]
    if not entries:
        return (
            f"No history for {which}{since} on {data['where']} "
            f"(entries are kept {retention_days} days)."
        )
    rows = [("WHEN", "PAIR", "WHAT", "OUTCOME", "TOOK", "BY", "TRIGGER")]
    for entry in entries:
        took = entry["swap_seconds"]
        rows.append(
            (
                _time(entry["at"]),
                entry["pair"],
                entry["action"],
                entry["outcome"],
                f"{took:.1f} s" if took is not None else "-",
                entry["by"],
                entry["trigger"],
            )
        )
    shown = f"the last {len(entries)}" if len(entries) == data["limit"] else str(len(entries))
    head = f"History of {which}{since} on {data['where']}, newest first ({shown}):"
    lines = [head, *columns(rows)]
    # Where each route, Elastic IP and secondary IP was after each move, newest first.
    moved = [e for e in entries if e.get("addresses")]
    if moved:
        lines += ["", "Addresses after each outcome:"]
        for entry in moved:
            lines.append(f"  {_time(entry['at'])} {entry['pair']} {entry['action']}:")
            lines += [f"    {address}" for address in entry["addresses"]]
    return "\n".join(lines)


def _time(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def record_action(
    deployment: Deployment,
    *,
    pair: str,
    action: str,
    outcome: str,
    by: str,
    trigger: str,
    summary: str = "",
    addresses: tuple[str, ...] = (),
) -> list[str]:
    """Write an operator's action to the history; a warning if it could not be written.
    `addresses`: where the pair's interfaces and addresses were, one line each."""
    now = datetime.now(UTC)
    entry = HistoryEntry(
        at=now,
        pair=pair,
        action=action,
        trigger=trigger,
        outcome=outcome,
        by=by,
        summary=summary,
        entry_id=f"{action}-{now.timestamp():.6f}",
        addresses=addresses,
    )
    try:
        history_of(deployment).record(entry)
    except (AwsCallFailed, BotoCoreError) as error:
        # The action itself is done; only its line in `history` is missing.
        return [f"the {action} was not written to the history: {error}"]
    return []


def since_argument(text: str) -> datetime:
    """argparse's type for --since: a usage error (exit 2) before anything is asked."""
    try:
        return parse_since(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def limit_argument(text: str) -> int:
    """argparse's type for --limit: a whole number of entries, at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of entries of at least 1, got {text!r}"
        )
    return int(text)
