"""cdk-nag (AwsSolutions) runs in every synth; nothing may be left unacknowledged."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesized

# Each acknowledgment is a decision; a new one must be added here on purpose.
EXPECTED_ACKNOWLEDGMENTS = {
    ("AwsSolutions-IAM5[Resource::*]", "EniFailover/Default/Failover/ReadStatePolicy/Resource"),
    ("AwsSolutions-IAM5[Resource::*]", "EniFailover/Default/Failover/Role/DefaultPolicy/Resource"),
    ("AwsSolutions-L1", "EniFailover/Default/Failover/Function/Resource"),
    ("AwsSolutions-SQS3", "EniFailover/Default/DeadLetters/Queue/Resource"),
}


def aws_solutions_report(synth: Synthesized) -> dict[str, Any]:
    report: dict[str, Any]
    (report,) = [
        r for r in synth.validation_report()["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]
    return report


def test_synth_with_aws_solutions_checks_leaves_no_finding(single_pair: Synthesized) -> None:
    # Given the app synthesized with the AwsSolutions pack (the fixture's synth would
    # have raised on an unacknowledged finding)
    # When the validation report is read
    report = aws_solutions_report(single_pair)
    # Then the pack ran and passed
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_every_acknowledgment_is_on_its_resource_with_a_reason(single_pair: Synthesized) -> None:
    # Given the findings the stack acknowledged
    suppressed = aws_solutions_report(single_pair)["suppressedViolations"]
    # When they are listed with the constructs they concern
    acknowledged = {
        (finding["ruleName"], construct["constructPath"])
        for finding in suppressed
        for construct in finding["violatingConstructs"]
    }
    # Then they are exactly the expected ones
    assert acknowledged == EXPECTED_ACKNOWLEDGMENTS
    for finding in suppressed:
        # And each carries a real reason
        assert len(finding["reason"].split()) >= 8, finding
        # And was acknowledged on the resource or its owner, never on the stack or app
        for construct in finding["violatingConstructs"]:
            assert construct["constructPath"].startswith(finding["acknowledgedAt"] + "/")
        assert finding["acknowledgedAt"].count("/") >= 2, finding
