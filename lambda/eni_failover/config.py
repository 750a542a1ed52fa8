"""Typed configuration: the pairs to protect and the failover's tuning, validated once.

The same models serve the CDK app (validating context at synth) and the Lambda (reading
its environment at cold start), so a value the stack accepts is a value the function accepts.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from eni_failover.errors import FailoverError
from eni_failover.history import DEFAULT_RETENTION_DAYS
from eni_failover.probe import ProbeSpec

INSTANCE_ID_PATTERN = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
INTERFACE_ID_PATTERN = re.compile(r"^eni-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
ROUTE_TABLE_ID_PATTERN = re.compile(r"^rtb-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
ALLOCATION_ID_PATTERN = re.compile(r"^eipalloc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
PAIR_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
VPC_ID_PATTERN = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
SUBNET_ID_PATTERN = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")

# A value known only at deploy time: the string form the AWS CDK gives an unresolved token
# (``instance.instance_id`` at synth is "${Token[TOKEN.123]}"; the key characters are CDK's
# own, a-z, A-Z, 0-9, ':', '.', '_' and '-'). The stack may be given one where an ID of an
# instance, interface, route table, Elastic IP allocation, VPC or subnet is expected, and
# validates it once resolvable: these models accept one only when validated with the
# context {DEPLOY_TIME_VALUES: True} (the CDK app's settings reader passes it). The function,
# loading its configuration at run time, validates without it, so a token that was never
# resolved fails there, saying so.
CDK_TOKEN_PATTERN = re.compile(r"^\$\{Token\[[A-Za-z0-9:._-]+\]\}$")
DEPLOY_TIME_VALUES = "deploy_time_values"

# The forms a value must take, as every error message states them.
EXPECT_INSTANCE = "an instance ID: 'i-' then 8 or 17 hex digits"
EXPECT_INTERFACE = "an interface ID: 'eni-' then 8 or 17 hex digits"
EXPECT_ROUTE_TABLE = "a route table ID: 'rtb-' then 8 or 17 hex digits"
EXPECT_ALLOCATION = "an Elastic IP allocation ID: 'eipalloc-' then 8 or 17 hex digits"
EXPECT_CIDR = "a route destination: an IPv4 or IPv6 CIDR such as 0.0.0.0/0, 10.9.0.10/32 or ::/0"
EXPECT_PRIVATE_IP = "a private IPv4 address such as 10.0.1.50"
EXPECT_PAIR_NAME = "a pair name: letters, digits and '-', at most 40 characters"
EXPECT_EMAIL = "an email address such as ops@example.com"
EXPECT_VPC = "a VPC ID: 'vpc-' then 8 or 17 hex digits"
EXPECT_SUBNET = "a subnet ID: 'subnet-' then 8 or 17 hex digits"
EXPECT_ALARM_NAME = "a CloudWatch alarm name: 1 to 255 characters, no control characters"
EXPECT_PORT = "a TCP port from 1 to 65535"
# What the prober's security group always allows (eni_failover_cdk.prober), for the AWS APIs.
HTTPS_PORT = 443

# Environment variables the stack sets and the function reads.
# The pairs travel in a file of the function's code, not in the environment: Lambda allows
# 4 KB of environment, about 14 pairs, where a stack holds hundreds (README, Fleets).
ENV_CONFIG_FILE = "FAILOVER_CONFIG_FILE"
CONFIG_FILE_NAME = "failover-config.json"
# Where a relative FAILOVER_CONFIG_FILE is found: the root of the function's code (the
# directory that holds this package; LAMBDA_TASK_ROOT in Lambda).
CODE_ROOT = Path(__file__).resolve().parent.parent
# The quarantine group of fence=isolate: a CloudFormation reference, known only at deploy
# time, so it cannot be written into the file at synth.
ENV_QUARANTINE_GROUP_ID = "QUARANTINE_GROUP_ID"
ENV_NOTIFICATION_TOPIC_ARN = "NOTIFICATION_TOPIC_ARN"
ENV_DEAD_LETTER_QUEUE_URL = "DEAD_LETTER_QUEUE_URL"
ENV_STATE_TABLE_NAME = "STATE_TABLE_NAME"
ENV_ACCOUNT_ID = "FAILOVER_ACCOUNT_ID"
ENV_REGION = "AWS_REGION"
ENV_TRIGGER_TOPIC_ARN = "TRIGGER_TOPIC_ARN"
# The prober invokes the failover function directly when set (the trigger topic otherwise).
ENV_FAILOVER_FUNCTION_ARN = "FAILOVER_FUNCTION_ARN"
# Powertools reads the same variable, so the prober's metrics and the function's share it.
ENV_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
# The probe quorum (eni_failover.quorum): this prober function's vantage (its subnet) and
# every vantage of the stack, comma-separated; unset: one prober probes alone.
ENV_PROBER_VANTAGE = "PROBER_VANTAGE"
ENV_PROBER_VANTAGES = "PROBER_VANTAGES"
# Days the function keeps a history entry (optional: a function deployed before has none).
ENV_HISTORY_RETENTION_DAYS = "HISTORY_RETENTION_DAYS"
# The values of the pairs file that were CDK tokens at synth (an instance's ID in the same
# stack, eni_failover_cdk.EniFailover): the file holds a placeholder {"$ref": N} for each,
# this variable the JSON list CloudFormation resolved them to, and the function substitutes
# them before validating (read_config_file). A file is an asset, which CloudFormation never
# resolves; the environment is resolved at deploy time.
ENV_CONFIG_REFS = "FAILOVER_CONFIG_REFS"
CONFIG_REF_KEY = "$ref"


# The status-check alarm's one-minute periods, unless the stack's evaluationPeriods says.
DEFAULT_EVALUATION_PERIODS = 2


class ConfigError(FailoverError, ValueError):
    """Configuration that cannot work; the message names the key and the expected form."""


def deploy_time_values_allowed(info: ValidationInfo) -> bool:
    """Whether this validation may accept a value known only at deploy time (a CDK token)."""
    context = info.context
    return isinstance(context, Mapping) and bool(context.get(DEPLOY_TIME_VALUES))


def _check(pattern: re.Pattern[str], expected: str) -> AfterValidator:
    def validate(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {expected}")
        return value

    return AfterValidator(validate)


def _check_resolvable(pattern: re.Pattern[str], expected: str) -> AfterValidator:
    """An ID that may be a CDK token at synth: accepted as one only where the validation
    context allows deploy-time values, and validated as an ID once resolved."""

    def validate(value: str, info: ValidationInfo) -> str:
        if pattern.fullmatch(value):
            return value
        if CDK_TOKEN_PATTERN.fullmatch(value):
            if deploy_time_values_allowed(info):
                return value
            raise ValueError(
                f"{value!r} is a CDK token that was never resolved: expected {expected}. A "
                "token is validated once resolvable, at deploy time; this value was not "
                "replaced by the resource's ID"
            )
        raise ValueError(f"{value!r} is not {expected}")

    return AfterValidator(validate)


InstanceId = Annotated[str, _check_resolvable(INSTANCE_ID_PATTERN, EXPECT_INSTANCE)]
InterfaceId = Annotated[str, _check_resolvable(INTERFACE_ID_PATTERN, EXPECT_INTERFACE)]
PairName = Annotated[str, _check(PAIR_NAME_PATTERN, EXPECT_PAIR_NAME)]
Email = Annotated[str, _check(EMAIL_PATTERN, EXPECT_EMAIL)]
AlarmName = Annotated[str, _check(re.compile(r"^[^\x00-\x1f\x7f]{1,255}$"), EXPECT_ALARM_NAME)]
Port = Annotated[int, Field(ge=1, le=65535)]
RouteTableId = Annotated[str, _check_resolvable(ROUTE_TABLE_ID_PATTERN, EXPECT_ROUTE_TABLE)]
AllocationId = Annotated[str, _check_resolvable(ALLOCATION_ID_PATTERN, EXPECT_ALLOCATION)]
# Where the stack's prober and quarantine group go (the CDK app's settings only).
VpcId = Annotated[str, _check_resolvable(VPC_ID_PATTERN, EXPECT_VPC)]
SubnetId = Annotated[str, _check_resolvable(SUBNET_ID_PATTERN, EXPECT_SUBNET)]


def _cidr(value: str) -> str:
    """The destination as EC2 writes it (10.9.0.10/32, not 10.9.0.10/32 with host bits):
    the route is found in DescribeRouteTables by this exact text."""
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as error:
        raise ValueError(f"{value!r} is not {EXPECT_CIDR} ({error})") from error


def _private_ip(value: str) -> str:
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError as error:
        raise ValueError(f"{value!r} is not {EXPECT_PRIVATE_IP}") from error
    if not address.is_private:
        raise ValueError(f"{value!r} is not {EXPECT_PRIVATE_IP} (it is public)")
    return value


RouteCidr = Annotated[str, AfterValidator(_cidr)]
PrivateIp = Annotated[str, AfterValidator(_private_ip)]


def _probe_text(value: str) -> str:
    ProbeSpec.parse(value)  # raises ValueError naming the expected forms
    return value


ProbeText = Annotated[str, AfterValidator(_probe_text)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FailbackPolicy(StrEnum):
    MANUAL = "manual"  # an operator fails back (`eni-failover failback`)
    AUTO = "auto"  # the sweep fails back once the primary has been healthy long enough


class FenceMode(StrEnum):
    NONE = "none"
    STOP = "stop"  # StopInstances Force=True on the failed primary
    ISOLATE = "isolate"  # the primary's security groups replaced by an empty quarantine group


DEFAULT_FAILBACK_AFTER_SECONDS = 300
DEFAULT_MAX_AUTOMATIC_MOVES = 3


class Pair(_Frozen):
    """A primary and a standby instance, and the addresses that follow the failover.

    Four kinds of address (README, Address kinds): whole interfaces (same zone only),
    routes whose target is the primary's interface and Elastic IPs (both across zones), and
    secondary private IPs of the primary's interface (same subnet only). A pair lists at
    least one address of any kind.
    """

    name: PairName
    primary_instance_id: InstanceId
    standby_instance_id: InstanceId
    interface_ids: tuple[InterfaceId, ...] = ()
    # In each route table, the route to each destination points at the instance that
    # serves: a NAT's 0.0.0.0/0, an overlay IP's /32, ::/0.
    route_table_ids: tuple[RouteTableId, ...] = ()
    route_cidrs: tuple[RouteCidr, ...] = ()
    eip_allocation_ids: tuple[AllocationId, ...] = ()
    private_ips: tuple[PrivateIp, ...] = ()
    # Name of the CloudWatch alarm on the primary's status checks; the stack sets it.
    alarm_name: str = ""
    # The service's health probe (probe.ProbeSpec's forms); None: the pair is not probed.
    probe: ProbeText | None = None
    # Existing alarms whose change to ALARM is a trigger too (a load balancer's unhealthy
    # hosts, an agent metric, a heartbeat); the stack routes their state changes.
    trigger_alarms: tuple[AlarmName, ...] = ()
    # After a failover: who fails back, and after how long a healthy primary.
    failback: FailbackPolicy = FailbackPolicy.MANUAL
    failback_after_seconds: int = Field(default=DEFAULT_FAILBACK_AFTER_SECONDS, ge=60, le=86400)
    # Automatic moves (either way) allowed in any rolling hour; past it the pair pauses.
    max_automatic_moves: int = Field(default=DEFAULT_MAX_AUTOMATIC_MOVES, ge=1, le=60)
    fence: FenceMode = FenceMode.NONE
    # The empty security group `isolate` puts on the primary; the stack creates it, and the
    # function sets it here from QUARANTINE_GROUP_ID at cold start.
    quarantine_group_id: str | None = Field(default=None, min_length=1, max_length=200)

    @property
    def probe_spec(self) -> ProbeSpec | None:
        return ProbeSpec.parse(self.probe) if self.probe else None

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.primary_instance_id == self.standby_instance_id:
            raise ValueError(
                f"pair {self.name!r}: primary and standby are the same instance "
                f"({self.primary_instance_id}); a failover needs two instances"
            )
        for what, listed in (
            ("an interface", self.interface_ids),
            ("a route table", self.route_table_ids),
            ("a route destination", self.route_cidrs),
            ("an Elastic IP", self.eip_allocation_ids),
            ("a private IP", self.private_ips),
        ):
            if len(set(listed)) != len(listed):
                raise ValueError(f"pair {self.name!r}: {what} is listed twice")
        if bool(self.route_table_ids) != bool(self.route_cidrs):
            given, missing = (
                ("routeTableIds", "routeCidrs")
                if self.route_table_ids
                else ("routeCidrs", "routeTableIds")
            )
            raise ValueError(
                f"pair {self.name!r}: {given} without {missing}; a route is a route table "
                "and a destination, so both are needed"
            )
        if not self.addresses:
            raise ValueError(
                f"pair {self.name!r} moves nothing: list at least one address (eniId or "
                "eniIds, routeTableIds with routeCidrs, eipAllocationIds, privateIps)"
            )
        return self

    @property
    def routes(self) -> tuple[tuple[str, str], ...]:
        """(route table, destination): every route the pair moves."""
        return tuple((t, c) for t in self.route_table_ids for c in self.route_cidrs)

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address of every kind, as the journal and the outcome name them."""
        return (
            *self.interface_ids,
            *(f"route {t} {c}" for t, c in self.routes),
            *(f"elastic-ip {a}" for a in self.eip_allocation_ids),
            *(f"private-ip {ip}" for ip in self.private_ips),
        )


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


class ProbingConflict(ValueError):
    """Two probing settings that do not fit together; `fields` names them, so a caller can
    name the keys the operator typed."""

    def __init__(self, message: str, *fields: str) -> None:
        super().__init__(message)
        self.fields = fields


class Probing(_Frozen):
    """How the prober probes, for every probed pair of the stack.

    The defaults detect a service that refuses connections in 1-2 s and one that hangs in
    about 3 s (README, How detection works): a probe every second, and after a failed one,
    confirmations a quarter second apart counted from each one's start, so that for a hung
    service they overlap instead of waiting out one timeout after another. Five failures
    in a row make a verdict: with one probe in ten lost at random, a healthy pair would see
    a false one about once in 1,700 minutes of probing with 5, against once in 17 with 3
    (each first failure becomes a verdict with probability 0.1 ** (failures - 1)).
    """

    interval_seconds: float = Field(default=1.0, ge=1, le=60)
    timeout_seconds: float = Field(default=1.0, gt=0, le=30)
    failures: int = Field(default=5, ge=1, le=20)
    # After a failed probe, the next ones start this long after the previous one started.
    confirm_seconds: float = Field(default=0.25, gt=0, le=30)
    # Verify the service's TLS certificate (a private address rarely has one a CA signed).
    verify_tls: bool = False
    # The ports the prober's security group opens for probes declared by tags (probePorts):
    # a tagged probe's port is known only at run time, long after the group was deployed.
    tag_ports: tuple[Port, ...] = ()

    @model_validator(mode="after")
    def _timings_fit(self) -> Self:
        # A probe may take up to the whole interval: each pair's probes are scheduled on
        # their own and may overlap, but a healthy-but-slow service must not pile up more
        # than one regular probe per interval.
        if self.timeout_seconds > self.interval_seconds:
            raise ProbingConflict(
                f"the probe timeout ({self.timeout_seconds:g} s) must not be longer than the "
                f"interval ({self.interval_seconds:g} s), or a slow service's probes would "
                "pile up",
                "timeout_seconds",
                "interval_seconds",
            )
        # Confirmations are what make a failure quicker to confirm than regular probes.
        if self.confirm_seconds >= self.interval_seconds:
            raise ProbingConflict(
                f"the confirmation spacing ({self.confirm_seconds:g} s) must be shorter than "
                f"the interval ({self.interval_seconds:g} s), or confirming a failure would "
                "be no faster than waiting for the next regular probe",
                "confirm_seconds",
                "interval_seconds",
            )
        return self


class FailoverConfig(_Frozen):
    """Everything about the protected pairs that the function needs at run time."""

    pairs: tuple[Pair, ...] = ()
    tuning: Tuning = Tuning()
    probing: Probing = Probing()
    # Also protect the pairs tagged eni-failover:pair/role (eni_failover.discovery), found
    # at run time: adding one needs no deploy.
    discover_tags: bool = False
    # One-minute periods a status check must fail before the interface moves (the stack's
    # evaluationPeriods): the status-check alarm's, and the sweep's tolerance too.
    evaluation_periods: int = Field(default=DEFAULT_EVALUATION_PERIODS, ge=1, le=60)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        if not self.pairs and not self.discover_tags:
            raise ValueError("no pair: configure at least one, or discover them by tags")
        names = [p.name for p in self.pairs]
        if len(set(names)) != len(names):
            raise ValueError(f"pair names must be unique, got {names}")
        seen: dict[str, str] = {}
        for pair in self.pairs:
            for address in pair.addresses:
                if address in seen:
                    raise ValueError(
                        f"{address} is in pairs {seen[address]!r} and {pair.name!r}; an "
                        "address can follow one pair only"
                    )
                seen[address] = pair.name
        return self

    def pair_named(self, name: str) -> Pair | None:
        return next((p for p in self.pairs if p.name == name), None)

    @property
    def probed_pairs(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs if p.probe)

    @property
    def has_prober(self) -> bool:
        """The stack deploys the prober: a configured pair has a probe, or probePorts
        opens ports for tagged ones (the stack refuses probePorts without a placement)."""
        return bool(self.probed_pairs or self.probing.tag_ports)

    @property
    def ports_for_tagged_probes(self) -> frozenset[int]:
        """The ports a tagged probe may use: every port the prober's security group opens
        (probePorts, the configured probes' ports, and HTTPS, open for the AWS APIs);
        none when the stack has no prober. A probe on any other port would be dropped."""
        if not self.has_prober:
            return frozenset()
        configured = {spec.port for p in self.pairs if (spec := p.probe_spec) is not None}
        return frozenset({*self.probing.tag_ports, *configured, HTTPS_PORT})

    def with_quarantine_group(self, group_id: str) -> FailoverConfig:
        """The pairs that isolate, naming the stack's quarantine group."""
        pairs = tuple(
            p.model_copy(update={"quarantine_group_id": group_id})
            if p.fence is FenceMode.ISOLATE
            else p
            for p in self.pairs
        )
        return self.model_copy(update={"pairs": pairs})


class _FromEnvironment(_Frozen):
    """Settings read once at cold start: the pairs from the file of the function's code that
    FAILOVER_CONFIG_FILE names, everything else from the environment.

    `ENVIRONMENT` maps each field to its variable; both functions of the stack read the
    pairs from the same file, so they read the same pairs.
    """

    ENVIRONMENT: ClassVar[dict[str, str]] = {}
    # Read when set; the field's default otherwise.
    OPTIONAL_ENVIRONMENT: ClassVar[dict[str, str]] = {}

    failover: FailoverConfig
    account_id: str = Field(pattern=r"^\d{12}$")
    region: str = Field(min_length=1)

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str], *, failover: FailoverConfig | None = None
    ) -> Self:
        """``failover``: the pairs, when the caller has them already (the emulator, which
        runs the function on the configuration each test gives it)."""
        names = {"account_id": ENV_ACCOUNT_ID, "region": ENV_REGION, **cls.ENVIRONMENT}
        required = (*names.values(), *(() if failover else (ENV_CONFIG_FILE,)))
        missing = [key for key in required if not environ.get(key)]
        if missing:
            raise ConfigError(f"environment variables not set: {', '.join(missing)}")
        if failover is None:
            failover = read_config_file(environ[ENV_CONFIG_FILE], refs=environ.get(ENV_CONFIG_REFS))
        group = environ.get(ENV_QUARANTINE_GROUP_ID)
        if group:
            failover = failover.with_quarantine_group(group)
        try:
            return cls(
                failover=failover,
                **{field: environ[variable] for field, variable in names.items()},
                **{
                    field: environ[variable]
                    for field, variable in cls.OPTIONAL_ENVIRONMENT.items()
                    if environ.get(variable)
                },
            )
        except ValidationError as error:
            raise ConfigError(describe_validation_error(error)) from error


def read_config_file(name: str, *, refs: str | None = None) -> FailoverConfig:
    """The pairs and tuning from the JSON file the stack packaged with the code, its
    placeholders replaced by ``refs`` (FAILOVER_CONFIG_REFS) before anything is validated,
    so a resolved value of the wrong form is refused here, at cold start, by its key."""
    path = Path(name) if Path(name).is_absolute() else CODE_ROOT / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            f"{ENV_CONFIG_FILE}: cannot read {path} ({error.strerror}); expected the pair "
            f"configuration the stack packages with the code ({CONFIG_FILE_NAME})"
        ) from error
    source = str(path)
    if refs:
        text = substitute_refs(text, refs, where=source)
        source = f"{path} with {ENV_CONFIG_REFS} substituted"
    try:
        return FailoverConfig.model_validate_json(text)
    except ValidationError as error:
        raise ConfigError(f"{source}: {describe_validation_error(error)}") from error


def substitute_refs(text: str, refs: str, *, where: str) -> str:
    """The configuration ``text`` with each {"$ref": N} replaced by the Nth value of the
    JSON list ``refs``; every placeholder must have its value, and every value a placeholder."""
    try:
        values = json.loads(refs)
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{ENV_CONFIG_REFS} or {where}: not JSON ({error}); expected the list of resolved "
            "values the stack sets and the configuration it packages"
        ) from error
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{ENV_CONFIG_REFS}: expected a JSON list of strings, got {refs!r}")
    used: set[int] = set()

    def replace(node: object) -> object:
        if isinstance(node, dict):
            if set(node) == {CONFIG_REF_KEY}:
                index = node[CONFIG_REF_KEY]
                if not isinstance(index, int) or not 0 <= index < len(values):
                    raise ConfigError(
                        f"{where}: placeholder {node!r} has no value in {ENV_CONFIG_REFS} "
                        f"({len(values)} given); the file and the variable come from one deploy"
                    )
                used.add(index)
                return values[index]
            return {key: replace(value) for key, value in node.items()}
        if isinstance(node, list):
            return [replace(item) for item in node]
        return node

    resolved = replace(document)
    if len(used) != len(values):
        raise ConfigError(
            f"{ENV_CONFIG_REFS}: {len(values)} values for {len(used)} placeholders in {where}; "
            "the file and the variable come from one deploy"
        )
    return json.dumps(resolved, separators=(",", ":"), ensure_ascii=False)


class Settings(_FromEnvironment):
    """The failover function's whole configuration."""

    ENVIRONMENT: ClassVar[dict[str, str]] = {
        "notification_topic_arn": ENV_NOTIFICATION_TOPIC_ARN,
        "dead_letter_queue_url": ENV_DEAD_LETTER_QUEUE_URL,
        "state_table_name": ENV_STATE_TABLE_NAME,
        "trigger_topic_arn": ENV_TRIGGER_TOPIC_ARN,
    }
    OPTIONAL_ENVIRONMENT: ClassVar[dict[str, str]] = {
        "history_retention_days": ENV_HISTORY_RETENTION_DAYS,
    }

    notification_topic_arn: str = Field(min_length=1)
    # The sweep hands each missed failure to the function's own subscription through it.
    trigger_topic_arn: str = Field(min_length=1)
    dead_letter_queue_url: str = Field(min_length=1)
    state_table_name: str = Field(min_length=1)
    history_retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=3650)


class ProberSettings(_FromEnvironment):
    """The prober's configuration: the same pairs, and where its triggers and metrics go."""

    ENVIRONMENT: ClassVar[dict[str, str]] = {
        "trigger_topic_arn": ENV_TRIGGER_TOPIC_ARN,
        "state_table_name": ENV_STATE_TABLE_NAME,
        "metrics_namespace": ENV_METRICS_NAMESPACE,
    }

    OPTIONAL_ENVIRONMENT: ClassVar[dict[str, str]] = {
        "vantage": ENV_PROBER_VANTAGE,
        "vantages": ENV_PROBER_VANTAGES,
        "failover_function_arn": ENV_FAILOVER_FUNCTION_ARN,
    }

    trigger_topic_arn: str = Field(min_length=1)
    state_table_name: str = Field(min_length=1)
    metrics_namespace: str = Field(min_length=1, max_length=255)
    # The probe quorum: where this function probes from, and every vantage of the stack.
    vantage: str = ""
    vantages: tuple[str, ...] = ()
    # Where a trigger goes first: Lambda's asynchronous invoke of the failover function,
    # one hop fewer than the trigger topic, which stays the fallback (eni_failover.functions).
    failover_function_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:lambda:")

    @field_validator("vantages", mode="before")
    @classmethod
    def _split_vantages(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @model_validator(mode="after")
    def _vantage_listed(self) -> Self:
        if self.vantages and self.vantage not in self.vantages:
            raise ValueError(
                f"{ENV_PROBER_VANTAGE} {self.vantage!r} is not one of {ENV_PROBER_VANTAGES} "
                f"{', '.join(self.vantages)}; the stack sets both"
            )
        return self


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem: where it is and what was expected."""
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        # pydantic prefixes a validator's own message with "Value error, ": ours say it all.
        lines.append(f"{where}: {str(problem['msg']).removeprefix('Value error, ')}")
    return "; ".join(lines)
