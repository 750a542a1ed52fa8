"""The deployed function for property tests: the fault tests' scene, and its log lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

# The same deployment on the faithful EC2 as the fault tests (fixtures, autouse included).
from tests.faults.conftest import (  # noqa: F401
    _atomic_dynamodb,
    _no_sample_images,
    aws_session,
    clients,
    deployment,
    ec2,
    retry_sleeps,
    scene,
    topology,
)

SERVICE_LOGGER = "eni-failover"  # Powertools' Logger(service=...) logs through this one


class LogLines(logging.Handler):
    """Every record the function logs, with Powertools' keyword fields as attributes."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def named(self, message: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.getMessage() == message]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """The function's log at INFO (tests otherwise run it at WARNING), collected."""
    service = logging.getLogger(SERVICE_LOGGER)
    lines = LogLines()
    level = service.level
    service.addHandler(lines)
    service.setLevel(logging.INFO)
    yield lines
    service.removeHandler(lines)
    service.setLevel(level)
