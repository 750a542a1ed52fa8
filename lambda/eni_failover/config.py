"""Typed configuration: the pairs to protect and the failover's tuning, validated once.

The same models serve the CDK app (validating context at synth) and the Lambda (reading
its environment at cold start), so a value the stack accepts is a value the function accepts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from eni_failover.errors import FailoverError

INSTANCE_ID_PATTERN = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
INTERFACE_ID_PATTERN = re.compile(r"^eni-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
PAIR_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")

# The forms a value must take, as every error message states them.
EXPECT_INSTANCE = "an instance ID: 'i-' then 8 or 17 hex digits"
EXPECT_INTERFACE = "an interface ID: 'eni-' then 8 or 17 hex digits"
EXPECT_PAIR_NAME = "a pair name: letters, digits and '-', at most 40 characters"
EXPECT_EMAIL = "an email address such as ops@example.com"

# Environment variables the stack sets and the function reads.
ENV_CONFIG = "FAILOVER_CONFIG"
ENV_NOTIFICATION_TOPIC_ARN = "NOTIFICATION_TOPIC_ARN"
ENV_DEAD_LETTER_QUEUE_URL = "DEAD_LETTER_QUEUE_URL"
ENV_STATE_TABLE_NAME = "STATE_TABLE_NAME"
ENV_ACCOUNT_ID = "FAILOVER_ACCOUNT_ID"
ENV_REGION = "AWS_REGION"


class ConfigError(FailoverError, ValueError):
    """Configuration that cannot work; the message names the key and the expected form."""


def _check(pattern: re.Pattern[str], expected: str) -> AfterValidator:
    def validate(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {expected}")
        return value

    return AfterValidator(validate)


InstanceId = Annotated[str, _check(INSTANCE_ID_PATTERN, EXPECT_INSTANCE)]
InterfaceId = Annotated[str, _check(INTERFACE_ID_PATTERN, EXPECT_INTERFACE)]
PairName = Annotated[str, _check(PAIR_NAME_PATTERN, EXPECT_PAIR_NAME)]
Email = Annotated[str, _check(EMAIL_PATTERN, EXPECT_EMAIL)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Pair(_Frozen):
    """A primary and a standby instance sharing one or more floating interfaces."""

    name: PairName
    primary_instance_id: InstanceId
    standby_instance_id: InstanceId
    interface_ids: tuple[InterfaceId, ...] = Field(min_length=1)
    # Name of the CloudWatch alarm on the primary's status checks; the stack sets it.
    alarm_name: str = ""

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.primary_instance_id == self.standby_instance_id:
            raise ValueError(
                f"pair {self.name!r}: primary and standby are the same instance "
                f"({self.primary_instance_id}); a failover needs two instances"
            )
        if len(set(self.interface_ids)) != len(self.interface_ids):
            raise ValueError(f"pair {self.name!r}: an interface is listed twice")
        return self


class Tuning(_Frozen):
    """How hard and how long a swap may try. Defaults suit a 60 s function timeout."""

    # Whole move (detach + attach) must end by then; well below the function timeout so
    # the outcome is always published before Lambda kills the invocation.
    swap_deadline_seconds: float = Field(default=40.0, gt=0, le=840)
    # Polling interval for attachment state; the boto3 waiter's 20 s is far too slow. The
    # interval bounds how late the move notices each step (docs/benchmarks.md): 0.25 s keeps
    # the overshoot near 0.2 s, while 0.1 s drew enough throttling with many pairs failing
    # together to push some moves into Lambda's retry. Each pause is jittered (swap.py).
    poll_interval_seconds: float = Field(default=0.25, gt=0, le=10)
    # A normal detach on a healthy-looking primary gets this long before Force.
    detach_grace_seconds: float = Field(default=10.0, ge=0, le=300)
    # Triggers older than this are stale (a late alarm must not move the interface).
    max_trigger_age_seconds: float = Field(default=900.0, gt=0)
    # How long a second trigger for the same pair waits for the lease before retrying later.
    lease_wait_seconds: float = Field(default=10.0, ge=0, le=300)
    # Attempts per AWS call in botocore's standard retry mode (covers RequestLimitExceeded).
    api_max_attempts: int = Field(default=5, ge=1, le=20)


class FailoverConfig(_Frozen):
    """Everything about the protected pairs that the function needs at run time."""

    pairs: tuple[Pair, ...] = Field(min_length=1)
    tuning: Tuning = Tuning()

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [p.name for p in self.pairs]
        if len(set(names)) != len(names):
            raise ValueError(f"pair names must be unique, got {names}")
        seen: dict[str, str] = {}
        for pair in self.pairs:
            for interface_id in pair.interface_ids:
                if interface_id in seen:
                    raise ValueError(
                        f"interface {interface_id} is in pairs {seen[interface_id]!r} and "
                        f"{pair.name!r}; an interface can float within one pair only"
                    )
                seen[interface_id] = pair.name
        return self

    def pair_named(self, name: str) -> Pair | None:
        return next((p for p in self.pairs if p.name == name), None)


class Settings(_Frozen):
    """The function's whole configuration, read from its environment once at cold start."""

    failover: FailoverConfig
    notification_topic_arn: str = Field(min_length=1)
    dead_letter_queue_url: str = Field(min_length=1)
    state_table_name: str = Field(min_length=1)
    account_id: str = Field(pattern=r"^\d{12}$")
    region: str = Field(min_length=1)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        missing = [
            key
            for key in (
                ENV_CONFIG,
                ENV_NOTIFICATION_TOPIC_ARN,
                ENV_DEAD_LETTER_QUEUE_URL,
                ENV_STATE_TABLE_NAME,
                ENV_ACCOUNT_ID,
                ENV_REGION,
            )
            if not environ.get(key)
        ]
        if missing:
            raise ConfigError(f"environment variables not set: {', '.join(missing)}")
        try:
            raw = json.loads(environ[ENV_CONFIG])
        except json.JSONDecodeError as error:
            raise ConfigError(f"{ENV_CONFIG} is not JSON: {error}") from error
        try:
            return cls(
                failover=FailoverConfig.model_validate(raw),
                notification_topic_arn=environ[ENV_NOTIFICATION_TOPIC_ARN],
                dead_letter_queue_url=environ[ENV_DEAD_LETTER_QUEUE_URL],
                state_table_name=environ[ENV_STATE_TABLE_NAME],
                account_id=environ[ENV_ACCOUNT_ID],
                region=environ[ENV_REGION],
            )
        except ValidationError as error:
            raise ConfigError(describe_validation_error(error)) from error


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem: where it is and what was expected."""
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"{where}: {problem['msg']}")
    return "; ".join(lines)
