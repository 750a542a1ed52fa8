"""How a command speaks: readable text by default, one JSON document with --json.

Progress lines (a drill's waiting) are for people and are left out of --json output, so
a script always reads exactly one JSON document from stdout. Problems go to stderr.
"""

from __future__ import annotations

import getpass
import json
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO


@dataclass
class Console:
    json_mode: bool = False
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def progress(self, text: str) -> None:
        if not self.json_mode:
            print(text, file=self.stdout, flush=True)

    def result(self, data: dict[str, Any], text: str) -> None:
        if self.json_mode:
            print(json.dumps(data, indent=2, default=_jsonable), file=self.stdout, flush=True)
        else:
            print(text, file=self.stdout, flush=True)

    def problem(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def default_operator() -> str:
    """Who is asking, as the function records and announces it: user@host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = "an operator"
    return f"{user}@{socket.gethostname()}"


def when(moment: datetime | None, *, now: datetime | None = None) -> str:
    """'2026-11-26 09:15:02 UTC (3 min ago)', or 'never'."""
    if moment is None:
        return "never"
    moment = moment.astimezone(UTC)
    now = now or datetime.now(UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({ago((now - moment).total_seconds())})"


def ago(seconds: float) -> str:
    if seconds < 0:
        return f"in {ago(-seconds).removesuffix(' ago')}"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def columns(rows: Sequence[Sequence[str]], *, indent: int = 2, gap: int = 2) -> list[str]:
    """Rows as aligned columns (the last column is not padded)."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows if len(row) > i) for i in range(max(map(len, rows)))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + list(row[-1:])
        lines.append(" " * indent + (" " * gap).join(cells).rstrip())
    return lines
