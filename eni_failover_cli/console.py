"""How a command speaks: readable text by default, one JSON document with --json.

Progress lines (a drill's waiting) are for people and are left out of --json output, so
a script always reads exactly one JSON document from stdout. Problems go to stderr.

On a terminal, a command that waits shows a live line saying what for, and the verdicts
(PASS, FAIL, READY, PAUSED, ...) are in colour unless NO_COLOR is set. Both come from rich,
which handles what a hand-rolled spinner gets wrong (redrawing around other output, width,
Windows consoles, NO_COLOR, cleaning up on Ctrl-C); it is imported only when a terminal is
there to use it, so a script's `eni-failover --json ...` never pays for it. Without a
terminal the waiting is one plain line on stderr and nothing is coloured.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console as RichConsole
    from rich.status import Status

# The verdicts' colours.
VERDICT_STYLES = (
    (r"\bPASS\b", "bold green"),
    (r"(?<!NOT )\bREADY\b", "bold green"),
    (r"\bPAUSED\b", "bold yellow"),
    (r"\bINCONCLUSIVE\b", "bold yellow"),
    (r"\bFAIL(ED)?\b", "bold red"),
    (r"\bNOT READY\b", "bold red"),
    (r"\bNOT ANSWERING\b", "bold red"),
)


@dataclass
class Console:
    json_mode: bool = False
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    # The live line while a command waits (on a terminal only).
    _status: Status | None = field(default=None, init=False, repr=False)

    @property
    def terminal(self) -> bool:
        """A person is reading: stdout is a terminal, and not JSON for a script."""
        return not self.json_mode and _is_terminal(self.stdout)

    @property
    def colour(self) -> bool:
        """https://no-color.org: NO_COLOR set to anything but empty turns colour off."""
        return self.terminal and not os.environ.get("NO_COLOR")

    def progress(self, text: str) -> None:
        if not self.json_mode:
            self._say(text)

    def result(self, data: dict[str, Any], text: str) -> None:
        if self.json_mode:
            print(json.dumps(data, indent=2, default=_jsonable), file=self.stdout, flush=True)
        else:
            self._say(text)

    def problem(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    @contextmanager
    def waiting(self, text: str) -> Iterator[Callable[[str], None]]:
        """Say what the command is waiting for while it waits; yield a function that
        changes the live line (a countdown, the next hop). Without a terminal, the text is
        one plain line on stderr and the changes are not printed (they would be noise in a
        log); with --json, nothing."""
        if self.json_mode:
            yield _ignore
            return
        if not self.terminal:
            print(f"{text} ...", file=self.stderr, flush=True)
            yield _ignore
            return
        if self._status is not None:  # already waiting: the one live line says what for now
            self._status.update(text)
            yield self._status.update
            return
        status = self._rich().status(text, spinner="dots")
        self._status = status
        status.start()
        try:
            yield status.update
        finally:
            status.stop()
            self._status = None

    def _say(self, text: str) -> None:
        if not self.terminal:
            print(text, file=self.stdout, flush=True)
            return
        from rich.text import Text  # noqa: PLC0415 - only when a terminal is there

        styled = Text(text)
        if self.colour:  # else plain: NO_COLOR means no escape codes, not only no hues
            for pattern, style in VERDICT_STYLES:
                styled.highlight_regex(pattern, style)
        # Through the live line's console while it shows, so the line redraws below.
        console = self._status.console if self._status is not None else self._rich()
        console.print(styled, soft_wrap=True)

    def _rich(self) -> RichConsole:
        from rich.console import Console as RichConsole  # noqa: PLC0415 - import time

        return RichConsole(
            file=self.stdout,
            force_terminal=True,
            no_color=not self.colour,
            highlight=False,
            markup=False,
            emoji=False,
        )


def _ignore(_: str) -> None:
    """A live line's update where there is no live line."""


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def default_operator() -> str:
    """Who is asking, as the function records and announces it: user@host."""
    return f"{login_name() or 'an operator'}@{socket.gethostname()}"


def login_name() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return None


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
