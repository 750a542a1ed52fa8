"""Malformed tag sets, as `check` and `status` show them: never a pair, always a line to fix."""

from __future__ import annotations

from typing import Any

from eni_failover_cli import check
from eni_failover_cli.errors import ExitCode
from eni_failover_cli.status import tag_problem_lines

PROBLEM = (
    "pair web: no instance is tagged standby; tag the standby instance "
    "eni-failover:pair=web and eni-failover:role=standby"
)


class _Function:
    name = "eni-failover"

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.answer


class _Deployment:
    where = "a test"

    def __init__(self, answer: dict[str, Any]) -> None:
        self.function = _Function(answer)


READY_PAIR = {"pair": "nat", "ready": True, "checks": []}


def test_check_is_not_ready_while_a_tag_set_is_malformed() -> None:
    # Given every configured pair is ready, but one tagged pair is malformed
    deployment = _Deployment({"checks": [READY_PAIR], "tag_problems": [PROBLEM]})
    # When the operator checks
    code, result, text = check.run(deployment, None, by="alice")  # type: ignore[arg-type]
    # Then the verdict is not ready, and the problem is shown with what to fix
    assert result["ready"] is False
    assert code == ExitCode.NOT_READY
    assert "Tag problems (1), not acted on until fixed:" in text
    assert f"  - {PROBLEM}" in text


def test_check_is_ready_without_tag_problems() -> None:
    deployment = _Deployment({"checks": [READY_PAIR], "tag_problems": []})
    code, result, text = check.run(deployment, None, by="alice")  # type: ignore[arg-type]
    assert (code, result["ready"]) == (ExitCode.OK, True)
    assert "Tag problems" not in text


def test_status_lists_no_section_when_all_is_well() -> None:
    assert tag_problem_lines([]) == []
    assert tag_problem_lines([PROBLEM])[1] == f"  - {PROBLEM}"
