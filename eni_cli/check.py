"""`eni-failover check`: would a failover succeed right now?

The function answers, with its own role: every precondition of a real failover plus EC2
DryRun calls of the detach and the attach (DryRunOperation means allowed). The operator's
permissions prove nothing about the function's.
"""

from __future__ import annotations

from typing import Any

from eni_cli.console import columns
from eni_cli.deployment import Deployment
from eni_cli.errors import ExitCode


def request(deployment: Deployment, pair_name: str | None, *, by: str) -> dict[str, Any]:
    """Ask the function for the readiness of one pair, or of every pair."""
    if pair_name is not None:
        deployment.outputs.pair(pair_name)  # an unknown name fails here, listing the pairs
    payload: dict[str, Any] = {"action": "check", "requested_by": by}
    if pair_name is not None:
        payload["pair"] = pair_name
    answer = deployment.function.invoke(payload)
    results: list[dict[str, Any]] = answer.get("checks", [])
    return {
        "ready": bool(results) and all(r["ready"] for r in results),
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
    lines.append(
        f"Checked by function {result['function']} with its own permissions, on {result['where']}."
    )
    return "\n".join(lines)


def describe_pair(pair: dict[str, Any]) -> list[str]:
    rows = [
        ("PASS" if check["ok"] else "FAIL", check["check"], check["detail"])
        for check in pair["checks"]
    ]
    verdict = "READY" if pair["ready"] else "NOT READY"
    return [f"Pair {pair['pair']}: {verdict}", *columns(rows)]


def failed_checks(pair: dict[str, Any]) -> list[str]:
    return [f"{c['check']}: {c['detail']}" for c in pair["checks"] if not c["ok"]]
