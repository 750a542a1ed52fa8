"""The readiness check reads EC2's DryRun answers exactly (issue #9).

DryRunOperation means the function's role may make the call, UnauthorizedOperation that
it may not; any other answer (a state or parameter error, throttling beyond botocore's
retries) proves neither, and the check says so instead of calling the permission missing.
Each answer is injected into the DryRun calls with `sim.fail`; moto itself answers
DryRunOperation.
"""

from __future__ import annotations

from typing import Any

import pytest

from eni_failover_cli import check as check_command
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.deployment import LocalDeployment

DETACH, ATTACH = "DetachNetworkInterface", "AttachNetworkInterface"


def permissions(result: dict[str, Any]) -> dict[str, str]:
    """The result of each permission check, by the call it is about."""
    return {
        c["check"].split(" ")[0]: c["result"]
        for c in result["checks"]
        if "permission" in c["check"]
    }


def test_allowed_calls_pass(deployment: LocalDeployment, sim: FaithfulEC2) -> None:
    # Given EC2 answering DryRunOperation itself, and once more because we say so
    sim.fail(ATTACH, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")

    [result] = deployment.invoke({"action": "check"})["checks"]

    assert permissions(result) == {"detach": "pass", "attach": "pass"}
    assert (result["verdict"], result["ready"]) == ("READY", True)


def test_unauthorized_operation_fails_the_permission_and_the_pair(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    # Given a role that lost ec2:AttachNetworkInterface
    sim.fail(ATTACH, "UnauthorizedOperation")

    [result] = deployment.invoke({"action": "check"})["checks"]

    # Then the attach permission fails, and so does the pair
    assert permissions(result) == {"detach": "pass", "attach": "fail"}
    assert result["ready"] is False
    assert result["verdict"] == f"NOT READY: attach permission ({topology.interface_id})"
    [attach] = [c for c in result["checks"] if c["check"].startswith("attach")]
    assert attach["ok"] is False
    assert "is not allowed: UnauthorizedOperation" in attach["detail"]


@pytest.mark.parametrize(
    ("operation", "code"),
    [
        (DETACH, "InvalidAttachmentID.NotFound"),
        (ATTACH, "IncorrectState"),
        (ATTACH, "InternalError"),
    ],
)
def test_any_other_answer_is_inconclusive_not_a_missing_permission(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2, operation: str, code: str
) -> None:
    # Given EC2 answering one DryRun with an error that is about neither permission
    sim.fail(operation, code, times=10)  # beyond botocore's retries, where it retries
    name = "detach" if operation == DETACH else "attach"

    [result] = deployment.invoke({"action": "check"})["checks"]

    # Then that check is inconclusive, not failed, and the pair stays ready, unconfirmed
    assert permissions(result)[name] == "inconclusive"
    unsure = f"{name} permission ({topology.interface_id})"
    assert result["verdict"] == f"READY, UNCONFIRMED: {unsure}"
    assert result["ready"] is True
    [found] = [c for c in result["checks"] if c["check"] == unsure]
    assert found["ok"] is False
    assert f"permission unconfirmed: EC2 answered the DryRun with {code}" in found["detail"]


def test_an_inconclusive_answer_is_announced_and_shown_as_such(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    # Given a scheduled check that finds the pair ready, then one that cannot confirm
    scheduled = {"action": "check", "scheduled": True}
    deployment.invoke(scheduled)
    sim.fail(DETACH, "IncorrectState")
    [result] = deployment.invoke(scheduled)["checks"]

    # Then the change is announced, naming the inconclusive check
    [announcement] = deployment.notifications()
    assert announcement["subject"] == "ENI failover nat: readiness is now READY, UNCONFIRMED"
    assert (
        f"[INCONCLUSIVE] detach permission ({topology.interface_id})" in (announcement["message"])
    )
    # And `eni-failover check` prints it apart from passes and failures
    text = "\n".join(check_command.describe_pair(result))
    assert "Pair nat: READY, 1 check(s) INCONCLUSIVE" in text
    assert f"INCONCLUSIVE  detach permission ({topology.interface_id})" in text
    assert "unproven, not missing" in text
    assert check_command.failed_checks(result) == []
