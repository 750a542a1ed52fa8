"""The project's own exceptions: the only types that may escape the handler.

One that escapes fails the invocation: Lambda retries a trigger (an asynchronous
invocation) twice, then puts it in the dead-letter queue; an operator's request
(synchronous) gets the error back. Records that could never succeed are not raised but
dead-lettered at once (UnparseableRecord).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.exceptions import ClientError


class FailoverError(Exception):
    """Base of everything the failover raises on purpose."""


class UnparseableRecord(FailoverError):
    """A record that is neither an alarm nor an EC2 state-change event; it is dead-lettered."""


class AwsCallFailed(FailoverError):
    """An AWS call failed after botocore's own retries; the message says which and why."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation} failed: {code}: {message}")
        self.operation = operation
        self.code = code
        self.detail = message

    @classmethod
    def from_client_error(cls, operation: str, error: ClientError) -> AwsCallFailed:
        """The one translation of botocore's error into ours; raise it `from` the original."""
        details = error.response.get("Error", {})
        return cls(operation, details.get("Code", "Unknown"), details.get("Message", str(error)))


class PairBusy(FailoverError):
    """Another invocation holds the pair's lease; retry later and decide from the state then."""


class TriggerInProgress(FailoverError):
    """The same trigger is being handled by another invocation right now."""


class FailoverIncomplete(FailoverError):
    """A move started but did not finish; the outcome was published and a retry will resume."""


class DeadLetterFailed(FailoverError):
    """An unparseable record could not be written to the dead-letter queue."""


class InvalidRequest(FailoverError):
    """An operator request that names an unknown pair or action."""
