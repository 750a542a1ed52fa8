"""Replacing one part of docs/benchmarks.md (its summary line and its section) with a run of
that part alone (`python -m bench --only ...`), leaving the rest of the report as it was."""

from __future__ import annotations

import re
from collections.abc import Sequence


def splice_part(
    report: str,
    *,
    summary_starts: Sequence[str],
    summary: str,
    section_start: str,
    section: str,
    before: str,
) -> str:
    """The report with the part's summary line (the line beginning with one of
    `summary_starts`, else added under "## Summary") and its section (from the heading
    beginning with `section_start` to the next "## ", else added before the heading
    beginning with `before`) replaced."""
    lines = report.splitlines()
    at = next((i for i, text in enumerate(lines) if text.startswith(tuple(summary_starts))), None)
    if at is not None:
        lines[at] = summary
    else:
        heading = lines.index("## Summary")
        lines[heading + 1 : heading + 1] = ["", summary]
    text = "\n".join(lines) + "\n"
    existing = re.search(
        rf"^{re.escape(section_start)}.*?\n.*?(?=^## )", text, flags=re.MULTILINE | re.DOTALL
    )
    if existing:
        return text[: existing.start()] + section + "\n\n" + text[existing.end() :]
    limits = text.index(before)
    return text[:limits] + section + "\n\n" + text[limits:]
