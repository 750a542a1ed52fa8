"""docs/operating.md's "Requests to the function" is the contract the function parses.

The tables name every field of eni_failover.contract.OperatorRequest with its default, and
every action; each request shown is one the function accepts, and the same request the CLI
would build.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from eni_failover import contract
from eni_failover.operations import parse_request

OPERATING = Path(__file__).resolve().parents[2] / "docs" / "operating.md"
HEADING = "## Requests to the function"


def section() -> str:
    text = OPERATING.read_text()
    start = text.index(HEADING)
    end = text.find("\n## ", start + len(HEADING))
    return text[start : end if end >= 0 else None]


def table(first_header: str) -> list[list[str]]:
    """The rows of the table whose first column is `first_header`, cells stripped."""
    lines = section().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def documented_default(cell: str) -> object:
    if cell == "required":
        return ...
    if cell == "none":
        return None
    [value] = code_spans(cell)
    return {"false": False, "true": True}.get(value, value)


def test_every_field_is_documented_with_its_default() -> None:
    # Given the fields table of the guide
    rows = {code_spans(row[0])[0]: row for row in table("Field")}
    fields = contract.OperatorRequest.model_fields
    # Then it names exactly the fields the function parses
    assert set(rows) == set(fields)
    # And each default is the function's
    for name, field in fields.items():
        default = ... if field.is_required() else field.default
        assert documented_default(rows[name][2]) == default, name


def test_every_action_is_documented() -> None:
    # Given the field table's action row and the actions table
    [action_row] = [row for row in table("Field") if code_spans(row[0]) == ["action"]]
    answered = {name for row in table("Action") for name in code_spans(row[0])}
    # Then both name exactly the actions the function answers
    assert set(code_spans(action_row[1])) == set(contract.ACTIONS)
    assert answered == set(contract.ACTIONS)


def test_every_request_shown_is_one_the_function_accepts_as_sent() -> None:
    # Given the requests the guide shows
    [block] = re.findall(r"```json\n(.*?)```", section(), flags=re.DOTALL)
    shown = [json.loads(line) for line in block.splitlines() if line.strip()]
    assert {request["action"] for request in shown} == set(contract.ACTIONS)
    for request in shown:
        # Then the function parses each, and the contract builds the same, defaults left out
        parsed = parse_request(request)
        fields = {k: v for k, v in request.items() if k != "action"}
        assert contract.operator_request(parsed.action, **fields) == request
