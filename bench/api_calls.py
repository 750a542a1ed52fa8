"""AWS API calls per failover, by operation, against the minimum the move needs.

Counted with botocore event hooks on the caller's own clients (bench.lab.CallCounter), so
these are the calls the code made, whatever the endpoint did with them.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# The least any careful move needs: describe to find the attachment, detach, one describe
# that sees the interface available, attach, one describe that sees it attached.
MINIMUM: dict[str, int] = {
    "ec2:DescribeNetworkInterfaces": 3,
    "ec2:DetachNetworkInterface": 1,
    "ec2:AttachNetworkInterface": 1,
}

PURPOSE: dict[str, str] = {
    "ec2:DescribeNetworkInterfaces": "where the interface is before deciding; then one poll per "
    "poll interval until it is detached, and until it is attached",
    "ec2:DescribeInstances": "both instances before deciding (state, AZ, device indexes); the "
    "target once more right before the attach",
    "ec2:DescribeInstanceStatus": "both instances' status checks before deciding; the target's "
    "once more right before the attach",
    "ec2:DetachNetworkInterface": "the detach (Force at once for a failed primary; a second, "
    "forced one after the grace if a normal detach hangs)",
    "ec2:AttachNetworkInterface": "the attach",
    "dynamodb:PutItem": "idempotency record of the trigger, in progress (Powertools)",
    "dynamodb:UpdateItem": "lease taken; move journal written; lease released with the outcome; "
    "idempotency record completed (Powertools)",
    "dynamodb:GetItem": "idempotency record read back when the trigger was seen before",
    "sns:Publish": "the outcome notification to operators",
}


@dataclass(frozen=True)
class Column:
    title: str
    runs: tuple[Counter[str], ...]


@dataclass(frozen=True)
class Cell:
    median: float
    low: int
    high: int

    def text(self) -> str:
        middle = f"{self.median:g}"
        return middle if self.low == self.high else f"{middle} ({self.low}-{self.high})"


@dataclass(frozen=True)
class Row:
    operation: str
    minimum: int | None
    cells: tuple[Cell, ...]
    purpose: str


def call_rows(columns: Sequence[Column]) -> list[Row]:
    operations = sorted(
        {op for column in columns for run in column.runs for op in run} | set(MINIMUM),
        key=lambda op: (not op.startswith("ec2:"), op not in MINIMUM, op),
    )
    rows = []
    for operation in operations:
        cells = []
        for column in columns:
            counts = [run.get(operation, 0) for run in column.runs] or [0]
            cells.append(Cell(statistics.median(counts), min(counts), max(counts)))
        rows.append(
            Row(operation, MINIMUM.get(operation), tuple(cells), PURPOSE.get(operation, ""))
        )
    return rows


def totals(column: Column, service: str | None = None) -> Cell:
    counts = [
        sum(n for op, n in run.items() if service is None or op.startswith(f"{service}:"))
        for run in column.runs
    ] or [0]
    return Cell(statistics.median(counts), min(counts), max(counts))
