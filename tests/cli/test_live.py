"""The live-only paths, at their boundary: DescribeStacks, Invoke and SetAlarmState.

moto runs no Lambda without Docker, and a real stack is not at hand; botocore's Stubber
pins the exact requests these paths make and how their answers are read. Everything
behind them is the same code the sandbox tests run.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from eni_failover.clients import AwsClients
from eni_failover.errors import AwsCallFailed
from eni_failover_cli import drill, main, move
from eni_failover_cli.console import Console
from eni_failover_cli.deployment import (
    INVOKE_READ_TIMEOUT_SECONDS,
    Deployment,
    connect_live,
    stack_outputs,
)
from eni_failover_cli.errors import CliError, ExitCode
from eni_failover_cli.invoke import DeployedFunction, FunctionFailed
from eni_failover_cli.outputs import StackOutputs
from tests.cli.test_outputs import ANSWER, OUTPUTS

REGION = "eu-west-1"


def client(service: Any) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def payload(body: dict[str, Any]) -> StreamingBody:
    raw = json.dumps(body).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def lambda_() -> Iterator[tuple[Any, Stubber]]:
    lambda_client = client("lambda")
    with Stubber(lambda_client) as stubber:
        yield lambda_client, stubber
        stubber.assert_no_pending_responses()


# --- DescribeStacks -------------------------------------------------------------------------


def test_stack_outputs_are_read_from_describe_stacks() -> None:
    cloudformation = client("cloudformation")
    with Stubber(cloudformation) as stubber:
        stubber.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "EniFailover",
                        "CreationTime": "2026-11-26T09:00:00Z",
                        "StackStatus": "UPDATE_COMPLETE",
                        "Outputs": [
                            {"OutputKey": key, "OutputValue": value}
                            for key, value in OUTPUTS.items()
                        ],
                    }
                ]
            },
            {"StackName": "EniFailover"},
        )
        assert stack_outputs(cloudformation, "EniFailover") == OUTPUTS


def test_a_missing_stack_says_how_to_find_or_make_it() -> None:
    cloudformation = client("cloudformation")
    with Stubber(cloudformation) as stubber:
        stubber.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message="Stack with id Prod does not exist",
            expected_params={"StackName": "Prod"},
        )
        with pytest.raises(CliError) as raised:
            stack_outputs(cloudformation, "Prod")
    assert str(raised.value).startswith(f"stack Prod not found in {REGION}")
    assert "--stack NAME / --region REGION" in str(raised.value)
    assert "--sandbox" in str(raised.value)


def test_connect_live_reads_the_outputs_and_never_retries_an_invoke(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def outputs(_: Any, stack_name: str) -> dict[str, str]:
        asked.append(stack_name)
        return OUTPUTS

    monkeypatch.setattr("eni_failover_cli.deployment.stack_outputs", outputs)
    deployment = connect_live("EniFailover", REGION)
    assert asked == ["EniFailover"]
    assert deployment.where == f"stack EniFailover in {REGION}"
    function = deployment.function
    assert isinstance(function, DeployedFunction)
    # The client's settings are the point here.
    config = vars(function._client.meta.config)
    # A manual move must not be requested twice because its answer was slow.
    assert config["retries"] == {"mode": "standard", "total_max_attempts": 1}
    assert config["read_timeout"] == INVOKE_READ_TIMEOUT_SECONDS


def test_no_region_is_said_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/eni-failover-test-config")
    with pytest.raises(CliError, match="no AWS region: pass --region"):
        connect_live("EniFailover", None)


# --- Invoke -------------------------------------------------------------------------------


def test_invoke_sends_the_request_synchronously_and_reads_the_answer(
    lambda_: tuple[Any, Stubber],
) -> None:
    lambda_client, stubber = lambda_
    request = {"action": "check", "pair": "web", "requested_by": "alice@host"}
    answer = {"checks": [{"pair": "web", "ready": True, "checks": []}]}
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": payload(answer)},
        {
            "FunctionName": "EniFailover-FailoverFunction-abc",
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(request).encode(),
        },
    )
    assert DeployedFunction(lambda_client, "EniFailover-FailoverFunction-abc").invoke(request) == (
        answer
    )


def test_a_function_error_carries_its_type_and_message(lambda_: tuple[Any, Stubber]) -> None:
    lambda_client, stubber = lambda_
    stubber.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": payload(
                {
                    "errorType": "InvalidRequest",
                    "errorMessage": "no pair named 'x'; configured: web",
                    "stackTrace": ["..."],
                }
            ),
        },
    )
    with pytest.raises(FunctionFailed) as raised:
        DeployedFunction(lambda_client, "fn").invoke({"action": "check"})
    assert (raised.value.error_type, raised.value.message) == (
        "InvalidRequest",
        "no pair named 'x'; configured: web",
    )


def test_a_refused_invoke_names_the_permission(lambda_: tuple[Any, Stubber]) -> None:
    lambda_client, stubber = lambda_
    stubber.add_client_error(
        "invoke", service_error_code="AccessDeniedException", service_message="not allowed"
    )
    with pytest.raises(CliError, match="needs lambda:InvokeFunction"):
        DeployedFunction(lambda_client, "fn").invoke({"action": "check"})


def list_pairs(stubber: Stubber) -> None:
    """The function's answer to the CLI's first question: which pairs it protects."""
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": payload(ANSWER)},
        {
            "FunctionName": OUTPUTS["FunctionName"],
            "InvocationType": "RequestResponse",
            "Payload": json.dumps({"action": "pairs"}).encode(),
        },
    )


def deployed(lambda_client: Any) -> Deployment:
    return Deployment(
        outputs=StackOutputs.parse("EniFailover", OUTPUTS),
        clients=AwsClients(
            boto3.Session(
                region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
            )
        ),
        function=DeployedFunction(lambda_client, OUTPUTS["FunctionName"]),
        where=f"stack EniFailover in {REGION}",
    )


@pytest.mark.parametrize(
    ("error_type", "code", "said"),
    [
        ("FailoverIncomplete", ExitCode.FAILED, "did not finish"),
        ("PairBusy", ExitCode.REFUSED, "nothing moved: "),
        ("InvalidRequest", ExitCode.ERROR, "the function failed: InvalidRequest"),
    ],
)
def test_a_failed_manual_move_exits_with_what_it_means(
    lambda_: tuple[Any, Stubber],
    monkeypatch: pytest.MonkeyPatch,
    error_type: str,
    code: ExitCode,
    said: str,
) -> None:
    lambda_client, stubber = lambda_
    list_pairs(stubber)
    stubber.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": payload({"errorType": error_type, "errorMessage": "pair web: it broke"}),
        },
    )
    monkeypatch.setattr(main, "connect", lambda _: deployed(lambda_client))
    err = io.StringIO()
    exit_code = main.main(
        ["failover", "web", "--force"], console=Console(stdout=io.StringIO(), stderr=err)
    )
    assert exit_code == code
    assert said in err.getvalue()
    assert "pair web: it broke" in err.getvalue()


class _NeverAnswered(StreamingBody):
    """A synchronous invoke's answer, read while the function still moves: Ctrl-C comes
    first."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(b""), 0)

    def read(self, amt: int | None = None) -> bytes:
        raise KeyboardInterrupt


def test_ctrl_c_while_the_deployed_function_moves_says_the_move_goes_on(
    lambda_: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_client, stubber = lambda_
    list_pairs(stubber)

    # The function's answer never comes: the operator presses Ctrl-C while the CLI waits
    stubber.add_response("invoke", {"StatusCode": 200, "Payload": _NeverAnswered()})
    monkeypatch.setattr(main, "connect", lambda _: deployed(lambda_client))
    # And the operator may not describe the interfaces: where they are stays unknown

    def not_allowed(*_: Any) -> None:
        raise AwsCallFailed("DescribeNetworkInterfaces", "UnauthorizedOperation", "not allowed")

    monkeypatch.setattr("eni_failover_cli.interrupted.ec2.describe_interfaces", not_allowed)
    err = io.StringIO()
    # When the operator presses Ctrl-C while the deployed function moves the pair
    exit_code = main.main(
        ["--stack", "Prod", "--region", REGION, "failover", "web", "--force"],
        console=Console(stdout=io.StringIO(), stderr=err),
    )
    # Then the command exits as interrupted and says the function goes on with the move
    said = err.getvalue()
    assert exit_code == ExitCode.INTERRUPTED, said
    assert "the CLI stopped waiting, but the failover of pair web goes on" in said
    assert "does not stop when its caller goes away" in said
    assert "`eni-failover status web` shows when it has ended" in said
    # And where things are, or why that is unknown, and the command that finishes it,
    # against the same stack and region
    assert "unknown: EC2 could not be read: DescribeNetworkInterfaces failed" in said
    assert said.rstrip().endswith(
        f"eni-failover --stack Prod --region {REGION} failover web --force"
    )


def test_a_live_request_names_the_operator(lambda_: tuple[Any, Stubber]) -> None:
    lambda_client, stubber = lambda_
    list_pairs(stubber)
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": payload({"pair": "web", "plan": {}, "dry_run": True})},
        {
            "FunctionName": OUTPUTS["FunctionName"],
            "InvocationType": "RequestResponse",
            # Fields at their default (force) are left out: a function deployed before a
            # field existed refuses it (eni_failover.contract.operator_request).
            "Payload": json.dumps(
                {
                    "action": "failback",
                    "pair": "web",
                    "dry_run": True,
                    "requested_by": "bob@laptop",
                }
            ).encode(),
        },
    )
    # When the operator bob@laptop asks for a dry run of a failback
    answer = move.request(deployed(lambda_client), "failback", "web", by="bob@laptop", dry_run=True)
    # Then the function was asked in their name (the Stubber checked the request above),
    # and its answer is what the command shows
    assert answer == {"pair": "web", "plan": {}, "dry_run": True}


# --- SetAlarmState ------------------------------------------------------------------------


def test_the_drill_sets_the_alarm_with_set_alarm_state() -> None:
    deployment = deployed(client("lambda"))
    with Stubber(deployment.clients.cloudwatch) as stubber:
        stubber.add_response(
            "set_alarm_state",
            {},
            {
                "AlarmName": "EniFailover-web-primary-status",
                "StateValue": "ALARM",
                "StateReason": "eni-failover drill by alice@host",
            },
        )
        drill.set_alarm_state(
            deployment,
            "EniFailover-web-primary-status",
            "ALARM",
            reason="eni-failover drill by alice@host",
        )
        stubber.assert_no_pending_responses()
