"""The project's own exceptions: the only types that may escape the handler.

One that escapes fails the invocation: Lambda retries a trigger (an asynchronous
invocation) twice, then puts it in the dead-letter queue; an operator's request
(synchronous) gets the error back. Records that could never succeed are not raised but
dead-lettered at once (UnparseableRecord).
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

# What botocore raises when an AWS call fails: the service's answer (ClientError), or no
# answer at all (BotoCoreError: a connection refused, a connect or read timeout, after
# botocore's own retries). Both are a failed call to the failover: catch them together.
AWS_ERRORS = (ClientError, BotoCoreError)
# What EC2 answers when its per-account request buckets are empty.
THROTTLING_CODES = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException"})
# EC2's own trouble, not a refusal: the same call may well be taken when tried again.
TRANSIENT_CODES = THROTTLING_CODES | frozenset(
    {"InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable"}
)


class FailoverError(Exception):
    """Base of everything the failover raises on purpose."""


class UnparseableRecord(FailoverError):
    """A record that is neither an alarm nor an EC2 state-change event; it is dead-lettered."""


class AwsCallFailed(FailoverError):
    """An AWS call failed after botocore's own retries; the message says which and why."""

    def __init__(self, operation: str, code: str, message: str, *, answered: bool = True) -> None:
        super().__init__(f"{operation} failed: {code}: {message}")
        self.operation = operation
        self.code = code
        self.detail = message
        # False when the API never answered (no route, a timeout): `check` tells the
        # operators the prober's subnets may have no way to the AWS APIs.
        self.answered = answered

    @classmethod
    def from_client_error(cls, operation: str, error: ClientError | BotoCoreError) -> AwsCallFailed:
        """The one translation of botocore's errors into ours; raise it `from` the original.

        A BotoCoreError has no error code: its class names what happened
        (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ...).
        """
        if isinstance(error, ClientError):
            details = error.response.get("Error", {})
            return cls(
                operation, details.get("Code", "Unknown"), details.get("Message", str(error))
            )
        return cls(operation, type(error).__name__, str(error), answered=False)


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
