"""The failover function run in this process, as Lambda would run it against the emulator.

moto cannot run Lambda without Docker. This runs the real handler code instead: the
Dispatcher that `lambda_handler` builds at cold start, from the environment the template
gives the function, with clients pointed at the emulated endpoint. The sandbox's bridge
hands it what SNS delivered; the CLI's local mode hands it operator requests.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from eni_failover.config import ENV_ACCOUNT_ID
from eni_failover.handler import Dispatcher, build_dispatcher
from eni_failover.observability import logger, metrics
from eni_failover.pair_record import LeaseHolder
from eni_failover_emulator.deployment import FakeLambdaContext
from eni_failover_emulator.endpoint import ACCOUNT_ID, FAKE_CREDENTIALS, REGION

# What the Lambda runtime and the stack set around the function, quiet for a terminal:
# its JSON logs would go to CloudWatch Logs, not to the operator's screen.
RUNTIME_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}

# os.environ is one per process; threads that build clients take turns changing it.
_environment_lock = threading.Lock()


@contextmanager
def patched_environment(
    values: Mapping[str, str], *, remove: tuple[str, ...] = ()
) -> Iterator[None]:
    """Set (and remove) environment variables for the block, then put them back."""
    with _environment_lock:
        names = (*values, *remove)
        saved = {name: os.environ.get(name) for name in names}
        os.environ.update(values)
        for name in remove:
            os.environ.pop(name, None)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def endpoint_environment(endpoint_url: str, region: str = REGION) -> dict[str, str]:
    """What makes boto3 talk to the emulator at `endpoint_url` with fake credentials."""
    return {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


class LocalFunction:
    """The deployed function's code, configured from its template environment."""

    def __init__(
        self,
        environment: Mapping[str, str],
        *,
        name: str,
        timeout_seconds: float,
        endpoint_url: str,
        region: str = REGION,
        local_run: LeaseHolder | None = None,
    ) -> None:
        """`local_run`: the CLI process this runs in, for the pair leases it takes; None
        for the sandbox's own stand-in for the deployed function."""
        self.name = name
        self.local_run = local_run
        self.timeout_seconds = timeout_seconds
        self.endpoint_url = endpoint_url
        self.region = region
        # Lambda adds AWS_REGION to every function's environment; the template cannot.
        self._environment = {**environment, "AWS_REGION": region}
        self._dispatcher: Dispatcher | None = None
        self._lock = threading.Lock()

    def cold_start(self) -> Dispatcher:
        """Read the settings and make the clients once, as the first invocation does."""
        with self._lock:
            if self._dispatcher is None:
                with patched_environment(
                    {
                        **endpoint_environment(self.endpoint_url, self.region),
                        **RUNTIME_ENVIRONMENT,
                        "AWS_LAMBDA_FUNCTION_NAME": self.name,
                    },
                    remove=("AWS_PROFILE",),
                ):
                    self._dispatcher = build_dispatcher(self._environment)
                self._dispatcher.runtime.local_run = self.local_run
                _quiet_function_logs()
            return self._dispatcher

    def invoke(self, event: Any) -> dict[str, Any]:
        """One invocation; raises what the function raises, as Lambda reports a FunctionError."""
        dispatcher = self.cold_start()
        context = FakeLambdaContext(
            remaining_seconds=self.timeout_seconds,
            function_name=self.name,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{_account(self._environment)}"
            f":function:{self.name}",
        )
        try:
            return dispatcher.on_event(event, context)  # type: ignore[arg-type]
        finally:
            # The real handler's @metrics.log_metrics flushes after every invocation; here
            # there is no CloudWatch to flush to, and the buffer must not grow.
            metrics.clear_metrics()


def _account(environment: Mapping[str, str]) -> str:
    return environment.get(ENV_ACCOUNT_ID, ACCOUNT_ID)


class _CurrentStderr:
    """Whatever sys.stderr is when a record is written (tests swap it per test)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _quiet_function_logs() -> None:
    # The logger was created at import, possibly before the environment said WARNING; and
    # its handler writes to stdout, which belongs to the command's own output.
    logger.setLevel(logging.WARNING)
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(_CurrentStderr())
