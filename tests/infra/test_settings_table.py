"""One reader for every key (issue 21): lists read the same from the command line and from
cdk.json, keys that need a probe are refused alike without one, `pairs` may be empty with
discovery by tags, and every mistake of every pair comes in one report, in our words."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest

from eni_failover_cdk.context_keys import ListOf
from eni_failover_cdk.settings import (
    KEYS,
    KNOWN_KEYS,
    DeploymentSettings,
    SettingsError,
    read_settings,
)
from tests.infra.conftest import PRIMARY, ROOT, STANDBY

VPC = "vpc-0123456789abcdef0"
SUBNET = "subnet-0123456789abcdef0"
SECOND_SUBNET = "subnet-0fedcba9"
TABLE = "rtb-0123456789abcdef0"
OTHER_TABLE = "rtb-0fedcba9876543210"
ALLOCATION = "eipalloc-0123456789abcdef0"
OTHER_ALLOCATION = "eipalloc-0fedcba9876543210"
INTERFACE = "eni-0123456789abcdef0"
OTHER_INTERFACE = "eni-0aaaaaaaaaaaaaaa1"
EMAIL = "ops@example.com"

# A pair moving one interface, no other key: each list key's case adds what it needs.
BASE: dict[str, Any] = {
    "primaryInstanceId": PRIMARY,
    "standbyInstanceId": STANDBY,
    "eniId": INTERFACE,
    "notifyEmail": EMAIL,
}
PROBED = {"probe": "tcp:443", "vpcId": VPC, "probeSubnetIds": SUBNET}


def cli_context(**values: Any) -> dict[str, Any]:
    """What the CDK CLI hands the app for `-c key=value`: every value a string."""
    return {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()
    }


def read_through_cdk(context: dict[str, Any]) -> DeploymentSettings:
    """Read the settings the way app.py does, from a CDK app holding ``context``."""
    app = cdk.App(context=context)
    return read_settings(app.node.try_get_context, keys=app.node.get_all_context())


def problems_of(context: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(SettingsError) as raised:
        read_settings(context)
    return raised.value.problems


# --- every list key, every form --------------------------------------------------------------


def _pair(settings: DeploymentSettings) -> Any:
    (pair,) = settings.failover.pairs
    return pair


# key: (the rest of the context it needs, the values (one with a comma where the key's
# values may hold one), what the settings make of them)
LIST_KEYS: dict[str, tuple[dict[str, Any], list[Any], Callable[[DeploymentSettings], Any]]] = {
    "eniId": ({}, [INTERFACE, OTHER_INTERFACE], lambda s: _pair(s).interface_ids),
    "routeTableIds": (
        {"routeCidrs": "0.0.0.0/0"},
        [TABLE, OTHER_TABLE],
        lambda s: _pair(s).route_table_ids,
    ),
    "routeCidrs": (
        {"routeTableIds": TABLE},
        ["0.0.0.0/0", "::/0"],
        lambda s: _pair(s).route_cidrs,
    ),
    "eipAllocationIds": ({}, [ALLOCATION, OTHER_ALLOCATION], lambda s: _pair(s).eip_allocation_ids),
    "privateIps": ({"vpcId": VPC}, ["10.0.1.50", "10.0.1.51"], lambda s: _pair(s).private_ips),
    "triggerAlarms": ({}, ["web,unhealthy", "web-5xx"], lambda s: _pair(s).trigger_alarms),
    "notifyEmail": ({}, [EMAIL, "oncall@example.com"], lambda s: s.notify_emails),
    "probeSubnetIds": (
        {"probe": "tcp:443", "vpcId": VPC},
        [SUBNET, SECOND_SUBNET],
        lambda s: s.prober.subnet_ids if s.prober else None,
    ),
    "probePorts": (
        {"discovery": "tags", "vpcId": VPC, "probeSubnetIds": SUBNET},
        [80, 8443],
        lambda s: s.failover.probing.tag_ports,
    ),
}


def test_every_list_key_of_the_table_is_tested_here() -> None:
    # A list key added later is read by the same reader; this keeps it under these tests too.
    listed = {spec.name for spec in KEYS if isinstance(spec.kind, ListOf)}
    assert listed == set(LIST_KEYS)


@pytest.mark.parametrize("key", sorted(LIST_KEYS))
def test_a_json_list_reads_the_same_from_the_command_line_and_from_cdk_json(key: str) -> None:
    # Given the key's values as cdk.json holds them (a real list) and as the CDK CLI hands
    # over -c 'key=["a","b"]' (a string)
    needs, values, made = LIST_KEYS[key]
    from_json = {**BASE, **needs, key: values}
    from_cli = cli_context(**{**BASE, **needs, key: values})
    assert isinstance(from_cli[key], str)
    # When the app reads its context
    # Then both give the same values, in their order, each one whole
    expected = tuple(str(v) if key != "probePorts" else v for v in values)
    assert made(read_through_cdk(from_json)) == expected
    assert made(read_through_cdk(from_cli)) == expected


@pytest.mark.parametrize("key", sorted(LIST_KEYS))
def test_comma_separated_text_reads_as_before(key: str) -> None:
    needs, values, made = LIST_KEYS[key]
    if any("," in str(v) for v in values):
        values = [v for v in values if "," not in str(v)]
    context = cli_context(**{**BASE, **needs, key: ", ".join(str(v) for v in values)})
    expected = tuple(str(v) if key != "probePorts" else v for v in values)
    assert made(read_through_cdk(context)) == expected


def test_the_issues_alarm_names_with_a_comma_from_the_command_line() -> None:
    # Given -c 'triggerAlarms=["a,b","c"]' (which read as '["a', 'b"' and '"c"]' before)
    settings = read_through_cdk({**BASE, "triggerAlarms": '["a,b","c"]'})
    # Then the pair is triggered by the two alarms named
    assert _pair(settings).trigger_alarms == ("a,b", "c")


def test_a_broken_json_list_names_the_key_and_the_forms() -> None:
    (problem,) = problems_of({**BASE, "triggerAlarms": '["a,b", "c"'})
    assert problem.startswith("triggerAlarms: "), problem
    assert "is not a JSON list" in problem, problem
    (problem,) = problems_of({**BASE, "eniId": f'["{INTERFACE}",]'})
    assert problem.startswith("eniId: "), problem
    assert "is not a JSON list" in problem, problem
    assert "comma-separated or a JSON list" in problem


def test_a_json_list_of_bad_values_names_each_value() -> None:
    problems = problems_of({**BASE, "eniId": '["eni-1", "eni-2"]'})
    assert problems == (
        "eniId: 'eni-1' is not an interface ID: 'eni-' then 8 or 17 hex digits",
        "eniId: 'eni-2' is not an interface ID: 'eni-' then 8 or 17 hex digits",
    )


def test_a_pairs_list_reads_the_same_from_the_command_line_and_from_cdk_json() -> None:
    entry = {
        "name": "web",
        "primaryInstanceId": PRIMARY,
        "standbyInstanceId": STANDBY,
        "eniIds": [INTERFACE],
    }
    from_json = read_through_cdk({"pairs": [entry], "notifyEmail": EMAIL})
    from_cli = read_through_cdk(cli_context(pairs=[entry], notifyEmail=EMAIL))
    assert from_json == from_cli
    assert [p.name for p in from_cli.failover.pairs] == ["web"]


def test_a_pairs_entry_reads_its_lists_the_same_way() -> None:
    # Given a pairs entry whose lists are comma-separated text, and one a JSON list in text
    entry = {
        "name": "web",
        "primaryInstanceId": PRIMARY,
        "standbyInstanceId": STANDBY,
        "eniIds": f"{INTERFACE},{OTHER_INTERFACE}",
        "triggerAlarms": '["web,unhealthy", "web-5xx"]',
    }
    settings = read_settings({"pairs": [entry], "notifyEmail": EMAIL})
    pair = _pair(settings)
    assert pair.interface_ids == (INTERFACE, OTHER_INTERFACE)
    assert pair.trigger_alarms == ("web,unhealthy", "web-5xx")


# --- keys that need a probe ------------------------------------------------------------------

PROBE_ONLY = [
    ("probeTimeoutSeconds", "0.5"),
    ("probeFailures", "3"),
    ("probeIntervalSeconds", "2"),
    ("probeVerifyTls", "true"),
    ("probeConfirmSeconds", "0.5"),
    ("probeQuorum", "true"),
    ("probeEndpoints", "true"),
    ("probeSubnetIds", SUBNET),
    ("vpcId", VPC),
]


@pytest.mark.parametrize(("key", "value"), PROBE_ONLY, ids=[k for k, _ in PROBE_ONLY])
def test_a_probe_only_key_without_any_probe_is_refused(key: str, value: str) -> None:
    # Given a pair without a probe, no tagged probes, and a key that tunes the prober
    (problem,) = problems_of({**BASE, key: value})
    # Then it is refused as every dependent key is: named, with what it needs
    assert problem.startswith(f"{key}: given, but no pair has a probe"), problem
    assert "add probe" in problem


def test_probe_only_keys_together_are_named_in_one_problem() -> None:
    (problem,) = problems_of({**BASE, "probeTimeoutSeconds": "0.5", "probeFailures": "3"})
    assert problem.startswith("probeTimeoutSeconds, probeFailures: given, but no pair has a")


@pytest.mark.parametrize(
    "detection",
    [
        PROBED,
        {"discovery": "tags", "probePorts": "8443", "vpcId": VPC, "probeSubnetIds": SUBNET},
    ],
    ids=["a configured probe", "probes declared by tags"],
)
def test_probe_only_keys_with_a_probe_are_accepted(detection: dict[str, Any]) -> None:
    tuning = {key: value for key, value in PROBE_ONLY if key not in ("probeQuorum",)}
    settings = read_settings({**BASE, **detection, **tuning})
    assert settings.prober is not None
    assert settings.failover.probing.failures == 3
    assert settings.failover.probing.verify_tls is True


def test_a_probe_in_a_pairs_entry_is_a_probe() -> None:
    entry = {
        "name": "web",
        "primaryInstanceId": PRIMARY,
        "standbyInstanceId": STANDBY,
        "eniIds": [INTERFACE],
        "probe": "tcp:443",
    }
    context = {"pairs": [entry], "notifyEmail": EMAIL, "vpcId": VPC, "probeSubnetIds": SUBNET}
    settings = read_settings({**context, "probeFailures": 3})
    assert settings.failover.probing.failures == 3


@pytest.mark.parametrize("key", ["probeVerifyTls", "probeEndpoints", "probeQuorum"])
def test_a_probe_only_flag_turned_off_asks_for_nothing(key: str) -> None:
    assert read_settings({**BASE, key: "false"}).prober is None


# --- pairs may be empty with discovery by tags ---------------------------------------------


@pytest.mark.parametrize("empty", [[], "[]"], ids=["cdk.json", "command line"])
def test_an_empty_pairs_list_with_discovery_by_tags_is_accepted(empty: object) -> None:
    # Given discovery=tags and pairs=[] (README: with it, `pairs` may be empty)
    settings = read_through_cdk({"discovery": "tags", "pairs": empty, "notifyEmail": EMAIL})
    # Then the stack protects the tagged pairs only, like one without the key
    assert settings.failover.pairs == ()
    assert settings.failover.discover_tags is True
    without = read_settings({"discovery": "tags", "notifyEmail": EMAIL})
    assert settings == without


@pytest.mark.parametrize(
    "context",
    [{"pairs": []}, {"pairs": "[]", "discovery": "none"}, {}],
    ids=["pairs=[]", "pairs=[] discovery=none", "nothing"],
)
def test_a_stack_that_protects_nothing_is_refused(context: dict[str, Any]) -> None:
    (problem,) = problems_of({**context, "notifyEmail": EMAIL})
    # Then the message says so, and the two ways to protect something
    assert "protects nothing" in problem or "no pair to protect" in problem, problem
    assert "discovery=tags" in problem, problem


# --- every mistake of every pair in one report ---------------------------------------------

RAW_WORDING = ("Input should", "Value error", "pydantic", "errors.pydantic.dev", "type=")


def test_every_mistake_of_every_pair_comes_in_one_report() -> None:
    # Given four pairs with mistakes of every sort: unknown keys, bad values, a duplicate
    # name, a shared interface and a shared alarm, and a fence that needs the VPC
    web = {
        "name": "web",
        "primaryInstanceId": "i-0aaaaaaaaaaaaaaa1",
        "standbyInstanceId": "i-0aaaaaaaaaaaaaaa2",
        "eniIds": ["eni-0aaaaaaaaaaaaaaa3"],
        "triggerAlarms": ["web-unhealthy"],
        "eniId": "eni-0aaaaaaaaaaaaaaa9",
    }
    twin = {
        "name": "web",
        "primaryInstanceId": "i-0bbbbbbbbbbbbbbb1",
        "standbyInstanceId": "i-0bbbbbbbbbbbbbbb2",
        "eniIds": ["eni-0aaaaaaaaaaaaaaa3"],
        "fence": "isolate",
        "maxAutomaticMoves": 99,
    }
    broken = {
        "name": "db",
        "primaryInstanceId": "i-123",
        "standbyInstanceId": "i-0ccccccccccccccc2",
        "eniIds": ["eni-0ccccccccccccccc3"],
        "probe": "tcp:99999",
        "failbackAfterSeconds": 600,
        "fenc": "stop",
        "vpcId": VPC,
    }
    shared = {
        "name": "cache",
        "primaryInstanceId": "i-0ddddddddddddddd1",
        "standbyInstanceId": "i-0ddddddddddddddd1",
        "privateIps": ["8.8.8.8"],
        "triggerAlarms": "web-unhealthy",
    }
    context = {"pairs": [web, twin, broken, shared], "notifyEmail": EMAIL}
    # When the settings are read once
    problems = problems_of(context)
    # Then every mistake of every pair is reported, each against the key typed
    expected = [
        "pairs[0].eniId: not a key of a pairs entry; did you mean eniIds?",
        "pairs[1].maxAutomaticMoves: 99 is not a whole number of automatic moves an hour, "
        "from 1 to 60",
        "pairs[2].fenc: not a known key of a pairs entry; did you mean fence?",
        "pairs[2].vpcId: not a key of a pairs entry: vpcId is stack-wide; set it beside "
        "'pairs', not in an entry",
        "pairs[2].primaryInstanceId: 'i-123' is not an instance ID: 'i-' then 8 or 17 hex digits",
        "pairs[2].probe: 'tcp:99999' has port 99999; a port is 1 to 65535",
        "pairs[2].failbackAfterSeconds: given, but pairs[2].failback is not 'auto'",
        "pairs[3].privateIps: '8.8.8.8' is not a private IPv4 address such as 10.0.1.50 (it "
        "is public)",
        "pairs[3].primaryInstanceId and pairs[3].standbyInstanceId: both are i-0ddddddddddddddd1",
        "pairs[1].name: 'web' is already the name of pairs[0]; pair names must be unique",
        "pairs[1].eniIds: eni-0aaaaaaaaaaaaaaa3 also belongs to pair 'web'",
        "pairs[3].triggerAlarms: alarm 'web-unhealthy' is also a trigger of pair 'web'",
        "vpcId: missing; pairs[1].fence is 'isolate'",
    ]
    for start in expected:
        assert [p for p in problems if p.startswith(start)], (start, problems)
    assert len(problems) == len(expected), problems
    # And none is in the validation library's words
    for problem in problems:
        assert not any(raw in problem for raw in RAW_WORDING), problem


def test_a_pairs_entry_with_a_key_unlike_any_lists_the_entry_keys() -> None:
    entry = {
        "name": "web",
        "primaryInstanceId": PRIMARY,
        "standbyInstanceId": STANDBY,
        "eniIds": [INTERFACE],
        "zzz": 1,
    }
    (problem,) = problems_of({"pairs": [entry], "notifyEmail": EMAIL})
    assert problem.startswith("pairs[0].zzz: not a known key of a pairs entry; expected name, ")


def test_a_mapping_is_read_with_its_keys_checked() -> None:
    # Given the context as a plain dict (a construct's config), with a typo
    problems = problems_of({**BASE, "evaluationPeriod": "5"})
    # Then the typo is named, as for the app's context
    assert problems == ("evaluationPeriod is not a known key; did you mean evaluationPeriods?",)
    assert read_settings(BASE).failover.pairs[0].interface_ids == (INTERFACE,)


def test_an_alarm_name_that_starts_with_a_bracket_is_one_name() -> None:
    # Only text in brackets, or opening with '["', is a JSON list
    settings = read_settings({**BASE, "triggerAlarms": "[prod] web-unhealthy, web-5xx"})
    assert _pair(settings).trigger_alarms == ("[prod] web-unhealthy", "web-5xx")


def test_the_readmes_configuration_table_lists_every_key_the_table_reads() -> None:
    # Given the README's configuration section
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}
    # Then each key the reader reads has its row, and no row names a key it does not read
    assert rows == set(KNOWN_KEYS)
    # And it says what the reader does with an empty pairs list
    assert "`pairs` may be empty (`pairs=[]`)" in section
    assert "an empty `pairs` protects nothing and is refused" in section
