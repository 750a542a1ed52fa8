"""Deployment settings: the CDK context, read once and validated into typed models.

Every problem is reported against the context key the operator typed (``primaryInstanceId``,
``pairs[1].eniIds``) with the form that was expected, so a bad value stops synth with a
message that says what to fix. The pair and tuning models themselves come from the Lambda's
``eni_failover.config``: a value the stack accepts is a value the function accepts.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import Field, TypeAdapter, ValidationError

from eni_failover.config import (
    ACCEPT_CDK_TOKENS,
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
    Tuning,
    resource_id,
)
from eni_failover.contract import DEFAULT_STACK_NAME
from eni_failover.discovery import PROBE_PORTS_KEY, PROBE_TAG
from eni_failover.history import DEFAULT_RETENTION_DAYS
from eni_failover.probe import EXPECT_PROBE, ProbeSpec

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
EXPECT_FAILBACK_AFTER = "a whole number of seconds from 60 to 86400"
EXPECT_MAX_AUTOMATIC_MOVES = "a whole number of automatic moves an hour, from 1 to 60"
EXPECT_FENCE = "'none', 'stop' (stop the failed primary) or 'isolate' (quarantine its groups)"

# Every key this app reads. CDK puts its own keys in the context too (feature flags such as
# "@aws-cdk/core:...", "aws:cdk:..." settings, lookups such as "availability-zones:..."): they
# all contain '@' or ':', which none of ours does, so only keys without them are checked.
KNOWN_KEYS = (
    KEY_STACK_NAME,
    KEY_PRIMARY,
    KEY_STANDBY,
    KEY_INTERFACE,
    *ADDRESS_KEYS,
    KEY_PAIR_NAME,
    KEY_PAIRS,
    KEY_NOTIFY_EMAIL,
    KEY_EVALUATION_PERIODS,
    KEY_SWAP_DEADLINE,
    KEY_MAX_TRIGGER_AGE,
    KEY_MAX_EVENT_AGE,
    KEY_READINESS_SCHEDULE,
    KEY_RESERVED_CONCURRENCY,
    KEY_ACCOUNT_CONCURRENCY,
    KEY_HISTORY_RETENTION,
    KEY_PROBE,
    KEY_TRIGGER_ALARMS,
    KEY_VPC,
    KEY_PROBE_SUBNETS,
    KEY_PROBE_INTERVAL,
    KEY_PROBE_TIMEOUT,
    KEY_PROBE_FAILURES,
    KEY_PROBE_CONFIRM,
    KEY_PROBE_VERIFY_TLS,
    KEY_PROBE_ENDPOINTS,
    KEY_PROBE_QUORUM,
    KEY_PROBE_PORTS,
    KEY_DISCOVERY,
    *POLICY_KEYS,
)
# Keys without '@' or ':' that the CDK CLI itself may write into the context.
CDK_OWN_KEYS = frozenset({"acknowledged-issue-numbers"})

# Keys of one entry of the `pairs` list.
PAIR_ENTRY_NAME = "name"
PAIR_ENTRY_PRIMARY = "primaryInstanceId"
PAIR_ENTRY_STANDBY = "standbyInstanceId"
PAIR_ENTRY_INTERFACES = "eniIds"
PAIR_ENTRY_PROBE = "probe"
PAIR_ENTRY_TRIGGER_ALARMS = "triggerAlarms"
PAIR_ENTRY_KEYS = (
    PAIR_ENTRY_NAME,
    PAIR_ENTRY_PRIMARY,
    PAIR_ENTRY_STANDBY,
    PAIR_ENTRY_INTERFACES,
    *ADDRESS_KEYS,
    PAIR_ENTRY_PROBE,
    PAIR_ENTRY_TRIGGER_ALARMS,
    *POLICY_KEYS,
)

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
VPC_ID_PATTERN = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
SUBNET_ID_PATTERN = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
VpcId = Annotated[str, resource_id(VPC_ID_PATTERN, "a VPC ID")]
SubnetId = Annotated[str, resource_id(SUBNET_ID_PATTERN, "a subnet ID")]
# At synth an ID may be a CDK token (EniFailover in a user's stack: instance.instance_id);
# the function validates it once resolved (eni_failover.config.read_config_file).
_SYNTH = {ACCEPT_CDK_TOKENS: True}
# EventBridge's two schedule forms; rate takes a singular unit for 1 and a plural otherwise.
RATE_PATTERN = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON_PATTERN = re.compile(r"^cron\(\S+( \S+){5}\)$")

EXPECT_STACK_NAME = "a stack name: a letter, then letters, digits and '-'"
EXPECT_VPC = "a VPC ID: 'vpc-' then 8 or 17 hex digits"
EXPECT_SUBNET = "a subnet ID: 'subnet-' then 8 or 17 hex digits"
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
    "  (these and notifyEmail accept several comma-separated values), or list several "
    "pairs under 'pairs' in the context of cdk.json:\n"
    '    "pairs": [{"name": "web", "primaryInstanceId": "i-...", '
    '"standbyInstanceId": "i-...", "eniIds": ["eni-..."]}]\n'
    f"  (each entry may list {', '.join(ADDRESS_KEYS)} too) with notifyEmail beside it."
)

ContextLookup = Callable[[str], Any]
_T = TypeVar("_T")


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


def read_settings(
    lookup: ContextLookup, *, keys: Iterable[str] | None = None
) -> DeploymentSettings:
    """Read and validate the context (``app.node.try_get_context``); raise SettingsError
    with every problem found, not the first wave of them.

    ``keys`` are all the keys the context holds (``app.node.get_all_context()``): one this
    app does not know, a typo such as ``evaluationPeriod``, is a problem too, not ignored.
    """
    problems = unknown_keys(keys or ())

    stack_name = _optional(lookup, KEY_STACK_NAME, problems) or DEFAULT_STACK_NAME
    if not STACK_NAME_PATTERN.fullmatch(stack_name):
        problems.append(f"{KEY_STACK_NAME}: {stack_name!r} is not {EXPECT_STACK_NAME}")
    elif len(state_rule_name(stack_name)) > MAX_RULE_NAME_LENGTH:
        problems.append(
            f"{KEY_STACK_NAME}: {stack_name!r} is too long; the stack's EventBridge rule "
            f"{state_rule_name(stack_name)!r} would be longer than the {MAX_RULE_NAME_LENGTH} "
            f"characters EventBridge allows, so use at most "
            f"{MAX_RULE_NAME_LENGTH - len(state_rule_name(''))} characters"
        )

    discover_tags = _read_discovery(lookup, problems)
    pairs = _read_pairs(lookup, problems, discover_tags=discover_tags)
    notify_emails = _read_emails(lookup, problems)
    evaluation_periods = _read_number(
        lookup,
        KEY_EVALUATION_PERIODS,
        kind=Annotated[int, Field(ge=1, le=60)],
        default=DEFAULT_EVALUATION_PERIODS,
        expected="a whole number of minutes from 1 to 60",
        problems=problems,
    )
    max_event_age = _read_number(
        lookup,
        KEY_MAX_EVENT_AGE,
        kind=Annotated[int, Field(ge=60, le=21600)],
        default=DEFAULT_MAX_EVENT_AGE_SECONDS,
        expected="a whole number of seconds from 60 to 21600",
        problems=problems,
    )
    tuning = _read_tuning(lookup, problems)
    probing = _read_probing(lookup, problems)
    probe_ports = _read_probe_ports(lookup, problems)
    probing = probing.model_copy(update={"tag_ports": probe_ports})
    placement = _read_placement(lookup, problems)
    readiness_schedule = _read_schedule(
        lookup,
        problems,
        default=(
            FLEET_READINESS_SCHEDULE
            if discover_tags or _given_pair_count(lookup) > PAIRS_CHECKED_PER_RUN
            else DEFAULT_READINESS_SCHEDULE
        ),
    )
    history_retention_days = _read_number(
        lookup,
        KEY_HISTORY_RETENTION,
        kind=Annotated[int, Field(ge=1, le=3650)],
        default=DEFAULT_RETENTION_DAYS,
        expected="a whole number of days from 1 to 3650",
        problems=problems,
    )

    # The cross-pair and stack-wide rules run on the pairs that are valid, so that their
    # problems come in the same report as the per-pair ones.
    named = {
        index: pair.model_copy(update={"alarm_name": alarm_name_for(stack_name, pair.name)})
        for index, pair in pairs.items()
    }
    single = lookup(KEY_PAIRS) is None
    # A stack of tagged pairs only has no pair to be invalid (_given_pair_count counts the
    # single pair the command line would give).
    tagged_only = discover_tags and lookup(KEY_PAIRS) is None and not _given_single(lookup)
    all_pairs_valid = tagged_only or len(named) == _given_pair_count(lookup)
    _check_names(stack_name, named, single=single, problems=problems)
    isolating = _check_isolation(named, placement, single=single, problems=problems)
    assigning = _check_private_ips(named, placement, single=single, problems=problems)
    _check_isolated_failback(named, single=single, problems=problems)
    prober = _check_detection(
        named,
        placement,
        single=single,
        all_pairs_valid=all_pairs_valid,
        problems=problems,
        vpc_needed=bool(isolating or assigning),
        discover_tags=discover_tags,
        probe_ports=probe_ports,
        probe_ports_given=lookup(KEY_PROBE_PORTS) is not None,
    )
    planned_pairs = max(len(named), _given_pair_count(lookup))
    if discover_tags:
        # Tagged pairs are unknown at synth: reserve for as many again, at least 20 more.
        planned_pairs += max(planned_pairs, DISCOVERED_PAIRS_PLANNED)
    reserved_concurrency = _read_reserved_concurrency(lookup, planned_pairs, problems)
    account_concurrency = _read_number(
        lookup,
        KEY_ACCOUNT_CONCURRENCY,
        kind=Annotated[int, Field(ge=1)],
        default=DEFAULT_ACCOUNT_CONCURRENCY,
        expected=EXPECT_ACCOUNT_CONCURRENCY,
        problems=problems,
    )
    if problems:
        raise SettingsError(problems)
    try:
        failover = FailoverConfig(
            pairs=tuple(named.values()),
            tuning=tuning,
            probing=probing,
            discover_tags=discover_tags,
            evaluation_periods=evaluation_periods,
        )
    except ValidationError as error:
        raise SettingsError([f"{KEY_PAIRS}: {_message(e)}" for e in error.errors()]) from error
    _check_permissions_fit(failover.pairs)
    settings = DeploymentSettings(
        stack_name=stack_name,
        failover=failover,
        notify_emails=notify_emails,
        evaluation_periods=evaluation_periods,
        max_event_age_seconds=max_event_age,
        readiness_schedule=readiness_schedule,
        reserved_concurrency=reserved_concurrency,
        prober=prober,
        quarantine_vpc_id=placement.vpc_id if isolating else None,
        private_ip_vpc_id=placement.vpc_id if assigning else None,
        history_retention_days=history_retention_days,
    )
    _check_reservations_fit(
        settings, account_concurrency, minimum=minimum_reserved_concurrency(planned_pairs)
    )
    return settings


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


def unknown_keys(keys: Iterable[str]) -> list[str]:
    """A problem for each key that looks like ours but is not, with the nearest known key."""
    problems = []
    for key in sorted(set(keys)):
        if key in KNOWN_KEYS or key in CDK_OWN_KEYS or "@" in key or ":" in key:
            continue
        nearest = difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.6)
        hint = f"did you mean {nearest[0]}?" if nearest else f"known keys: {', '.join(KNOWN_KEYS)}"
        problems.append(f"{key} is not a known key; {hint}")
    return problems


def _given_pair_count(lookup: ContextLookup) -> int:
    """How many pairs the context describes, valid or not."""
    listed = lookup(KEY_PAIRS)
    if isinstance(listed, str):
        try:
            listed = json.loads(listed)
        except json.JSONDecodeError:
            return 0
    if isinstance(listed, list):
        return len(listed)
    return 1 if listed is None else 0


def default_reserved_concurrency(pair_count: int) -> int:
    """Every pair failing at once, the schedules, and headroom."""
    return TRIGGERS_PER_FAILURE * pair_count + SCHEDULED_INVOCATIONS + CONCURRENCY_HEADROOM


def minimum_reserved_concurrency(pair_count: int) -> int:
    """One execution per pair plus the schedules: fewer would make pairs queue."""
    return pair_count + SCHEDULED_INVOCATIONS


# --- pairs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PairKeys:
    """Where each field of one pair came from, to name it in a message."""

    name: str
    primary: str
    standby: str
    interfaces: str
    probe: str
    trigger_alarms: str
    route_tables: str
    route_cidrs: str
    elastic_ips: str
    private_ips: str

    @classmethod
    def of_single_pair(cls) -> _PairKeys:
        return cls(
            KEY_PAIR_NAME,
            KEY_PRIMARY,
            KEY_STANDBY,
            KEY_INTERFACE,
            KEY_PROBE,
            KEY_TRIGGER_ALARMS,
            KEY_ROUTE_TABLES,
            KEY_ROUTE_CIDRS,
            KEY_ELASTIC_IPS,
            KEY_PRIVATE_IPS,
        )

    @classmethod
    def of_entry(cls, index: int) -> _PairKeys:
        where = f"{KEY_PAIRS}[{index}]"
        return cls(
            f"{where}.{PAIR_ENTRY_NAME}",
            f"{where}.{PAIR_ENTRY_PRIMARY}",
            f"{where}.{PAIR_ENTRY_STANDBY}",
            f"{where}.{PAIR_ENTRY_INTERFACES}",
            f"{where}.{PAIR_ENTRY_PROBE}",
            f"{where}.{PAIR_ENTRY_TRIGGER_ALARMS}",
            f"{where}.{KEY_ROUTE_TABLES}",
            f"{where}.{KEY_ROUTE_CIDRS}",
            f"{where}.{KEY_ELASTIC_IPS}",
            f"{where}.{KEY_PRIVATE_IPS}",
        )

    @classmethod
    def of(cls, index: int, *, single: bool) -> _PairKeys:
        return cls.of_single_pair() if single else cls.of_entry(index)


def _read_discovery(lookup: ContextLookup, problems: list[str]) -> bool:
    raw = lookup(KEY_DISCOVERY)
    if raw is None:
        return False
    value = raw.strip().lower() if isinstance(raw, str) else raw
    if value not in (DISCOVERY_TAGS, DISCOVERY_NONE):
        problems.append(f"{KEY_DISCOVERY}: {raw!r} is not {EXPECT_DISCOVERY}")
        return False
    return bool(value == DISCOVERY_TAGS)


_SINGLE_PAIR_KEYS = (
    KEY_PRIMARY,
    KEY_STANDBY,
    KEY_INTERFACE,
    *ADDRESS_KEYS,
    KEY_PAIR_NAME,
    KEY_PROBE,
    KEY_TRIGGER_ALARMS,
    *POLICY_KEYS,
)


def _given_single(lookup: ContextLookup) -> list[str]:
    """The keys of the command line's single pair that the context sets."""
    return [key for key in _SINGLE_PAIR_KEYS if lookup(key) is not None]


def _read_pairs(
    lookup: ContextLookup, problems: list[str], *, discover_tags: bool = False
) -> dict[int, Pair]:
    """The valid pairs by their place in the context (a `pairs` entry's index)."""
    listed = lookup(KEY_PAIRS)
    given_single = _given_single(lookup)
    if listed is not None:
        if given_single:
            problems.append(
                f"{KEY_PAIRS}: give either a '{KEY_PAIRS}' list or one pair through "
                f"{', '.join(given_single)}, not both"
            )
            return {}
        return _read_pair_list(listed, problems)
    if not given_single:
        if not discover_tags:  # a stack of tagged pairs only is complete without any
            problems.append(HOW_TO_CONFIGURE)
        return {}
    pair = _build_pair(
        _PairKeys.of_single_pair(),
        name=_optional(lookup, KEY_PAIR_NAME, problems) or DEFAULT_PAIR_NAME,
        primary=lookup(KEY_PRIMARY),
        standby=lookup(KEY_STANDBY),
        interfaces=lookup(KEY_INTERFACE),
        addresses={key: lookup(key) for key in ADDRESS_KEYS},
        probe=lookup(KEY_PROBE),
        trigger_alarms=lookup(KEY_TRIGGER_ALARMS),
        policy={key: lookup(key) for key in POLICY_KEYS if lookup(key) is not None},
        policy_prefix="",
        problems=problems,
    )
    return {} if pair is None else {0: pair}


def _read_pair_list(listed: object, problems: list[str]) -> dict[int, Pair]:
    if isinstance(listed, str):
        try:
            listed = json.loads(listed)
        except json.JSONDecodeError as error:
            problems.append(f"{KEY_PAIRS}: not a JSON list ({error.msg})")
            return {}
    if not isinstance(listed, list) or not listed:
        problems.append(
            f"{KEY_PAIRS}: expected a non-empty list of "
            f"{{{', '.join(repr(k) for k in PAIR_ENTRY_KEYS)}}} objects"
        )
        return {}
    pairs: dict[int, Pair] = {}
    for index, entry in enumerate(listed):
        where = f"{KEY_PAIRS}[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: expected an object with keys {', '.join(PAIR_ENTRY_KEYS)}")
            continue
        unknown = sorted(str(key) for key in entry if key not in PAIR_ENTRY_KEYS)
        if unknown:
            problems.append(
                f"{where}: unknown key(s) {', '.join(unknown)}; "
                f"expected {', '.join(PAIR_ENTRY_KEYS)}"
            )
            continue
        pair = _build_pair(
            _PairKeys.of_entry(index),
            name=entry.get(PAIR_ENTRY_NAME),
            primary=entry.get(PAIR_ENTRY_PRIMARY),
            standby=entry.get(PAIR_ENTRY_STANDBY),
            interfaces=entry.get(PAIR_ENTRY_INTERFACES),
            addresses={key: entry.get(key) for key in ADDRESS_KEYS},
            probe=entry.get(PAIR_ENTRY_PROBE),
            trigger_alarms=entry.get(PAIR_ENTRY_TRIGGER_ALARMS),
            policy={key: entry[key] for key in POLICY_KEYS if entry.get(key) is not None},
            policy_prefix=f"{where}.",
            problems=problems,
        )
        if pair is not None:
            pairs[index] = pair
    return pairs


def _build_pair(
    keys: _PairKeys,
    *,
    name: object,
    primary: object,
    standby: object,
    interfaces: object,
    addresses: Mapping[str, object] | None = None,
    probe: object = None,
    trigger_alarms: object = None,
    policy: Mapping[str, object] | None = None,
    policy_prefix: str = "",
    problems: list[str],
) -> Pair | None:
    before = len(problems)
    pair_name = _validate(PairName, name, keys.name, EXPECT_PAIR_NAME, problems)
    primary_id = _validate(InstanceId, primary, keys.primary, EXPECT_INSTANCE, problems)
    standby_id = _validate(InstanceId, standby, keys.standby, EXPECT_INSTANCE, problems)
    if primary_id is not None and primary_id == standby_id:
        problems.append(
            f"{keys.primary} and {keys.standby}: both are {primary_id}; the standby must be "
            "a different instance from the primary"
        )
    listed = _read_addresses(keys, interfaces, addresses or {}, problems)
    probe_text = _read_probe(probe, keys.probe, problems)
    alarm_names = _read_alarm_names(trigger_alarms, keys.trigger_alarms, problems)
    after_failover = _read_policy(policy or {}, policy_prefix, problems)
    if len(problems) > before or pair_name is None or primary_id is None or standby_id is None:
        return None
    try:
        return Pair.model_validate(
            {
                "name": pair_name,
                "primary_instance_id": primary_id,
                "standby_instance_id": standby_id,
                **listed,
                "probe": probe_text,
                "trigger_alarms": alarm_names,
                **after_failover,
            },
            context=_SYNTH,
        )
    except ValidationError as error:  # a rule of the model this module does not pre-check
        problems.extend(f"{keys.name} {pair_name!r}: {_message(e)}" for e in error.errors())
        return None


# The lighter kinds' keys: the Pair field each sets, the type of one value, and its form.
_ADDRESS_FIELDS: dict[str, tuple[str, Any, str]] = {
    KEY_ROUTE_TABLES: ("route_table_ids", RouteTableId, EXPECT_ROUTE_TABLE),
    KEY_ROUTE_CIDRS: ("route_cidrs", RouteCidr, EXPECT_CIDR),
    KEY_ELASTIC_IPS: ("eip_allocation_ids", AllocationId, EXPECT_ALLOCATION),
    KEY_PRIVATE_IPS: ("private_ips", PrivateIp, EXPECT_PRIVATE_IP),
}


def _read_addresses(
    keys: _PairKeys, interfaces: object, addresses: Mapping[str, object], problems: list[str]
) -> dict[str, tuple[str, ...]]:
    """The pair's addresses of every kind, as Pair fields. Each kind is optional, but a pair
    moves at least one address, and a route is a table and a destination, so both."""
    where = {
        KEY_ROUTE_TABLES: keys.route_tables,
        KEY_ROUTE_CIDRS: keys.route_cidrs,
        KEY_ELASTIC_IPS: keys.elastic_ips,
        KEY_PRIVATE_IPS: keys.private_ips,
    }
    listed: dict[str, tuple[str, ...]] = {}
    if interfaces is not None:
        listed["interface_ids"] = _read_ids(
            interfaces, keys.interfaces, InterfaceId, EXPECT_INTERFACE, problems
        )
    for key, (field, kind, expected) in _ADDRESS_FIELDS.items():
        if addresses.get(key) is not None:
            listed[field] = _read_ids(addresses[key], where[key], kind, expected, problems)
    tables, cidrs = addresses.get(KEY_ROUTE_TABLES), addresses.get(KEY_ROUTE_CIDRS)
    if (tables is None) != (cidrs is None):
        missing, given, expected = (
            (keys.route_cidrs, keys.route_tables, EXPECT_CIDR)
            if cidrs is None
            else (keys.route_tables, keys.route_cidrs, EXPECT_ROUTE_TABLE)
        )
        problems.append(
            f"{missing}: missing; {given} is given, and a route is a route table and a "
            "destination (in every listed table, the route to every listed destination "
            f"follows the failover): expected {expected}, comma-separated for several"
        )
    if interfaces is None and all(addresses.get(key) is None for key in ADDRESS_KEYS):
        problems.append(
            f"{keys.interfaces}: missing, and the pair lists no other address, so it would "
            f"move nothing; list at least one: {keys.interfaces} ({EXPECT_INTERFACE}), "
            f"{keys.route_tables} ({EXPECT_ROUTE_TABLE}) with {keys.route_cidrs} "
            f"({EXPECT_CIDR}), {keys.elastic_ips} ({EXPECT_ALLOCATION}) or "
            f"{keys.private_ips} ({EXPECT_PRIVATE_IP})"
        )
    return listed


def _read_ids(
    raw: object, key: str, kind: Any, expected: str, problems: list[str]
) -> tuple[str, ...]:
    """Comma-separated or a list, each value of ``kind`` (as EC2 writes it: a CIDR
    normalized), each once."""
    values: list[str] = []
    for text in _split(raw, key, expected, problems):
        try:
            values.append(TypeAdapter(kind).validate_python(text, context=_SYNTH))
        except ValidationError as error:
            # The model's reason when it states the form (a CIDR with host bits says so).
            reason = _message(error.errors()[0])
            problems.append(
                f"{key}: {reason}" if expected in reason else f"{key}: {text!r} is not {expected}"
            )
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        problems.append(f"{key}: {', '.join(repeated)} listed more than once")
    return tuple(dict.fromkeys(values))


# The policy keys: the Pair field each sets, the values it takes, the form it is stated in.
_POLICY_FIELDS: dict[str, tuple[str, Any, str]] = {
    KEY_FAILBACK: ("failback", FailbackPolicy, EXPECT_FAILBACK),
    KEY_FAILBACK_AFTER: (
        "failback_after_seconds",
        Annotated[int, Field(ge=60, le=86400)],
        EXPECT_FAILBACK_AFTER,
    ),
    KEY_MAX_AUTOMATIC_MOVES: (
        "max_automatic_moves",
        Annotated[int, Field(ge=1, le=60)],
        EXPECT_MAX_AUTOMATIC_MOVES,
    ),
    KEY_FENCE: ("fence", FenceMode, EXPECT_FENCE),
}


def _read_policy(given: Mapping[str, object], prefix: str, problems: list[str]) -> dict[str, Any]:
    """failback, failbackAfterSeconds, maxAutomaticMoves and fence, as Pair fields."""
    fields: dict[str, Any] = {}
    for key, raw in given.items():
        field, kind, expected = _POLICY_FIELDS[key]
        value = raw.strip().lower() if isinstance(raw, str) else raw
        if isinstance(value, bool) or not isinstance(value, str | int):
            problems.append(f"{prefix}{key}: {raw!r} is not {expected}")
            continue
        try:
            fields[field] = TypeAdapter(kind).validate_python(value)
        except ValidationError:
            problems.append(f"{prefix}{key}: {raw!r} is not {expected}")
    if "failback_after_seconds" in fields and fields.get("failback") is not FailbackPolicy.AUTO:
        problems.append(
            f"{prefix}{KEY_FAILBACK_AFTER}: given, but {prefix}{KEY_FAILBACK} is not 'auto'; "
            "the hold-down applies only to automatic failback"
        )
    return fields


def _check_isolation(
    pairs: Mapping[int, Pair], placement: _Placement, *, single: bool, problems: list[str]
) -> list[str]:
    """fence=isolate needs the VPC where the stack creates the empty quarantine group."""
    isolating = [
        KEY_FENCE if single else f"{KEY_PAIRS}[{index}].{KEY_FENCE}"
        for index, pair in pairs.items()
        if pair.fence is FenceMode.ISOLATE
    ]
    if isolating and KEY_VPC not in placement.given:
        problems.append(
            f"{KEY_VPC}: missing; {', '.join(isolating)} is 'isolate', which puts an empty "
            "quarantine security group on the failed primary, and the stack creates that group "
            f"in the pairs' VPC: -c {KEY_VPC}=vpc-... ({EXPECT_VPC})"
        )
    return isolating


def _check_private_ips(
    pairs: Mapping[int, Pair], placement: _Placement, *, single: bool, problems: list[str]
) -> list[str]:
    """privateIps move between the instances' primary interfaces, whose IDs are known only at
    run time: the function may assign private IPs only to interfaces of the pairs' VPC."""
    assigning = [
        KEY_PRIVATE_IPS if single else f"{KEY_PAIRS}[{index}].{KEY_PRIVATE_IPS}"
        for index, pair in pairs.items()
        if pair.private_ips
    ]
    if assigning and KEY_VPC not in placement.given:
        problems.append(
            f"{KEY_VPC}: missing; {', '.join(assigning)} moves secondary private IPs between "
            "the instances' primary interfaces, which are known only at run time, so the "
            "function may assign private IPs only to interfaces in the pairs' VPC: "
            f"-c {KEY_VPC}=vpc-... ({EXPECT_VPC})"
        )
    return assigning


def _check_isolated_failback(
    pairs: Mapping[int, Pair], *, single: bool, problems: list[str]
) -> None:
    """fence=isolate, a probe of the instances' own addresses and failback=auto never fail
    back: the quarantined primary cannot answer the prober, and failback waits for it to."""
    for index, pair in pairs.items():
        spec = pair.probe_spec
        if not (
            pair.fence is FenceMode.ISOLATE
            and pair.failback is FailbackPolicy.AUTO
            and spec is not None
            and not spec.through_pair
        ):
            continue
        prefix = "" if single else f"{KEY_PAIRS}[{index}]."
        problems.append(
            f"{prefix}{KEY_FENCE}: 'isolate' with {prefix}{KEY_FAILBACK} 'auto' and "
            f"{prefix}{KEY_PROBE} {pair.probe!r} would never fail back: the quarantined "
            "primary cannot answer the prober, and automatic failback waits until it does. "
            f"Choose one: {prefix}{KEY_FENCE}=stop (the restarted primary answers again), "
            f"{prefix}{KEY_FAILBACK}=manual (an operator fails back, which restores the "
            "groups first), or a probe of a host beyond the pair"
        )


def _check_names(
    stack_name: str, pairs: Mapping[int, Pair], *, single: bool, problems: list[str]
) -> None:
    """Cross-pair rules, reported against the keys that set them: a name is one pair's, and
    an address of any kind follows one pair only."""
    seen_names: dict[str, int] = {}
    owner: dict[str, str] = {}
    for index, pair in pairs.items():
        keys = _PairKeys.of(index, single=single)
        if pair.name in seen_names:
            problems.append(
                f"{keys.name}: {pair.name!r} is already the name of {KEY_PAIRS}"
                f"[{seen_names[pair.name]}]; pair names must be unique"
            )
            continue
        seen_names[pair.name] = index
        # (the address as Pair.addresses names it, the key that listed it, what to say)
        claims = [
            (i, keys.interfaces, i, "an interface can float within one pair only")
            for i in pair.interface_ids
        ]
        claims += [
            (
                f"route {table} {cidr}",
                f"{keys.route_tables} / {keys.route_cidrs}",
                f"the route to {cidr} in {table}",
                "a route can follow one pair only",
            )
            for table, cidr in pair.routes
        ]
        claims += [
            (f"elastic-ip {a}", keys.elastic_ips, a, "an Elastic IP can follow one pair only")
            for a in pair.eip_allocation_ids
        ]
        claims += [
            (f"private-ip {ip}", keys.private_ips, ip, "a private IP can follow one pair only")
            for ip in pair.private_ips
        ]
        for address, key, shown, rule in claims:
            if address in owner:
                problems.append(f"{key}: {shown} also belongs to pair {owner[address]!r}; {rule}")
            owner[address] = pair.name


# --- detection: probes, trigger alarms, where the prober runs ----------------------------


def _read_probe(raw: object, key: str, problems: list[str]) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        problems.append(f"{key}: expected {EXPECT_PROBE}; got {raw!r}")
        return None
    text = raw.strip()
    try:
        ProbeSpec.parse(text)
    except ValueError as error:  # names the form expected, or the port's range
        problems.append(f"{key}: {error}")
        return None
    return text


def _read_alarm_names(raw: object, key: str, problems: list[str]) -> tuple[str, ...]:
    """Alarm names, comma-separated or a list (the list form for a name with a comma)."""
    if raw is None:
        return ()
    names: list[str] = []
    for value in _split(raw, key, EXPECT_ALARM_NAME, problems):
        if value.startswith("arn:"):
            problems.append(
                f"{key}: {value!r} is an ARN; give the alarm's name, {EXPECT_ALARM_NAME}"
            )
            continue
        name = _validate(AlarmName, value, key, EXPECT_ALARM_NAME, problems)
        if name is not None:
            names.append(name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"{key}: {', '.join(repeated)} listed more than once")
    return tuple(dict.fromkeys(names))


# The stack-wide probing keys, the Probing field each sets and the form it takes.
_PROBING_KEYS = {
    KEY_PROBE_INTERVAL: ("interval_seconds", "a number of seconds"),
    KEY_PROBE_TIMEOUT: ("timeout_seconds", "a number of seconds"),
    KEY_PROBE_FAILURES: ("failures", "a whole number of consecutive failed probes"),
    KEY_PROBE_CONFIRM: (
        "confirm_seconds",
        "a number of seconds between a failed probe's start and the next one's",
    ),
}


def _read_probing(lookup: ContextLookup, problems: list[str]) -> Probing:
    verify_tls = _read_flag(lookup, KEY_PROBE_VERIFY_TLS, problems)
    given: dict[str, object] = {} if verify_tls is None else {"verify_tls": verify_tls}
    before = len(problems)
    for key, (field, expected) in _PROBING_KEYS.items():
        raw = lookup(key)
        if raw is None:
            continue
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            problems.append(f"{key}: {raw!r} is not {expected}")
            continue
        given[field] = raw.strip() if isinstance(raw, str) else raw
    if len(problems) > before:  # the model's cross-check would compare against a default
        return Probing()
    try:
        return Probing.model_validate(given)
    except ValidationError as error:
        by_field = {field: (key, expected) for key, (field, expected) in _PROBING_KEYS.items()}
        for problem in error.errors():
            if not problem["loc"]:  # the model's own rules: settings that must fit together
                conflict = problem.get("ctx", {}).get("error")
                fields = conflict.fields if isinstance(conflict, ProbingConflict) else ()
                keys = " / ".join(by_field[f][0] for f in fields if f in by_field)
                problems.append(f"{keys or 'probing'}: {_message(problem)}")
                continue
            key, expected = by_field[str(problem["loc"][0])]
            problems.append(f"{key}: {problem['input']!r} is not {expected} ({_message(problem)})")
        return Probing()


def _read_flag(lookup: ContextLookup, key: str, problems: list[str]) -> bool | None:
    """true/false as JSON gives it, or as text from the command line."""
    raw = lookup(key)
    if raw is None or isinstance(raw, bool):
        return raw
    text = raw.strip().lower() if isinstance(raw, str) else None
    if text in ("true", "false"):
        return text == "true"
    problems.append(f"{key}: {raw!r} is not {EXPECT_FLAG}")
    return None


def _read_probe_ports(lookup: ContextLookup, problems: list[str]) -> tuple[int, ...]:
    """probePorts: comma-separated on the command line, a list in cdk.json; sorted, once each."""
    raw = lookup(KEY_PROBE_PORTS)
    if raw is None:
        return ()
    if isinstance(raw, str):
        values: list[object] = [part.strip() for part in raw.split(",") if part.strip()]
    elif isinstance(raw, list):
        values = list(raw)
    else:
        values = [raw]
    if not values:
        problems.append(f"{KEY_PROBE_PORTS}: empty; expected {EXPECT_PROBE_PORTS}")
        return ()
    ports = []
    for value in values:
        text = value.strip() if isinstance(value, str) else value
        port = None
        if isinstance(text, int) and not isinstance(text, bool):
            port = text
        elif isinstance(text, str) and text.isdecimal():
            port = int(text)
        if port is None or not 1 <= port <= 65535:
            problems.append(f"{KEY_PROBE_PORTS}: {value!r} is not {EXPECT_PROBE_PORTS}")
            continue
        ports.append(port)
    return tuple(sorted(set(ports)))


@dataclass(frozen=True)
class _Placement:
    """The prober's placement keys as given, each validated on its own."""

    vpc_id: str | None
    subnet_ids: tuple[str, ...]
    endpoints: bool
    given: tuple[str, ...]  # the keys the operator set, to name them
    quorum: bool | None = None  # probeQuorum as given; None: the default


def _read_placement(lookup: ContextLookup, problems: list[str]) -> _Placement:
    vpc_id = None
    if lookup(KEY_VPC) is not None:
        vpc_id = _validate(VpcId, lookup(KEY_VPC), KEY_VPC, EXPECT_VPC, problems)
    subnet_ids: list[str] = []
    if lookup(KEY_PROBE_SUBNETS) is not None:
        for value in _split(lookup(KEY_PROBE_SUBNETS), KEY_PROBE_SUBNETS, EXPECT_SUBNET, problems):
            subnet_id = _validate(SubnetId, value, KEY_PROBE_SUBNETS, EXPECT_SUBNET, problems)
            if subnet_id is not None:
                subnet_ids.append(subnet_id)
        repeated = sorted({i for i in subnet_ids if subnet_ids.count(i) > 1})
        if repeated:
            problems.append(f"{KEY_PROBE_SUBNETS}: {', '.join(repeated)} listed more than once")
    endpoints = _read_flag(lookup, KEY_PROBE_ENDPOINTS, problems)
    quorum = _read_flag(lookup, KEY_PROBE_QUORUM, problems)
    given = (
        tuple(
            key
            for key, value in (
                (KEY_VPC, lookup(KEY_VPC)),
                (KEY_PROBE_SUBNETS, lookup(KEY_PROBE_SUBNETS)),
            )
            if value is not None
        )
        + ((KEY_PROBE_ENDPOINTS,) if endpoints else ())
        + ((KEY_PROBE_QUORUM,) if quorum else ())
    )
    return _Placement(vpc_id, tuple(dict.fromkeys(subnet_ids)), bool(endpoints), given, quorum)


def _check_detection(
    pairs: Mapping[int, Pair],
    placement: _Placement,
    *,
    single: bool,
    all_pairs_valid: bool = True,
    problems: list[str],
    vpc_needed: bool = False,
    discover_tags: bool = False,
    probe_ports: tuple[int, ...] = (),
    probe_ports_given: bool = False,
) -> ProberPlacement | None:
    """A probe needs somewhere to run, and a place to run needs a probe (a configured one,
    or with discovery=tags, probePorts for tagged ones); an alarm triggers one pair only."""
    owner: dict[str, str] = {}
    for index, pair in pairs.items():
        key = KEY_TRIGGER_ALARMS if single else f"{KEY_PAIRS}[{index}].{PAIR_ENTRY_TRIGGER_ALARMS}"
        for name in pair.trigger_alarms:
            if name in owner:
                problems.append(
                    f"{key}: alarm {name!r} is also a trigger of pair {owner[name]!r}; an alarm "
                    "can trigger one pair only"
                )
            owner.setdefault(name, pair.name)
    probed = [
        KEY_PROBE if single else f"{KEY_PAIRS}[{index}].{PAIR_ENTRY_PROBE}"
        for index, pair in pairs.items()
        if pair.probe
    ]
    if probe_ports and not discover_tags:
        problems.append(
            f"{KEY_PROBE_PORTS}: given, but {KEY_DISCOVERY} is not '{DISCOVERY_TAGS}'; it opens "
            f"the prober to probes declared by the {PROBE_TAG} tag (a configured {KEY_PROBE} "
            f"opens its own port): add -c {KEY_DISCOVERY}={DISCOVERY_TAGS}, or leave it out"
        )
        probe_ports = ()
    # What the prober is for: configured probes, and (discovery=tags) probePorts for tagged
    # ones, so the prober runs even where no configured pair has a probe.
    reasons = [f"{', '.join(probed)} sets a probe"] if probed else []
    if probe_ports:
        reasons.append(f"{KEY_PROBE_PORTS} asks for probes declared by tags")
    if not reasons:
        # An invalid pair may be the probed one, and invalid probePorts what the placement
        # is for: their own problems are reported already.
        # vpcId alone is fine where a pair isolates: the quarantine group lives there.
        extra = [k for k in placement.given if not (vpc_needed and k == KEY_VPC)]
        if extra and all_pairs_valid and not probe_ports_given:
            tagged = (
                f", or {KEY_PROBE_PORTS} to probe pairs declared by tags" if discover_tags else ""
            )
            problems.append(
                f"{', '.join(extra)}: given, but no pair has a {KEY_PROBE}, so the "
                f"prober would have nothing to run; add {KEY_PROBE} (to a '{KEY_PAIRS}' entry, "
                f"or beside the single pair){tagged}, or leave them out"
            )
        return None
    missing = [key for key in (KEY_VPC, KEY_PROBE_SUBNETS) if key not in placement.given]
    if missing:
        problems.append(
            f"{', '.join(missing)}: missing; {' and '.join(reasons)}, and the prober "
            f"needs the VPC and subnets to run in, where it reaches the pairs' addresses: "
            f"-c {KEY_VPC}=vpc-... ({EXPECT_VPC}) -c {KEY_PROBE_SUBNETS}=subnet-...,subnet-... "
            f"({EXPECT_SUBNET}, comma-separated)"
        )
        return None
    if placement.vpc_id is None or not placement.subnet_ids:
        return None  # already reported against its key
    # Zones are not known at synth without credentials: two subnets are taken to be two
    # zones (one vantage each), and `eni-failover check` says when they are not.
    subnets = len(placement.subnet_ids)
    if placement.quorum and subnets < 2:
        problems.append(
            f"{KEY_PROBE_QUORUM}: true, but {KEY_PROBE_SUBNETS} lists {subnets} subnet; the "
            "quorum probes from one subnet per vantage and counts a failure only when both "
            f"see it: list two subnets in different zones (-c {KEY_PROBE_SUBNETS}="
            f"subnet-...,subnet-...), or set -c {KEY_PROBE_QUORUM}=false"
        )
        return None
    return ProberPlacement(
        vpc_id=placement.vpc_id,
        subnet_ids=placement.subnet_ids,
        endpoints=placement.endpoints,
        quorum=placement.quorum if placement.quorum is not None else subnets >= 2,
    )


# --- notification addresses and numbers --------------------------------------------------


def _read_emails(lookup: ContextLookup, problems: list[str]) -> tuple[str, ...]:
    raw = lookup(KEY_NOTIFY_EMAIL)
    if raw is None:
        problems.append(
            f"{KEY_NOTIFY_EMAIL}: missing; expected {EXPECT_EMAIL} (several may be "
            f"comma-separated) to receive failover outcomes: -c {KEY_NOTIFY_EMAIL}=ops@example.com"
        )
        return ()
    emails: list[str] = []
    for value in _split(raw, KEY_NOTIFY_EMAIL, EXPECT_EMAIL, problems):
        email = _validate(Email, value, KEY_NOTIFY_EMAIL, EXPECT_EMAIL, problems)
        if email is not None and email not in emails:
            emails.append(email)
    return tuple(emails)


def _read_reserved_concurrency(
    lookup: ContextLookup, pair_count: int, problems: list[str]
) -> int | None:
    raw = lookup(KEY_RESERVED_CONCURRENCY)
    if raw is None:
        return default_reserved_concurrency(pair_count)
    if isinstance(raw, str) and raw.strip().lower() in NO_RESERVATION:
        return None
    minimum = minimum_reserved_concurrency(pair_count)
    expected = (
        f"a whole number of executions of at least {minimum} (one per pair, {pair_count} "
        "here, plus one each for the readiness check and the sweep; the default, "
        f"{default_reserved_concurrency(pair_count)}, also lets both triggers of a failure run "
        "at once and leaves headroom), or 0 or 'none' to reserve nothing. The account must "
        f"keep {ACCOUNT_UNRESERVED_MINIMUM} executions unreserved or the deploy fails"
    )
    value = _read_number(
        lookup,
        KEY_RESERVED_CONCURRENCY,
        kind=Annotated[int, Field(ge=0)],
        default=0,
        expected=expected,
        problems=problems,
    )
    if 0 < value < minimum:
        problems.append(f"{KEY_RESERVED_CONCURRENCY}: {raw!r} is not {expected}")
    return value or None


def _read_schedule(
    lookup: ContextLookup, problems: list[str], *, default: str = DEFAULT_READINESS_SCHEDULE
) -> str:
    raw = lookup(KEY_READINESS_SCHEDULE)
    if raw is None:
        return default
    if not isinstance(raw, str):
        problems.append(f"{KEY_READINESS_SCHEDULE}: {raw!r} is not {EXPECT_SCHEDULE}")
        return default
    schedule = " ".join(raw.split())
    rate = RATE_PATTERN.fullmatch(schedule)
    if rate is not None:
        value, unit = int(rate.group(1)), rate.group(2)
        if value == 0 or (value == 1) != (not unit.endswith("s")):
            problems.append(
                f"{KEY_READINESS_SCHEDULE}: {raw!r} is not {EXPECT_SCHEDULE}; EventBridge "
                "wants a value of at least 1, with a singular unit for 1 ('rate(1 day)') "
                "and a plural one otherwise ('rate(2 days)')"
            )
        return schedule
    if CRON_PATTERN.fullmatch(schedule) is None:
        problems.append(f"{KEY_READINESS_SCHEDULE}: {raw!r} is not {EXPECT_SCHEDULE}")
    return schedule


def _read_number(
    lookup: ContextLookup,
    key: str,
    *,
    kind: Any,
    default: _T,
    expected: str,
    problems: list[str],
) -> _T:
    raw = lookup(key)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        problems.append(f"{key}: {raw!r} is not {expected}")
        return default
    try:
        value: _T = TypeAdapter(kind).validate_python(raw.strip() if isinstance(raw, str) else raw)
    except ValidationError:
        problems.append(f"{key}: {raw!r} is not {expected}")
        return default
    return value


def _read_tuning(lookup: ContextLookup, problems: list[str]) -> Tuning:
    given = {
        field: lookup(key)
        for key, field in (
            (KEY_SWAP_DEADLINE, "swap_deadline_seconds"),
            (KEY_MAX_TRIGGER_AGE, "max_trigger_age_seconds"),
        )
        if lookup(key) is not None
    }
    keys = {
        "swap_deadline_seconds": KEY_SWAP_DEADLINE,
        "max_trigger_age_seconds": KEY_MAX_TRIGGER_AGE,
    }
    for field, value in given.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            problems.append(f"{keys[field]}: {value!r} is not a number of seconds")
            return Tuning()
    try:
        return Tuning.model_validate(given)
    except ValidationError as error:
        for problem in error.errors():
            key = keys.get(str(problem["loc"][0]), str(problem["loc"][0])) if problem["loc"] else ""
            problems.append(
                f"{key}: {problem['input']!r} is not a number of seconds ({_message(problem)})"
            )
        return Tuning()


# --- helpers -----------------------------------------------------------------------------


def _optional(lookup: ContextLookup, key: str, problems: list[str]) -> str | None:
    raw = lookup(key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        problems.append(f"{key}: expected text, got {raw!r}")
        return None
    return raw.strip() or None


def _split(raw: object, key: str, expected: str, problems: list[str]) -> list[str]:
    """A list, or a comma-separated string (the command line's form); never empty."""
    if raw is None:
        problems.append(f"{key}: missing; expected {expected}")
        return []
    if isinstance(raw, str):
        values = [part.strip() for part in raw.split(",") if part.strip()]
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        values = [item.strip() for item in raw]
    else:
        problems.append(f"{key}: expected {expected}, or a list of them; got {raw!r}")
        return []
    if not values:
        problems.append(f"{key}: empty; expected {expected}")
    return values


def _validate(kind: Any, raw: object, key: str, expected: str, problems: list[str]) -> str | None:
    if raw is None:
        problems.append(f"{key}: missing; expected {expected}")
        return None
    if not isinstance(raw, str):
        problems.append(f"{key}: expected text, {expected}; got {raw!r}")
        return None
    try:
        value: str = TypeAdapter(kind).validate_python(raw.strip(), context=_SYNTH)
    except ValidationError:
        problems.append(f"{key}: {raw.strip()!r} is not {expected}")
        return None
    return value


def _message(problem: Mapping[str, Any]) -> str:
    return str(problem["msg"]).removeprefix("Value error, ")
