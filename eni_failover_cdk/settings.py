"""Deployment settings: the CDK context, read once and validated into typed models.

Every key is a row of one table (``KEYS``: its kind of value, the form expected, its
default, where it may appear, what it needs), and one reader applies every row the same
way (eni_failover_cdk.context_keys): lists read alike from the command line and cdk.json,
a key that needs another (a probe, ``vpcId``, ``failback=auto``) refused alike without it,
and every problem of every key and every pair collected into one SettingsError, named
against the key the operator typed (``primaryInstanceId``, ``pairs[1].eniIds``) with the
value given and the form expected. The pair and tuning models come from the Lambda's
``eni_failover.config``: a value the stack accepts is a value the function accepts.

``read_settings`` takes the context as a mapping (a construct's ``config`` dict) or as a
lookup (``app.node.try_get_context``) with the keys it holds.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from pydantic import Field, ValidationError

from eni_failover.config import (
    DEFAULT_EVALUATION_PERIODS,
    EXPECT_ALARM_NAME,
    EXPECT_ALLOCATION,
    EXPECT_CIDR,
    EXPECT_EMAIL,
    EXPECT_INSTANCE,
    EXPECT_INTERFACE,
    EXPECT_PAIR_NAME,
    EXPECT_PORT,
    EXPECT_PRIVATE_IP,
    EXPECT_ROUTE_TABLE,
    EXPECT_SUBNET,
    EXPECT_VPC,
    AlarmName,
    AllocationId,
    Email,
    FailbackPolicy,
    FailoverConfig,
    FenceMode,
    InstanceId,
    InterfaceId,
    Pair,
    PairName,
    PrivateIp,
    Probing,
    ProbingConflict,
    RouteCidr,
    RouteTableId,
    Settings,
    SubnetId,
    Tuning,
    VpcId,
)
from eni_failover.contract import DEFAULT_STACK_NAME
from eni_failover.discovery import PROBE_PORTS_KEY, PROBE_TAG
from eni_failover.history import DEFAULT_RETENTION_DAYS
from eni_failover.probe import ProbeSpec
from eni_failover_cdk.context_keys import (
    SYNTH_CONTEXT,
    Choice,
    Flag,
    KeySpec,
    Kind,
    ListOf,
    Number,
    Port,
    Probe,
    Scope,
    Text,
    is_true,
    nearest,
    read_key,
    reason_of,
)

# Context keys. One pair can come from the command line; several from a `pairs` list.
KEY_STACK_NAME = "stackName"
KEY_PRIMARY = "primaryInstanceId"
KEY_STANDBY = "standbyInstanceId"
KEY_INTERFACE = "eniId"
# The lighter address kinds (README, Address kinds), the same keys on the command line and in
# a `pairs` entry: every listed route table x every listed destination is one route.
KEY_ROUTE_TABLES = "routeTableIds"
KEY_ROUTE_CIDRS = "routeCidrs"
KEY_ELASTIC_IPS = "eipAllocationIds"
KEY_PRIVATE_IPS = "privateIps"
ADDRESS_KEYS = (KEY_ROUTE_TABLES, KEY_ROUTE_CIDRS, KEY_ELASTIC_IPS, KEY_PRIVATE_IPS)
KEY_PAIR_NAME = "pairName"
KEY_PAIRS = "pairs"
KEY_NOTIFY_EMAIL = "notifyEmail"
KEY_EVALUATION_PERIODS = "evaluationPeriods"
KEY_SWAP_DEADLINE = "swapDeadlineSeconds"
KEY_MAX_TRIGGER_AGE = "maxTriggerAgeSeconds"
KEY_MAX_EVENT_AGE = "maxEventAgeSeconds"
KEY_READINESS_SCHEDULE = "readinessSchedule"
KEY_RESERVED_CONCURRENCY = "reservedConcurrency"
# Executions kept for the prober whatever else the account runs, so a burst of other
# functions cannot throttle the invocation that would send a trigger: the running one, its
# successor during the handover, and one more while a stuck one runs out its TIMEOUT. They
# count against the account's unreserved executions like the failover function's
# (DeploymentSettings.reservations adds them up).
PROBER_RESERVED_CONCURRENCY = 3
KEY_ACCOUNT_CONCURRENCY = "accountConcurrency"
KEY_HISTORY_RETENTION = "historyRetentionDays"
# Detection: per pair (single pair or `pairs` entry) a probe and alarms that trigger too;
# stack-wide where the prober runs and how it probes.
KEY_PROBE = "probe"
KEY_TRIGGER_ALARMS = "triggerAlarms"
KEY_VPC = "vpcId"
KEY_PROBE_SUBNETS = "probeSubnetIds"
KEY_PROBE_INTERVAL = "probeIntervalSeconds"
KEY_PROBE_TIMEOUT = "probeTimeoutSeconds"
KEY_PROBE_FAILURES = "probeFailures"
KEY_PROBE_CONFIRM = "probeConfirmSeconds"
KEY_PROBE_VERIFY_TLS = "probeVerifyTls"
KEY_PROBE_ENDPOINTS = "probeEndpoints"
# The probe quorum (eni_failover.quorum): one prober function per probe subnet, and a
# failure counts only when every vantage that can probe sees it. On by default with two
# subnets or more (they are meant to be in two zones; `eni-failover check` says when not).
KEY_PROBE_QUORUM = "probeQuorum"
# The ports the prober may probe for pairs declared by tags (the eni-failover:probe tag):
# its security group opens them, as it opens the configured probes' ports.
KEY_PROBE_PORTS = PROBE_PORTS_KEY  # discovery names it in its problems
EXPECT_PROBE_PORTS = f"{EXPECT_PORT}, several comma-separated or a list, such as 80,8443"
# After a failover, per pair (single pair or `pairs` entry): who fails back and when, how
# many automatic moves an hour, and what is done to the failed primary.
KEY_FAILBACK = "failback"
KEY_FAILBACK_AFTER = "failbackAfterSeconds"
KEY_MAX_AUTOMATIC_MOVES = "maxAutomaticMoves"
KEY_FENCE = "fence"
# Pairs declared by tags (eni_failover.discovery), found by the function at run time.
KEY_DISCOVERY = "discovery"
DISCOVERY_TAGS = "tags"
DISCOVERY_NONE = "none"
EXPECT_DISCOVERY = "'tags' (also protect the pairs tagged eni-failover:pair/role) or 'none'"
POLICY_KEYS = (KEY_FAILBACK, KEY_FAILBACK_AFTER, KEY_MAX_AUTOMATIC_MOVES, KEY_FENCE)
EXPECT_FAILBACK = "'manual' (an operator fails back) or 'auto' (after the hold-down)"
EXPECT_FENCE = "'none', 'stop' (stop the failed primary) or 'isolate' (quarantine its groups)"

# Keys without '@' or ':' that the CDK CLI itself may write into the context.
CDK_OWN_KEYS = frozenset({"acknowledged-issue-numbers"})

DEFAULT_PAIR_NAME = "primary"
# The status-check alarm's period: EC2 publishes its status-check metrics once a minute.
STATUS_CHECK_PERIOD_SECONDS = 60
DEFAULT_MAX_EVENT_AGE_SECONDS = 3600
DEFAULT_READINESS_SCHEDULE = "rate(1 day)"
# A run checks what fits in the function's minute, paced (eni_failover.operations): about
# 30 pairs. A stack with more, or with pairs discovered by tags, is checked hourly, each run
# taking the pairs checked longest ago, so every pair is still checked at least daily.
PAIRS_CHECKED_PER_RUN = 30
FLEET_READINESS_SCHEDULE = "rate(1 hour)"
# The function's timeout unless the tuning needs more: a lease wait plus a whole swap plus
# time to publish the outcome must fit, or Lambda kills the invocation mid-swap.
BASE_FUNCTION_TIMEOUT_SECONDS = 60
OUTCOME_MARGIN_SECONDS = 10
MAX_FUNCTION_TIMEOUT_SECONDS = 900

# Reserved concurrency: Lambda keeps this many executions for the function whatever else
# the account runs, so a burst elsewhere cannot throttle a failover. One failure sends two
# triggers (the alarm and the state-change event), which run at once and take turns at the
# pair's lease; the two schedules (the readiness check and the sweep) may run meanwhile;
# the headroom takes an operator's request or a redelivery. Reserving never serializes the
# function: it always gets more than one.
TRIGGERS_PER_FAILURE = 2
SCHEDULED_INVOCATIONS = 2
CONCURRENCY_HEADROOM = 2
# With discovery=tags, the pairs the default reservation plans for beyond the configured.
DISCOVERED_PAIRS_PLANNED = 20
# Lambda refuses a reservation that would leave the account fewer unreserved executions
# ("as long as you leave at least 100 simultaneous executions unreserved",
# PutFunctionConcurrency), out of the account's quota: 1,000 unless raised (or lowered, as
# for some new accounts), which synth cannot read, so the operator may say it.
ACCOUNT_UNRESERVED_MINIMUM = 100
DEFAULT_ACCOUNT_CONCURRENCY = 1000
EXPECT_ACCOUNT_CONCURRENCY = (
    "a whole number of concurrent executions: the account's Lambda quota in this Region "
    "(`aws lambda get-account-settings`, AccountLimit.ConcurrentExecutions)"
)
NO_RESERVATION = ("0", "none")

# EventBridge rule names are at most 64 characters.
MAX_RULE_NAME_LENGTH = 64

STACK_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
# EventBridge's two schedule forms; rate takes a singular unit for 1 and a plural otherwise.
RATE_PATTERN = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON_PATTERN = re.compile(r"^cron\(\S+( \S+){5}\)$")

EXPECT_STACK_NAME = "a stack name: a letter, then letters, digits and '-'"
EXPECT_FLAG = "true or false"
EXPECT_SCHEDULE = (
    "an EventBridge schedule such as 'rate(1 day)', 'rate(12 hours)' or "
    "'cron(0 6 * * ? *)' (six fields, UTC)"
)

HOW_TO_CONFIGURE = (
    "no pair to protect. Either pass one pair on the command line:\n"
    "    npx cdk deploy -c primaryInstanceId=i-... -c standbyInstanceId=i-... "
    "-c eniId=eni-... -c notifyEmail=ops@example.com [-c pairName=NAME]\n"
    "  where the pair moves at least one address of any kind instead of, or beside, eniId: "
    f"routes (-c {KEY_ROUTE_TABLES}=rtb-...,rtb-... -c {KEY_ROUTE_CIDRS}=0.0.0.0/0), Elastic IPs "
    f"(-c {KEY_ELASTIC_IPS}=eipalloc-...) or secondary private IPs "
    f"(-c {KEY_PRIVATE_IPS}=10.0.1.50)\n"
    "  (these and notifyEmail accept several comma-separated values, or a JSON list), or "
    "list several pairs under 'pairs' in the context of cdk.json:\n"
    '    "pairs": [{"name": "web", "primaryInstanceId": "i-...", '
    '"standbyInstanceId": "i-...", "eniIds": ["eni-..."]}]\n'
    f"  (each entry may list {', '.join(ADDRESS_KEYS)} too) with notifyEmail beside it; or "
    f"protect only the pairs tagged eni-failover:pair with -c {KEY_DISCOVERY}={DISCOVERY_TAGS}."
)

ContextLookup = Callable[[str], Any]


class SettingsError(ValueError):
    """The context cannot make a working deployment; each problem names its context key."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))

    def report(self) -> str:
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        return f"ENI Failover configuration is not valid:\n{lines}"


def alarm_name_for(stack_name: str, pair_name: str) -> str:
    return f"{stack_name}-{pair_name}-primary-status"


def state_rule_name(stack_name: str) -> str:
    """The stack's one EC2 state-change rule (eni_failover_cdk.triggers)."""
    return f"{stack_name}-instance-state"


@dataclass(frozen=True, kw_only=True)
class ProberPlacement:
    """Where the prober runs: a VPC and subnets that reach the pairs' addresses."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    # Interface endpoints for the AWS APIs the prober calls, so a NAT pair's own failure
    # cannot cut the prober's route to AWS.
    endpoints: bool = False
    # One prober per subnet, each a vantage of the probe quorum (probeQuorum).
    quorum: bool = False

    @property
    def vantages(self) -> tuple[str, ...]:
        """The quorum's vantages, one per subnet (named by it); none without a quorum."""
        return self.subnet_ids if self.quorum else ()


@dataclass(frozen=True, kw_only=True)
class DeploymentSettings:
    """Everything the stack needs from its context, already validated."""

    stack_name: str
    # Pairs carry their alarm names: the function matches an alarm message by it.
    failover: FailoverConfig
    notify_emails: tuple[str, ...]
    evaluation_periods: int
    max_event_age_seconds: int
    # When the function checks that a failover would succeed (EventBridge schedule).
    readiness_schedule: str = DEFAULT_READINESS_SCHEDULE
    # Executions reserved for the function; None reserves nothing (the account's pool).
    reserved_concurrency: int | None = None
    # Where the prober runs; None when no pair has a probe (then there is no prober).
    prober: ProberPlacement | None = None
    # The VPC of the quarantine security group; None when no pair has fence=isolate.
    quarantine_vpc_id: str | None = None
    # The VPC whose interfaces the function may assign secondary private IPs to; None when
    # no pair lists privateIps.
    private_ip_vpc_id: str | None = None
    # How long the history (`eni-failover history`) keeps an entry.
    history_retention_days: int = DEFAULT_RETENTION_DAYS

    @property
    def reservations(self) -> dict[str, int]:
        """Every concurrency reservation the stack makes, by what makes it: all of them come
        out of the account's quota, which must keep ACCOUNT_UNRESERVED_MINIMUM unreserved."""
        reservations = {}
        if self.reserved_concurrency is not None:
            reservations[f"the failover function ({KEY_RESERVED_CONCURRENCY})"] = (
                self.reserved_concurrency
            )
            if self.prober is not None:
                # The prober reserves only where the failover function does: an account
                # that cannot spare executions for one cannot for the other.
                vantages = len(self.prober.vantages)
                if vantages:
                    reservations[f"the prober ({vantages} vantages)"] = (
                        PROBER_RESERVED_CONCURRENCY * vantages
                    )
                else:
                    reservations["the prober"] = PROBER_RESERVED_CONCURRENCY
        return reservations

    @property
    def metrics_namespace(self) -> str:
        """The stack's own CloudWatch namespace: two stacks' heartbeats never mix."""
        return self.stack_name

    @property
    def function_timeout_seconds(self) -> int:
        tuning = self.failover.tuning
        needed = tuning.lease_wait_seconds + tuning.swap_deadline_seconds
        return max(BASE_FUNCTION_TIMEOUT_SECONDS, math.ceil(needed + OUTCOME_MARGIN_SECONDS))


def default_reserved_concurrency(pair_count: int) -> int:
    """Every pair failing at once, the schedules, and headroom."""
    return TRIGGERS_PER_FAILURE * pair_count + SCHEDULED_INVOCATIONS + CONCURRENCY_HEADROOM


def minimum_reserved_concurrency(pair_count: int) -> int:
    """One execution per pair plus the schedules: fewer would make pairs queue."""
    return pair_count + SCHEDULED_INVOCATIONS


# --- what is read: the values of the stack and of each pair, as given ---------------------


@dataclass
class _PairReading:
    """One pair's keys as read: ``index`` None for the single pair of the command line."""

    index: int | None
    given: set[str] = field(default_factory=set)
    values: dict[str, Any] = field(default_factory=dict)

    def label(self, key: str) -> str:
        """The key as the operator typed it: ``eniId``, or ``pairs[1].eniIds``."""
        if self.index is None:
            return key
        return f"{KEY_PAIRS}[{self.index}].{SPECS[key].in_entry}"

    def get(self, key: str) -> Any:
        return self.values.get(key)

    @property
    def name(self) -> str:
        """Its name, or where it is when the name is not valid (to name it in a message)."""
        name = self.get(KEY_PAIR_NAME)
        return str(name) if name is not None else self.label(KEY_PAIR_NAME).rsplit(".", 1)[0]

    @property
    def routes(self) -> list[tuple[str, str]]:
        tables, cidrs = self.get(KEY_ROUTE_TABLES) or (), self.get(KEY_ROUTE_CIDRS) or ()
        return [(t, c) for t in tables for c in cidrs]


@dataclass
class _Reading:
    """The whole context as read so far, and every problem found."""

    problems: list[str] = field(default_factory=list)
    given: set[str] = field(default_factory=set)
    values: dict[str, Any] = field(default_factory=dict)
    pairs: list[_PairReading] = field(default_factory=list)
    # Pairs the context describes, valid or not: a `pairs` list's entries, else the single
    # pair (also planned for when tags alone declare the pairs).
    described: int = 1

    def get(self, key: str) -> Any:
        return self.values.get(key)

    @property
    def discover_tags(self) -> bool:
        return bool(self.get(KEY_DISCOVERY))

    @property
    def planned_pairs(self) -> int:
        planned = max(self.described, 1)
        if self.discover_tags:
            # Tagged pairs are unknown at synth: reserve for as many again, at least 20 more.
            planned += max(planned, DISCOVERED_PAIRS_PLANNED)
        return planned

    def engaged(self, key: str) -> list[str]:
        """The labels of every place (the stack, each pair) whose value of ``key`` asks for
        what the key needs."""
        spec = SPECS[key]
        if spec.scope & Scope.STACK:
            value = self.get(key)
            return [key] if key in self.given and value is not None and spec.engaged(value) else []
        return [pair.label(key) for pair in self.pairs if _engaged(pair, spec)]


# --- kinds of value only the stack's settings take ----------------------------------------


class _Schedule:
    expected = EXPECT_SCHEDULE

    def read(self, raw: object, label: str, problems: list[str]) -> str | None:
        if not isinstance(raw, str):
            problems.append(f"{label}: {raw!r} is not {EXPECT_SCHEDULE}")
            return None
        schedule = " ".join(raw.split())
        rate = RATE_PATTERN.fullmatch(schedule)
        if rate is not None:
            value, unit = int(rate.group(1)), rate.group(2)
            if value == 0 or (value == 1) != (not unit.endswith("s")):
                problems.append(
                    f"{label}: {raw!r} is not {EXPECT_SCHEDULE}; EventBridge wants a value "
                    "of at least 1, with a singular unit for 1 ('rate(1 day)') and a plural "
                    "one otherwise ('rate(2 days)')"
                )
            return schedule
        if CRON_PATTERN.fullmatch(schedule) is None:
            problems.append(f"{label}: {raw!r} is not {EXPECT_SCHEDULE}")
            return None
        return schedule


class _Reservation:
    """Executions reserved for the function: at least one per pair plus the schedules, or
    0/'none' to reserve nothing (read as 0)."""

    def __init__(self, pair_count: int) -> None:
        self.minimum = minimum_reserved_concurrency(pair_count)
        self.expected = (
            f"a whole number of executions of at least {self.minimum} (one per pair, "
            f"{pair_count} here, plus one each for the readiness check and the sweep; the "
            f"default, {default_reserved_concurrency(pair_count)}, also lets both triggers of "
            "a failure run at once and leaves headroom), or 0 or 'none' to reserve nothing. "
            f"The account must keep {ACCOUNT_UNRESERVED_MINIMUM} executions unreserved or "
            "the deploy fails"
        )
        self.number = Number(Annotated[int, Field(ge=0)], self.expected)

    def read(self, raw: object, label: str, problems: list[str]) -> int | None:
        if isinstance(raw, str) and raw.strip().lower() in NO_RESERVATION:
            return 0
        value = self.number.read(raw, label, problems)
        if value is not None and 0 < value < self.minimum:
            problems.append(f"{label}: {raw!r} is not {self.expected}")
            return None
        return value if isinstance(value, int) else None


class _PairList:
    """The `pairs` list: a list (cdk.json), or its JSON text (-c pairs='[...]'); its entries
    are read key by key (_read_entry)."""

    expected = "a list of {'name', 'primaryInstanceId', 'standbyInstanceId', 'eniIds', ...} objects"

    def read(self, raw: object, label: str, problems: list[str]) -> list[object] | None:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as error:
                problems.append(f"{label}: not a JSON list ({error.msg})")
                return None
        if not isinstance(raw, list):
            problems.append(f"{label}: expected a non-empty list of {_entry_form()}")
            return None
        return raw


def _entry_form() -> str:
    return f"{{{', '.join(repr(k) for k in PAIR_ENTRY_KEYS)}}} objects"


def _alarm_arn(text: str) -> str | None:
    if text.startswith("arn:"):
        return f"{text!r} is an ARN; give the alarm's name, {EXPECT_ALARM_NAME}"
    return None


def _default_schedule(reading: _Reading) -> str:
    fleet = reading.discover_tags or reading.described > PAIRS_CHECKED_PER_RUN
    return FLEET_READINESS_SCHEDULE if fleet else DEFAULT_READINESS_SCHEDULE


def _reservation(reading: _Reading) -> Kind:
    return _Reservation(reading.planned_pairs)


def _default_reservation(reading: _Reading) -> int:
    return default_reserved_concurrency(reading.planned_pairs)


# --- the table: every key the app reads --------------------------------------------------

# What a key may need, by name: each is checked by one function below (NEEDS), which is
# given the places whose value asks for it.
NEEDS_PROBE = "a probe"
NEEDS_PLACEMENT = "where the prober runs"
NEEDS_TAGS = "discovery=tags"
NEEDS_AUTO_FAILBACK = "failback=auto"
NEEDS_ROUTE_CIDRS = "routeCidrs"
NEEDS_ROUTE_TABLES = "routeTableIds"
NEEDS_VPC_TO_ISOLATE = "vpcId for isolate"
NEEDS_VPC_TO_ASSIGN = "vpcId for privateIps"

PAIR_KEY = Scope.SINGLE | Scope.ENTRY

# In reading order, which is the order of the report's problems.
KEYS: tuple[KeySpec, ...] = (
    KeySpec(
        name=KEY_STACK_NAME,
        kind=Text(Annotated[str, Field(pattern=STACK_NAME_PATTERN.pattern)], EXPECT_STACK_NAME),
        default=DEFAULT_STACK_NAME,
        blank_is_absent=True,
    ),
    KeySpec(
        name=KEY_DISCOVERY,
        kind=Choice({DISCOVERY_TAGS: True, DISCOVERY_NONE: False}, EXPECT_DISCOVERY),
        default=False,
    ),
    # A pair's keys: the single pair's on the command line, or a `pairs` entry's.
    KeySpec(
        name=KEY_PAIR_NAME,
        entry_name="name",
        kind=Text(PairName, EXPECT_PAIR_NAME),
        scope=PAIR_KEY,
        sets="Pair.name",
        default=DEFAULT_PAIR_NAME,
        required=Scope.ENTRY,
        blank_is_absent=True,
    ),
    KeySpec(
        name=KEY_PRIMARY,
        kind=Text(InstanceId, EXPECT_INSTANCE, deploy_time=True),
        scope=PAIR_KEY,
        sets="Pair.primary_instance_id",
        required=PAIR_KEY,
    ),
    KeySpec(
        name=KEY_STANDBY,
        kind=Text(InstanceId, EXPECT_INSTANCE, deploy_time=True),
        scope=PAIR_KEY,
        sets="Pair.standby_instance_id",
        required=PAIR_KEY,
    ),
    KeySpec(
        name=KEY_INTERFACE,
        entry_name="eniIds",
        kind=ListOf(Text(InterfaceId, EXPECT_INTERFACE, deploy_time=True)),
        scope=PAIR_KEY,
        sets="Pair.interface_ids",
    ),
    KeySpec(
        name=KEY_ROUTE_TABLES,
        kind=ListOf(Text(RouteTableId, EXPECT_ROUTE_TABLE, deploy_time=True)),
        scope=PAIR_KEY,
        sets="Pair.route_table_ids",
        needs=(NEEDS_ROUTE_CIDRS,),
    ),
    KeySpec(
        name=KEY_ROUTE_CIDRS,
        kind=ListOf(Text(RouteCidr, EXPECT_CIDR)),
        scope=PAIR_KEY,
        sets="Pair.route_cidrs",
        needs=(NEEDS_ROUTE_TABLES,),
    ),
    KeySpec(
        name=KEY_ELASTIC_IPS,
        kind=ListOf(Text(AllocationId, EXPECT_ALLOCATION, deploy_time=True)),
        scope=PAIR_KEY,
        sets="Pair.eip_allocation_ids",
    ),
    KeySpec(
        name=KEY_PRIVATE_IPS,
        kind=ListOf(Text(PrivateIp, EXPECT_PRIVATE_IP)),
        scope=PAIR_KEY,
        sets="Pair.private_ips",
        needs=(NEEDS_VPC_TO_ASSIGN,),
    ),
    KeySpec(
        name=KEY_PROBE,
        kind=Probe(),
        scope=PAIR_KEY,
        sets="Pair.probe",
        needs=(NEEDS_PLACEMENT,),
    ),
    KeySpec(
        name=KEY_TRIGGER_ALARMS,
        kind=ListOf(Text(AlarmName, EXPECT_ALARM_NAME, refuse=_alarm_arn)),
        scope=PAIR_KEY,
        sets="Pair.trigger_alarms",
    ),
    KeySpec(
        name=KEY_FAILBACK,
        kind=Choice({p.value: p for p in FailbackPolicy}, EXPECT_FAILBACK),
        scope=PAIR_KEY,
        sets="Pair.failback",
    ),
    KeySpec(
        name=KEY_FAILBACK_AFTER,
        kind=Number.of(Pair, "failback_after_seconds", "a whole number of seconds"),
        scope=PAIR_KEY,
        sets="Pair.failback_after_seconds",
        needs=(NEEDS_AUTO_FAILBACK,),
    ),
    KeySpec(
        name=KEY_MAX_AUTOMATIC_MOVES,
        kind=Number.of(Pair, "max_automatic_moves", "a whole number of automatic moves an hour,"),
        scope=PAIR_KEY,
        sets="Pair.max_automatic_moves",
    ),
    KeySpec(
        name=KEY_FENCE,
        kind=Choice({f.value: f for f in FenceMode}, EXPECT_FENCE),
        scope=PAIR_KEY,
        sets="Pair.fence",
        needs=(NEEDS_VPC_TO_ISOLATE,),
        engaged=lambda fence: fence is FenceMode.ISOLATE,
    ),
    # Several pairs: a list of pair entries, each entry's keys read by the specs above.
    KeySpec(name=KEY_PAIRS, kind=_PairList()),
    KeySpec(
        name=KEY_NOTIFY_EMAIL,
        kind=ListOf(Text(Email, EXPECT_EMAIL), repeats="drop"),
        required=Scope.STACK,
        missing=f" to receive failover outcomes: -c {KEY_NOTIFY_EMAIL}=ops@example.com",
    ),
    KeySpec(
        name=KEY_EVALUATION_PERIODS,
        kind=Number.of(FailoverConfig, "evaluation_periods", "a whole number of minutes"),
        default=DEFAULT_EVALUATION_PERIODS,
    ),
    KeySpec(
        name=KEY_MAX_EVENT_AGE,
        kind=Number(
            Annotated[int, Field(ge=60, le=21600)], "a whole number of seconds from 60 to 21600"
        ),
        default=DEFAULT_MAX_EVENT_AGE_SECONDS,
    ),
    KeySpec(
        name=KEY_SWAP_DEADLINE,
        kind=Number.of(Tuning, "swap_deadline_seconds", "a number of seconds"),
        sets="Tuning.swap_deadline_seconds",
    ),
    KeySpec(
        name=KEY_MAX_TRIGGER_AGE,
        kind=Number.of(Tuning, "max_trigger_age_seconds", "a number of seconds"),
        sets="Tuning.max_trigger_age_seconds",
    ),
    # How the prober probes: meaningless, and refused, without a probe.
    KeySpec(
        name=KEY_PROBE_VERIFY_TLS,
        kind=Flag(),
        sets="Probing.verify_tls",
        needs=(NEEDS_PROBE,),
        engaged=is_true,
    ),
    KeySpec(
        name=KEY_PROBE_INTERVAL,
        kind=Number.of(Probing, "interval_seconds", "a number of seconds"),
        sets="Probing.interval_seconds",
        needs=(NEEDS_PROBE,),
    ),
    KeySpec(
        name=KEY_PROBE_TIMEOUT,
        kind=Number.of(Probing, "timeout_seconds", "a number of seconds"),
        sets="Probing.timeout_seconds",
        needs=(NEEDS_PROBE,),
    ),
    KeySpec(
        name=KEY_PROBE_FAILURES,
        kind=Number.of(Probing, "failures", "a whole number of consecutive failed probes"),
        sets="Probing.failures",
        needs=(NEEDS_PROBE,),
    ),
    KeySpec(
        name=KEY_PROBE_CONFIRM,
        kind=Number.of(
            Probing,
            "confirm_seconds",
            "a number of seconds between a failed probe's start and the next one's,",
        ),
        sets="Probing.confirm_seconds",
        needs=(NEEDS_PROBE,),
    ),
    KeySpec(
        name=KEY_PROBE_PORTS,
        kind=ListOf(Port(EXPECT_PROBE_PORTS), repeats="drop", sort=True),
        sets="Probing.tag_ports",
        needs=(NEEDS_TAGS, NEEDS_PLACEMENT),
    ),
    # Where the prober runs.
    KeySpec(
        name=KEY_VPC,
        kind=Text(VpcId, EXPECT_VPC, deploy_time=True),
        needs=(NEEDS_PROBE,),
    ),
    KeySpec(
        name=KEY_PROBE_SUBNETS,
        kind=ListOf(Text(SubnetId, EXPECT_SUBNET, deploy_time=True)),
        needs=(NEEDS_PROBE,),
    ),
    KeySpec(
        name=KEY_PROBE_ENDPOINTS,
        kind=Flag(),
        default=False,
        needs=(NEEDS_PROBE,),
        engaged=is_true,
    ),
    KeySpec(name=KEY_PROBE_QUORUM, kind=Flag(), needs=(NEEDS_PROBE,), engaged=is_true),
    KeySpec(name=KEY_READINESS_SCHEDULE, kind=_Schedule(), default=_default_schedule),
    KeySpec(
        name=KEY_HISTORY_RETENTION,
        kind=Number.of(Settings, "history_retention_days", "a whole number of days"),
        default=DEFAULT_RETENTION_DAYS,
    ),
    KeySpec(name=KEY_RESERVED_CONCURRENCY, kind=_reservation, default=_default_reservation),
    KeySpec(
        name=KEY_ACCOUNT_CONCURRENCY,
        kind=Number(Annotated[int, Field(ge=1)], EXPECT_ACCOUNT_CONCURRENCY),
        default=DEFAULT_ACCOUNT_CONCURRENCY,
    ),
)
SPECS = {spec.name: spec for spec in KEYS}
PAIR_SPECS = tuple(spec for spec in KEYS if spec.scope & PAIR_KEY)
STACK_SPECS = tuple(spec for spec in KEYS if spec.scope & Scope.STACK)

# Every key this app reads. CDK puts its own keys in the context too (feature flags such as
# "@aws-cdk/core:...", "aws:cdk:..." settings, lookups such as "availability-zones:..."): they
# all contain '@' or ':', which none of ours does, so only keys without them are checked.
KNOWN_KEYS = tuple(spec.name for spec in KEYS)
# Keys of one entry of the `pairs` list.
PAIR_ENTRY_KEYS = tuple(spec.in_entry for spec in PAIR_SPECS)


def read_settings(
    context: Mapping[str, Any] | ContextLookup, *, keys: Iterable[str] | None = None
) -> DeploymentSettings:
    """Read and validate the context; raise SettingsError with every problem found, not the
    first wave of them.

    ``context``: a mapping of context keys to values (a construct's ``config`` dict, or
    cdk.json's ``context``), whose keys are all checked; or a lookup such as
    ``app.node.try_get_context``, with ``keys`` all the keys the context holds
    (``app.node.get_all_context()``). A key this app does not know, a typo such as
    ``evaluationPeriod``, is a problem too, not ignored.
    """
    if isinstance(context, Mapping):
        mapping = context
        lookup: ContextLookup = mapping.get
        keys = mapping.keys() if keys is None else keys
    else:
        lookup = context
    reading = _Reading(problems=unknown_keys(keys or ()))
    for spec in STACK_SPECS:
        if spec.name == KEY_PAIRS:
            _read_pairs(reading, lookup)
            continue
        given, value = read_key(
            spec, lookup(spec.name), spec.name, reading.problems, reading=reading
        )
        if given:
            reading.given.add(spec.name)
        reading.values[spec.name] = value
    _check_stack_name(reading)
    tuning = _model(reading, Tuning)
    probing = _model(reading, Probing)
    _check_pairs_apart(reading)
    _check_needs(reading, pair=None)
    _check_quorum(reading)
    if reading.problems:
        raise SettingsError(reading.problems)
    return _settings(reading, tuning=tuning or Tuning(), probing=probing or Probing())


def unknown_keys(keys: Iterable[str]) -> list[str]:
    """A problem for each key that looks like ours but is not, with the nearest known key."""
    problems = []
    for key in sorted(set(keys)):
        if key in KNOWN_KEYS or key in CDK_OWN_KEYS or "@" in key or ":" in key:
            continue
        close = nearest(key, KNOWN_KEYS)
        hint = f"did you mean {close}?" if close else f"known keys: {', '.join(KNOWN_KEYS)}"
        problems.append(f"{key} is not a known key; {hint}")
    return problems


# --- pairs -------------------------------------------------------------------------------


def _read_pairs(reading: _Reading, lookup: ContextLookup) -> None:
    """The single pair of the command line, or every entry of a `pairs` list, each key read
    by its spec; then each pair's own rules."""
    listed = lookup(KEY_PAIRS)
    single = [spec.name for spec in PAIR_SPECS if lookup(spec.name) is not None]
    if listed is not None:
        reading.given.add(KEY_PAIRS)
        entries = SPECS[KEY_PAIRS].kind_for(reading).read(listed, KEY_PAIRS, reading.problems)
        reading.described = len(entries) if entries is not None else 0
        if entries == [] and not reading.discover_tags:
            reading.problems.append(
                f"{KEY_PAIRS}: expected a non-empty list of {_entry_form()}: an empty list "
                f"protects nothing unless pairs are declared by tags "
                f"({KEY_DISCOVERY}={DISCOVERY_TAGS})"
            )
        if single:
            reading.problems.append(
                f"{KEY_PAIRS}: give either a '{KEY_PAIRS}' list or one pair through "
                f"{', '.join(single)}, not both"
            )
            return
        for index, entry in enumerate(entries or ()):
            _read_entry(reading, index, entry)
        return
    if not single:
        if not reading.discover_tags:  # a stack of tagged pairs only is complete without any
            reading.problems.append(HOW_TO_CONFIGURE)
        return
    pair = _PairReading(index=None)
    reading.pairs.append(pair)
    for spec in PAIR_SPECS:
        _read_pair_key(reading, pair, spec, lookup(spec.name), Scope.SINGLE)
    _check_pair(reading, pair)


def _read_entry(reading: _Reading, index: int, entry: object) -> None:
    where = f"{KEY_PAIRS}[{index}]"
    if not isinstance(entry, Mapping):
        reading.problems.append(
            f"{where}: expected an object with keys {', '.join(PAIR_ENTRY_KEYS)}; got {entry!r}"
        )
        return
    for key in entry:
        if key not in PAIR_ENTRY_KEYS:
            reading.problems.append(f"{where}.{key}: {_unknown_in_entry(str(key))}")
    pair = _PairReading(index=index)
    reading.pairs.append(pair)
    for spec in PAIR_SPECS:
        _read_pair_key(reading, pair, spec, entry.get(spec.in_entry), Scope.ENTRY)
    _check_pair(reading, pair)


def _unknown_in_entry(key: str) -> str:
    """Why a key does not belong in a `pairs` entry, and what was probably meant."""
    by_top_name = {spec.name: spec.in_entry for spec in PAIR_SPECS if spec.entry_name}
    if key in by_top_name:  # the single pair's name for it (eniId for eniIds)
        return f"not a key of a {KEY_PAIRS} entry; did you mean {by_top_name[key]}?"
    if key in SPECS:
        return (
            f"not a key of a {KEY_PAIRS} entry: {key} is stack-wide; set it beside "
            f"'{KEY_PAIRS}', not in an entry"
        )
    close = nearest(key, PAIR_ENTRY_KEYS)
    hint = f"did you mean {close}?" if close else f"expected {', '.join(PAIR_ENTRY_KEYS)}"
    return f"not a known key of a {KEY_PAIRS} entry; {hint}"


def _read_pair_key(
    reading: _Reading, pair: _PairReading, spec: KeySpec, raw: object, scope: Scope
) -> None:
    label = pair.label(spec.name)
    given, value = read_key(spec, raw, label, reading.problems, reading=reading, scope=scope)
    if given:
        pair.given.add(spec.name)
    if value is not None:
        pair.values[spec.name] = value


def _check_pair(reading: _Reading, pair: _PairReading) -> None:
    """One pair's own rules: two instances, at least one address, what its keys need, and
    a fence that does not rule out its failback."""
    problems = reading.problems
    primary, standby = pair.get(KEY_PRIMARY), pair.get(KEY_STANDBY)
    if primary is not None and primary == standby:
        problems.append(
            f"{pair.label(KEY_PRIMARY)} and {pair.label(KEY_STANDBY)}: both are {primary}; the "
            "standby must be a different instance from the primary"
        )
    if not pair.given & {KEY_INTERFACE, *ADDRESS_KEYS}:
        problems.append(
            f"{pair.label(KEY_INTERFACE)}: missing, and the pair lists no other address, so it "
            f"would move nothing; list at least one: {pair.label(KEY_INTERFACE)} "
            f"({EXPECT_INTERFACE}), {pair.label(KEY_ROUTE_TABLES)} ({EXPECT_ROUTE_TABLE}) with "
            f"{pair.label(KEY_ROUTE_CIDRS)} ({EXPECT_CIDR}), {pair.label(KEY_ELASTIC_IPS)} "
            f"({EXPECT_ALLOCATION}) or {pair.label(KEY_PRIVATE_IPS)} ({EXPECT_PRIVATE_IP})"
        )
    _check_needs(reading, pair=pair)
    spec = ProbeSpec.parse(pair.get(KEY_PROBE)) if pair.get(KEY_PROBE) else None
    if (
        pair.get(KEY_FENCE) is FenceMode.ISOLATE
        and pair.get(KEY_FAILBACK) is FailbackPolicy.AUTO
        and spec is not None
        and not spec.through_pair
    ):
        fence, failback = pair.label(KEY_FENCE), pair.label(KEY_FAILBACK)
        problems.append(
            f"{fence}: 'isolate' with {failback} 'auto' and {pair.label(KEY_PROBE)} "
            f"{pair.get(KEY_PROBE)!r} would never fail back: the quarantined primary cannot "
            "answer the prober, and automatic failback waits until it does. Choose one: "
            f"{fence}=stop (the restarted primary answers again), {failback}=manual (an "
            "operator fails back, which restores the groups first), or a probe of a host "
            "beyond the pair"
        )


def _check_pairs_apart(reading: _Reading) -> None:
    """Cross-pair rules, on every pair's valid values (so every pair's mistakes come in one
    report): a name is one pair's, an address of any kind and a trigger alarm follow one
    pair only."""
    seen_names: dict[str, str] = {}
    owner: dict[str, str] = {}
    alarm_owner: dict[str, str] = {}
    for pair in reading.pairs:
        name = pair.get(KEY_PAIR_NAME)
        where = pair.label(KEY_PAIR_NAME).rsplit(".", 1)[0]
        if name is not None and name in seen_names:
            reading.problems.append(
                f"{pair.label(KEY_PAIR_NAME)}: {name!r} is already the name of "
                f"{seen_names[name]}; pair names must be unique"
            )
        elif name is not None:
            seen_names[name] = where
        # (the address as Pair.addresses names it, the key that listed it, what to say)
        claims = [
            (i, pair.label(KEY_INTERFACE), i, "an interface can float within one pair only")
            for i in pair.get(KEY_INTERFACE) or ()
        ]
        claims += [
            (
                f"route {table} {cidr}",
                f"{pair.label(KEY_ROUTE_TABLES)} / {pair.label(KEY_ROUTE_CIDRS)}",
                f"the route to {cidr} in {table}",
                "a route can follow one pair only",
            )
            for table, cidr in pair.routes
        ]
        claims += [
            (
                f"elastic-ip {a}",
                pair.label(KEY_ELASTIC_IPS),
                a,
                "an Elastic IP can follow one pair only",
            )
            for a in pair.get(KEY_ELASTIC_IPS) or ()
        ]
        claims += [
            (
                f"private-ip {ip}",
                pair.label(KEY_PRIVATE_IPS),
                ip,
                "a private IP can follow one pair only",
            )
            for ip in pair.get(KEY_PRIVATE_IPS) or ()
        ]
        for address, key, shown, rule in claims:
            if address in owner:
                reading.problems.append(
                    f"{key}: {shown} also belongs to pair {owner[address]!r}; {rule}"
                )
            owner.setdefault(address, pair.name)
        for alarm in pair.get(KEY_TRIGGER_ALARMS) or ():
            if alarm in alarm_owner:
                reading.problems.append(
                    f"{pair.label(KEY_TRIGGER_ALARMS)}: alarm {alarm!r} is also a trigger of "
                    f"pair {alarm_owner[alarm]!r}; an alarm can trigger one pair only"
                )
            alarm_owner.setdefault(alarm, pair.name)


# --- what keys need ----------------------------------------------------------------------


def _check_needs(reading: _Reading, *, pair: _PairReading | None) -> None:
    """Every need of every key, the same way: the places whose value asks for it, given to
    the need's check. A pair's needs with ``pair``; the stack's (which may gather the keys
    of every pair) without."""
    for need, (per_pair, check) in NEEDS.items():
        if per_pair != (pair is not None):
            continue
        asking = [
            label
            for spec in KEYS
            if need in spec.needs
            for label in (
                ([pair.label(spec.name)] if _engaged(pair, spec) else [])
                if pair is not None
                else reading.engaged(spec.name)
            )
        ]
        if asking:
            problem = check(reading, pair, asking)
            if problem:
                reading.problems.append(problem)


def _engaged(pair: _PairReading, spec: KeySpec) -> bool:
    """The pair gives ``spec``'s key a valid value that asks for what the key needs (a value
    refused is reported as such, and asks for nothing more)."""
    value = pair.get(spec.name)
    return spec.name in pair.given and value is not None and spec.engaged(value)


def _needs_auto_failback(reading: _Reading, pair: _PairReading | None, asking: list[str]) -> str:
    assert pair is not None
    failback = pair.get(KEY_FAILBACK)
    if failback is FailbackPolicy.AUTO or (KEY_FAILBACK in pair.given and failback is None):
        return ""  # automatic, or its own problem is reported
    return (
        f"{', '.join(asking)}: given, but {pair.label(KEY_FAILBACK)} is not 'auto'; the "
        "hold-down applies only to automatic failback"
    )


def _needs_other_half_of_a_route(missing_key: str) -> Callable[..., str]:
    def check(reading: _Reading, pair: _PairReading | None, asking: list[str]) -> str:
        assert pair is not None
        if missing_key in pair.given:
            return ""
        expected = EXPECT_CIDR if missing_key == KEY_ROUTE_CIDRS else EXPECT_ROUTE_TABLE
        return (
            f"{pair.label(missing_key)}: missing; {', '.join(asking)} is given, and a route is "
            "a route table and a destination (in every listed table, the route to every "
            f"listed destination follows the failover): expected {expected}, comma-separated "
            "for several"
        )

    return check


def _needs_vpc_to_isolate(reading: _Reading, pair: _PairReading | None, asking: list[str]) -> str:
    if KEY_VPC in reading.given:
        return ""
    return (
        f"{KEY_VPC}: missing; {', '.join(asking)} is 'isolate', which puts an empty "
        "quarantine security group on the failed primary, and the stack creates that group "
        f"in the pairs' VPC: -c {KEY_VPC}=vpc-... ({EXPECT_VPC})"
    )


def _needs_vpc_to_assign(reading: _Reading, pair: _PairReading | None, asking: list[str]) -> str:
    if KEY_VPC in reading.given:
        return ""
    return (
        f"{KEY_VPC}: missing; {', '.join(asking)} moves secondary private IPs between the "
        "instances' primary interfaces, which are known only at run time, so the function "
        "may assign private IPs only to interfaces in the pairs' VPC: "
        f"-c {KEY_VPC}=vpc-... ({EXPECT_VPC})"
    )


def _needs_tags(reading: _Reading, pair: _PairReading | None, asking: list[str]) -> str:
    if reading.discover_tags:
        return ""
    return (
        f"{', '.join(asking)}: given, but {KEY_DISCOVERY} is not '{DISCOVERY_TAGS}'; it opens "
        f"the prober to probes declared by the {PROBE_TAG} tag (a configured {KEY_PROBE} "
        f"opens its own port): add -c {KEY_DISCOVERY}={DISCOVERY_TAGS}, or leave it out"
    )


def _has_probes(reading: _Reading) -> bool:
    """Something for the prober to probe: a pair's probe, or probePorts (for tagged ones)."""
    return KEY_PROBE_PORTS in reading.given or any(KEY_PROBE in p.given for p in reading.pairs)


def _needs_probe(reading: _Reading, pair: _PairReading | None, asking: list[str]) -> str:
    """How the prober probes and where it runs mean nothing without a probe; vpcId alone is
    fine where a pair isolates or assigns private IPs: the quarantine group and the
    assignment's scope live there."""
    if _has_probes(reading):
        return ""
    if reading.engaged(KEY_FENCE) or reading.engaged(KEY_PRIVATE_IPS):
        asking = [label for label in asking if label != KEY_VPC]
    if not asking:
        return ""
    tagged = (
        f", or {KEY_PROBE_PORTS} to probe pairs declared by tags" if reading.discover_tags else ""
    )
    return (
        f"{', '.join(asking)}: given, but no pair has a {KEY_PROBE}, so the prober would have "
        f"nothing to run; add {KEY_PROBE} (to a '{KEY_PAIRS}' entry, or beside the single "
        f"pair){tagged}, or leave them out"
    )


def _needs_placement(reading: _Reading, pair: _PairReading | None, asking: list[str]) -> str:
    """A probe needs somewhere to run: the prober's VPC and subnets."""
    missing = [key for key in (KEY_VPC, KEY_PROBE_SUBNETS) if key not in reading.given]
    probed = [label for label in asking if label != KEY_PROBE_PORTS]
    reasons = [f"{', '.join(probed)} sets a probe"] if probed else []
    if KEY_PROBE_PORTS in asking and reading.discover_tags:
        reasons.append(f"{KEY_PROBE_PORTS} asks for probes declared by tags")
    if not missing or not reasons:
        return ""
    return (
        f"{', '.join(missing)}: missing; {' and '.join(reasons)}, and the prober needs the "
        "VPC and subnets to run in, where it reaches the pairs' addresses: "
        f"-c {KEY_VPC}=vpc-... ({EXPECT_VPC}) -c {KEY_PROBE_SUBNETS}=subnet-...,subnet-... "
        f"({EXPECT_SUBNET}, comma-separated)"
    )


_NeedCheck = Callable[[_Reading, _PairReading | None, list[str]], str]
# Each need: (checked per pair, the check). A check returns the problem, or "" when met.
NEEDS: dict[str, tuple[bool, _NeedCheck]] = {
    NEEDS_ROUTE_CIDRS: (True, _needs_other_half_of_a_route(KEY_ROUTE_CIDRS)),
    NEEDS_ROUTE_TABLES: (True, _needs_other_half_of_a_route(KEY_ROUTE_TABLES)),
    NEEDS_AUTO_FAILBACK: (True, _needs_auto_failback),
    NEEDS_VPC_TO_ISOLATE: (False, _needs_vpc_to_isolate),
    NEEDS_VPC_TO_ASSIGN: (False, _needs_vpc_to_assign),
    NEEDS_TAGS: (False, _needs_tags),
    NEEDS_PROBE: (False, _needs_probe),
    NEEDS_PLACEMENT: (False, _needs_placement),
}


# --- stack-wide rules --------------------------------------------------------------------


def _check_stack_name(reading: _Reading) -> None:
    name = reading.get(KEY_STACK_NAME)
    if name is not None and len(state_rule_name(name)) > MAX_RULE_NAME_LENGTH:
        reading.problems.append(
            f"{KEY_STACK_NAME}: {name!r} is too long; the stack's EventBridge rule "
            f"{state_rule_name(name)!r} would be longer than the {MAX_RULE_NAME_LENGTH} "
            f"characters EventBridge allows, so use at most "
            f"{MAX_RULE_NAME_LENGTH - len(state_rule_name(''))} characters"
        )


def _check_quorum(reading: _Reading) -> None:
    subnets = reading.get(KEY_PROBE_SUBNETS) or ()
    if reading.get(KEY_PROBE_QUORUM) and subnets and len(subnets) < 2 and _has_probes(reading):
        reading.problems.append(
            f"{KEY_PROBE_QUORUM}: true, but {KEY_PROBE_SUBNETS} lists {len(subnets)} subnet; "
            "the quorum probes from one subnet per vantage and counts a failure only when both "
            f"see it: list two subnets in different zones (-c {KEY_PROBE_SUBNETS}="
            f"subnet-...,subnet-...), or set -c {KEY_PROBE_QUORUM}=false"
        )


_Model = TypeVar("_Model", Tuning, Probing)


def _model(reading: _Reading, model: type[_Model]) -> _Model | None:
    """The stack-wide model the keys of ``sets`` 'Model.field' fill; the rules that tie its
    fields together (ProbingConflict) named against the keys. None if a key was refused."""
    keys = {
        spec.sets.split(".")[1]: spec.name
        for spec in STACK_SPECS
        if spec.sets.startswith(f"{model.__name__}.")
    }
    if any(key in reading.given and reading.get(key) is None for key in keys.values()):
        return None  # refused: the model's cross-checks would compare against a default
    given = {f: reading.get(key) for f, key in keys.items() if key in reading.given}
    try:
        return model.model_validate(given, context=SYNTH_CONTEXT)
    except ValidationError as error:
        for problem in error.errors():
            conflict = problem.get("ctx", {}).get("error")
            fields = conflict.fields if isinstance(conflict, ProbingConflict) else ()
            named = " / ".join(keys[f] for f in fields if f in keys) or model.__name__.lower()
            reading.problems.append(f"{named}: {str(problem['msg']).removeprefix('Value error, ')}")
        return None


# --- the settings, once every key is valid -----------------------------------------------


def _pair(reading: _Reading, pair: _PairReading, stack_name: str) -> Pair:
    fields = {
        spec.sets.split(".")[1]: pair.get(spec.name)
        for spec in PAIR_SPECS
        if spec.name in pair.values
    }
    fields["alarm_name"] = alarm_name_for(stack_name, fields["name"])
    try:
        return Pair.model_validate(fields, context=SYNTH_CONTEXT)
    except ValidationError as error:  # a rule of the model the reader does not pre-check
        raise SettingsError(
            [f"{pair.label(KEY_PAIR_NAME)} {fields['name']!r}: {reason_of(error)}"]
        ) from error


def _settings(reading: _Reading, *, tuning: Tuning, probing: Probing) -> DeploymentSettings:
    stack_name: str = reading.get(KEY_STACK_NAME)
    pairs = tuple(_pair(reading, pair, stack_name) for pair in reading.pairs)
    discover_tags = reading.discover_tags
    if not discover_tags:
        probing = probing.model_copy(update={"tag_ports": ()})
    try:
        failover = FailoverConfig.model_validate(
            {
                "pairs": pairs,
                "tuning": tuning,
                "probing": probing,
                "discover_tags": discover_tags,
                "evaluation_periods": reading.get(KEY_EVALUATION_PERIODS),
            },
            context=SYNTH_CONTEXT,
        )
    except ValidationError as error:  # the reader checks these first; said plainly if not
        raise SettingsError([f"{KEY_PAIRS}: {reason_of(error)}"]) from error
    _check_permissions_fit(failover.pairs)
    isolating = any(p.fence is FenceMode.ISOLATE for p in pairs)
    assigning = any(p.private_ips for p in pairs)
    vpc_id = reading.get(KEY_VPC)
    settings = DeploymentSettings(
        stack_name=stack_name,
        failover=failover,
        notify_emails=reading.get(KEY_NOTIFY_EMAIL),
        evaluation_periods=reading.get(KEY_EVALUATION_PERIODS),
        max_event_age_seconds=reading.get(KEY_MAX_EVENT_AGE),
        readiness_schedule=reading.get(KEY_READINESS_SCHEDULE),
        reserved_concurrency=reading.get(KEY_RESERVED_CONCURRENCY) or None,
        prober=_placement(reading) if failover.has_prober else None,
        quarantine_vpc_id=vpc_id if isolating else None,
        private_ip_vpc_id=vpc_id if assigning else None,
        history_retention_days=reading.get(KEY_HISTORY_RETENTION),
    )
    _check_reservations_fit(
        settings,
        reading.get(KEY_ACCOUNT_CONCURRENCY),
        minimum=minimum_reserved_concurrency(reading.planned_pairs),
    )
    return settings


def _placement(reading: _Reading) -> ProberPlacement:
    # Zones are not known at synth without credentials: two subnets are taken to be two
    # zones (one vantage each), and `eni-failover check` says when they are not.
    subnets: tuple[str, ...] = reading.get(KEY_PROBE_SUBNETS)
    quorum = reading.get(KEY_PROBE_QUORUM)
    return ProberPlacement(
        vpc_id=reading.get(KEY_VPC),
        subnet_ids=subnets,
        endpoints=bool(reading.get(KEY_PROBE_ENDPOINTS)),
        quorum=quorum if quorum is not None else len(subnets) >= 2,
    )


def _check_reservations_fit(
    settings: DeploymentSettings, account_concurrency: int, *, minimum: int
) -> None:
    """The stack's reservations must leave the account the unreserved executions Lambda
    insists on, or the deploy fails at the function (PutFunctionConcurrency)."""
    reservations = settings.reservations
    reserved = sum(reservations.values())
    available = max(account_concurrency - ACCOUNT_UNRESERVED_MINIMUM, 0)
    if reserved <= available:  # nothing reserved always fits
        return
    which = ", ".join(f"{name} {count}" for name, count in reservations.items())
    raise SettingsError(
        [
            f"{KEY_RESERVED_CONCURRENCY}: the stack reserves {reserved} concurrent executions "
            f"({which}), and Lambda refuses a reservation that leaves the account fewer than "
            f"{ACCOUNT_UNRESERVED_MINIMUM} unreserved: an account whose quota is "
            f"{account_concurrency} ({KEY_ACCOUNT_CONCURRENCY}; Lambda's default is "
            f"{DEFAULT_ACCOUNT_CONCURRENCY}) can reserve at most {available}, its other "
            f"functions' reservations included. Reserve less (-c {KEY_RESERVED_CONCURRENCY}=N, "
            f"at least {minimum}), reserve nothing (-c {KEY_RESERVED_CONCURRENCY}=none), or, "
            f"if the account's quota is higher, say so: -c {KEY_ACCOUNT_CONCURRENCY}=QUOTA "
            "(`aws lambda get-account-settings`, AccountLimit.ConcurrentExecutions)"
        ]
    )


def _check_permissions_fit(pairs: Sequence[Pair]) -> None:
    """The ARNs of the pairs' instances, interfaces, route tables, Elastic IPs and trigger
    alarms must fit the managed policies a role takes."""
    # Imported here: these modules build CDK constructs, which validating the context needs
    # only for this count.
    from eni_failover_cdk.alarm_triggers import alarm_read_grant  # noqa: PLC0415
    from eni_failover_cdk.failover_function import address_grants  # noqa: PLC0415
    from eni_failover_cdk.fencing import fence_grants  # noqa: PLC0415
    from eni_failover_cdk.resource_policies import MANAGED_POLICIES_PER_ROLE, policies_needed  # noqa: PLC0415

    alarms = [name for pair in pairs for name in pair.trigger_alarms]
    needed = (
        policies_needed(address_grants(pairs))
        + policies_needed(fence_grants(pairs))
        + policies_needed([alarm_read_grant(alarms)])
    )
    if needed > MANAGED_POLICIES_PER_ROLE:
        named = [
            "instances and interfaces",
            *(["route tables"] if any(p.route_table_ids for p in pairs) else []),
            *(["Elastic IPs"] if any(p.eip_allocation_ids for p in pairs) else []),
            *(["trigger alarms"] if alarms else []),
        ]
        raise SettingsError(
            [
                f"{KEY_PAIRS}: {len(pairs)} pairs name too many {' and '.join(named)} "
                "for one role: their ARNs need "
                f"{needed} managed policies, and IAM attaches at most {MANAGED_POLICIES_PER_ROLE} "
                "to a role; split the pairs across stacks "
                f"(-c {KEY_STACK_NAME}=...), or declare them by tags (discovery=tags)"
            ]
        )
