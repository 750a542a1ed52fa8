"""An AWS API that does not answer: a connection refused, a connect or a read timeout.

These are botocore's own exceptions (BotoCoreError), not a ClientError: what a Lambda in a
subnet with no route to the endpoint, or a network that drops packets, gets from botocore.
They are raised in botocore's before-send step of one client's calls, where the HTTP
request would leave, so botocore's retry handler sees them exactly as it would a real
connection failure (standard mode retries all three; the backoff is recorded, not slept).
By default the request never reaches moto, so nothing changes: the case in which a retry
must send it again. With `served=True` (a read timeout's other face) the service carries
the request out and only its answer is lost, so a retry does it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from moto.core.models import botocore_stubber

# The three ways an AWS API fails to answer, by name (the pytest IDs).
NO_ANSWERS: dict[str, type[BotoCoreError]] = {
    "connection-refused": EndpointConnectionError,
    "connect-timeout": ConnectTimeoutError,
    "read-timeout": ReadTimeoutError,
}
# Longer than any test runs: the API stays unreachable until `answer_again`.
FOR_GOOD = 1_000_000


class NoAnswer:
    """One client's calls of one operation get `error` from botocore while armed.

    ``when`` sees the request body (JSON for DynamoDB, form-encoded for SNS, EC2 and
    CloudWatch) and picks the calls that fail.
    """

    def __init__(
        self,
        client: Any,
        operation: str,
        error: type[BotoCoreError],
        *,
        times: int,
        when: Callable[[str], bool] = lambda _body: True,
        served: bool = False,
    ) -> None:
        self.error = error
        self.served = served
        self.left = times
        self.raised = 0
        self.when = when
        service = client.meta.service_model.service_id.hyphenize()
        # First, so that it runs before moto's own before-send handler answers the call.
        client.meta.events.register_first(f"before-send.{service}.{operation}", self._send)

    def _send(self, request: Any, **_: Any) -> None:
        body = request.body
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        if self.left > 0 and self.when(text):
            self.left -= 1
            self.raised += 1
            if self.served:
                botocore_stubber.process_request(request)  # moto carries it out; no answer
            raise self.error(endpoint_url=request.url)

    def answer_again(self) -> None:
        self.left = 0
