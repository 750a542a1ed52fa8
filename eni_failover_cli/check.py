"""`eni-failover check`: would a failover succeed right now?

The function answers, with its own role: every precondition of a real failover (one line
per address kind the pair lists: routes, Elastic IPs, private IPs) plus EC2 DryRun calls of
the detach, the attach, ReplaceRoute and AssociateAddress (DryRunOperation means allowed,
UnauthorizedOperation not allowed; any other answer is inconclusive, shown as such, and
leaves the pair READY). AssignPrivateIpAddresses has no DryRun: its line is always
inconclusive. The operator's permissions prove nothing about the function's.
"""

from __future__ import annotations

from typing import Any

from eni_failover.contract import operator_request
from eni_failover_cli.console import columns
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.errors import ExitCode
from eni_failover_cli.status import tag_problem_lines

# Each check's answer: passed, failed, or inconclusive (EC2 said nothing either way).
PASSED, FAILED, INCONCLUSIVE = "pass", "fail", "inconclusive"
_LABELS = {PASSED: "PASS", FAILED: "FAIL", INCONCLUSIVE: "INCONCLUSIVE"}
INCONCLUSIVE_NOTE = (
    "INCONCLUSIVE: the permission is unproven, not missing: EC2 answered the DryRun with "
    "neither DryRunOperation (allowed) nor UnauthorizedOperation (not allowed), or the call "
    "has no DryRun at all (AssignPrivateIpAddresses). Check again; if it stays so, a drill "
    "tries the real move."
)


def request(deployment: Deployment, pair_name: str | None, *, by: str) -> dict[str, Any]:
    """Ask the function for the readiness of one pair, or of every pair."""
    if pair_name is not None:
        deployment.pair(pair_name)  # an unknown name fails here, listing the pairs
    answer = deployment.function.invoke(operator_request("check", pair=pair_name, requested_by=by))
    results: list[dict[str, Any]] = answer.get("checks", [])
    problems: list[str] = answer.get("tag_problems", [])
    postponed: list[str] = answer.get("postponed", [])
    return {
        # A malformed tag set is a pair that would not fail over: not ready.
        "ready": bool(results) and all(r["ready"] for r in results) and not problems,
        "tag_problems": problems,
        # Pairs the invocation had no time for (a check of many pairs is paced).
        "postponed": postponed,
        "function": deployment.function.name,
        "where": deployment.where,
        "pairs": results,
    }


def run(
    deployment: Deployment, pair_name: str | None, *, by: str
) -> tuple[ExitCode, dict[str, Any], str]:
    result = request(deployment, pair_name, by=by)
    code = ExitCode.OK if result["ready"] else ExitCode.NOT_READY
    return code, result, describe(result)


def describe(result: dict[str, Any]) -> str:
    lines = []
    for pair in result["pairs"]:
        lines += [*describe_pair(pair), ""]
    lines += tag_problem_lines(result.get("tag_problems", []))
    postponed = result.get("postponed", [])
    if postponed:
        lines += [
            f"Not checked this time ({len(postponed)}), paced to spare EC2's request buckets: "
            f"{', '.join(postponed)}; check them by name, or wait for the scheduled check.",
            "",
        ]
    lines.append(
        f"Checked by function {result['function']} with its own permissions, on {result['where']}."
    )
    return "\n".join(lines)


def describe_pair(pair: dict[str, Any]) -> list[str]:
    rows = [
        (_LABELS[result_of(check)], check["check"], check["detail"]) for check in pair["checks"]
    ]
    verdict = "READY" if pair["ready"] else "NOT READY"
    unsure = inconclusive_checks(pair)
    if unsure:
        verdict += f", {len(unsure)} check(s) INCONCLUSIVE"
    lines = [f"Pair {pair['pair']}: {verdict}", *columns(rows)]
    if unsure:
        lines.append(f"  {INCONCLUSIVE_NOTE}")
    return lines


def result_of(check: dict[str, Any]) -> str:
    """pass, fail or inconclusive; a function deployed before "result" existed says only ok."""
    result = check.get("result")
    if result in _LABELS:
        return str(result)
    return PASSED if check["ok"] else FAILED


def failed_checks(pair: dict[str, Any]) -> list[str]:
    return [f"{c['check']}: {c['detail']}" for c in pair["checks"] if result_of(c) == FAILED]


def inconclusive_checks(pair: dict[str, Any]) -> list[str]:
    return [f"{c['check']}: {c['detail']}" for c in pair["checks"] if result_of(c) == INCONCLUSIVE]
