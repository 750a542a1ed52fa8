"""DynamoDB read units, as DynamoDB bills them: what the shared looks cost one partition.

Every poll of every sharing move reads its zone's snapshot item strongly consistently, and
one item lives in one partition, which serves at most 3,000 read units a second (AWS-FACTS:
DynamoDB). A strongly consistent read costs one unit per 4 KB of the item, rounded up (a
read that finds nothing still costs one); an eventually consistent read half that.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

PARTITION_READ_UNITS = 3000
READ_UNIT_BYTES = 4096


def item_size(item: Mapping[str, Any]) -> int:
    """An item's size by DynamoDB's rule: each attribute's name plus its value, in bytes."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    [(kind, content)] = value.items()
    if kind in ("S", "B"):
        return len(content.encode() if isinstance(content, str) else content)
    if kind == "N":
        # About one byte per two significant digits, plus one.
        digits = len(content.lstrip("-").replace(".", "").strip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in content)
    # Sets: the sum of their members.
    return sum(len(str(member).encode()) for member in content)


def read_units(size: int, *, consistent: bool) -> float:
    """What one GetItem of an item this size costs (a missing item: size 0)."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2
