"""Asking the failover function to do something: the deployed one, or its code run locally.

Every readiness check and manual move goes through the function, so it runs with the
function's permissions, lease, decision and notifications, never the operator's own.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from eni_failover_cli.errors import CliError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

    from eni_failover_emulator.function import LocalFunction


class FunctionFailed(Exception):
    """The function raised; Lambda reports it as a FunctionError with this type and message."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


class Function(Protocol):
    """What a command needs of the failover function."""

    name: str

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one request; return the function's answer or raise FunctionFailed."""
        ...


class DeployedFunction:
    """The function in AWS, invoked synchronously (RequestResponse) with the request."""

    def __init__(self, client: LambdaClient, name: str) -> None:
        self._client = client
        self.name = name

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.invoke(
                FunctionName=self.name,
                InvocationType="RequestResponse",
                Payload=json.dumps(request).encode(),
            )
        except ClientError as error:
            details = error.response.get("Error", {})
            raise CliError(
                f"could not invoke function {self.name}: {details.get('Code', 'Unknown')}: "
                f"{details.get('Message', '')} (the operator needs lambda:InvokeFunction on it)"
            ) from error
        except BotoCoreError as error:
            raise CliError(f"could not invoke function {self.name}: {error}") from error
        payload = response["Payload"].read() if "Payload" in response else b""
        if response.get("FunctionError"):
            error_type, message = _function_error(payload)
            raise FunctionFailed(error_type, message)
        try:
            answer = json.loads(payload or b"null")
        except json.JSONDecodeError as error:
            raise CliError(f"function {self.name} answered with something not JSON") from error
        if not isinstance(answer, dict):
            raise CliError(f"function {self.name} answered {answer!r}, expected an object")
        return answer


def _function_error(payload: bytes) -> tuple[str, str]:
    """Lambda's error payload: {"errorType": ..., "errorMessage": ..., "stackTrace": ...}."""
    try:
        body = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "Unknown", payload.decode("utf-8", errors="replace")
    if not isinstance(body, dict):
        return "Unknown", str(body)
    return str(body.get("errorType", "Unknown")), str(body.get("errorMessage", ""))


class LocalFunctionRunner:
    """The function's code in this process, against the sandbox (eni_failover_emulator.function)."""

    def __init__(self, function: LocalFunction) -> None:
        self._function = function
        self.name = function.name

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._function.invoke(request)
        except Exception as error:  # Lambda turns any exception into a FunctionError
            raise FunctionFailed(type(error).__name__, str(error)) from error
