"""The Markdown every benchmark report writes: seconds, milliseconds and tables."""

from __future__ import annotations

import math
from collections.abc import Sequence


def seconds(value: float | None, digits: int = 2) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.{digits}f} s"


def millis(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines)
