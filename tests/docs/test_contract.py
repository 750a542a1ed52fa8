"""What the stack, the CLI, the emulator and the function agree on is spelled once.

eni_failover.contract holds the stack's output names, the handlers and the requests the
function answers. A copy elsewhere would agree today and drift tomorrow, showing only when
one side is deployed against the other; so the shipped code is read here for any such copy.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from eni_failover import contract
from eni_failover.errors import InvalidRequest
from eni_failover.operations import parse_request

ROOT = Path(__file__).resolve().parents[2]
# The four parts, the app that composes the stack, and the benchmarks that drive them; tests
# may spell the contract out (they pin it).
SHIPPED = (
    "lambda/eni_failover",
    "eni_failover_cdk",
    "eni_failover_cli",
    "eni_failover_emulator",
    "bench",
)
CONTRACT = ROOT / "lambda" / "eni_failover" / "contract.py"

OUTPUT_NAMES = {value for name, value in vars(contract).items() if name.startswith("OUTPUT_")}
HANDLERS = {contract.FUNCTION_HANDLER, contract.PROBER_HANDLER}


def shipped_files() -> Iterator[Path]:
    for directory in SHIPPED:
        yield from (p for p in sorted((ROOT / directory).rglob("*.py")) if p != CONTRACT)
    yield ROOT / "app.py"


def string_literals(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def hand_written_requests(path: Path) -> Iterator[int]:
    """Dict literals that are a request: an "action" key whose value is one of the actions
    (the history's entries also have an "action", never a literal one)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            if (
                isinstance(key, ast.Constant)
                and key.value == contract.REQUEST_KEY
                and isinstance(value, ast.Constant)
                and value.value in contract.ACTIONS
            ):
                yield node.lineno


def test_the_contract_names_every_output_and_both_handlers() -> None:
    # Given the contract module, When its names are read, Then they are the deployed ones
    assert "FunctionName" in OUTPUT_NAMES
    assert "StateRuleName" in OUTPUT_NAMES
    assert len(OUTPUT_NAMES) == 11
    assert contract.FUNCTION_HANDLER == "eni_failover.handler.lambda_handler"
    assert contract.PROBER_HANDLER == "eni_failover.prober_handler.lambda_handler"


def test_no_output_name_or_handler_is_spelled_outside_the_contract() -> None:
    # Given every module the stack, the CLI, the emulator and the function ship
    copies = [
        f"{path.relative_to(ROOT)}:{line}: {value!r}"
        for path in shipped_files()
        for line, value in string_literals(path)
        if value in OUTPUT_NAMES | HANDLERS
    ]
    # Then none spells an output name or a handler itself: each imports eni_failover.contract
    assert copies == []


def test_no_request_is_written_by_hand_outside_the_contract() -> None:
    # Given every shipped module, Then a request is built with contract.operator_request
    copies = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in shipped_files()
        for line in hand_written_requests(path)
    ]
    assert copies == []


def test_the_scan_sees_a_copy(tmp_path: Path) -> None:
    # Given a module that spells an output name and writes a request by hand
    module = tmp_path / "copy.py"
    module.write_text('OUT = "StateRuleName"\nREQ = {"action": "sweep"}\n')
    # Then both scans find it (so an empty result above means something)
    assert (1, "StateRuleName") in list(string_literals(module))
    assert list(hand_written_requests(module)) == [2]


def test_a_request_is_built_as_the_function_parses_it() -> None:
    # Given a move request built as the CLI builds it
    sent = contract.operator_request(
        "failover", pair="web", force=True, dry_run=False, fence=False, requested_by="alice"
    )
    # Then it leaves out what is at its default (an older function knows no newer field)
    assert sent == {"action": "failover", "pair": "web", "force": True, "requested_by": "alice"}
    # And the function reads back exactly what was meant
    assert parse_request(sent) == contract.OperatorRequest(
        action="failover", pair="web", force=True, requested_by="alice"
    )


def test_the_schedules_requests_are_what_the_function_answers() -> None:
    assert contract.SWEEP_REQUEST == {"action": "sweep"}
    assert contract.SCHEDULED_CHECK_REQUEST == {"action": "check", "scheduled": True}
    assert contract.PAIRS_REQUEST == {"action": "pairs"}
    for sent in (contract.SWEEP_REQUEST, contract.SCHEDULED_CHECK_REQUEST, contract.PAIRS_REQUEST):
        assert parse_request(sent).model_dump(exclude_defaults=True) == sent


def test_a_request_the_function_would_refuse_is_refused_before_it_is_sent() -> None:
    with pytest.raises(ValueError, match="action"):
        contract.operator_request("reboot")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="'failover'\\|'failback'\\|'check'\\|'sweep'"):
        parse_request({"action": "failover", "pair": "web", "reboot": True})


def test_an_event_with_an_action_is_a_request_and_a_trigger_is_not() -> None:
    assert contract.is_request({"action": "pairs"})
    assert not contract.is_request({"Records": [{"EventSource": "aws:sns"}]})
    assert not contract.is_request(["action"])
