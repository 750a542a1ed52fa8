"""Context validation of the detection keys: probes, trigger alarms and where the prober runs.

Each bad value stops synth with a message that starts with the key the operator typed and
says what form was expected, as for every other key (tests/infra/test_settings.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from eni_failover.config import Probing
from eni_failover_cdk.settings import (
    DeploymentSettings,
    ProberPlacement,
    SettingsError,
    read_settings,
)
from tests.infra.conftest import SINGLE_PAIR_CONTEXT

VPC = "vpc-0123456789abcdef0"
SUBNET = "subnet-0123456789abcdef0"
SECOND_SUBNET = "subnet-0fedcba9"
PLACEMENT = {"vpcId": VPC, "probeSubnetIds": SUBNET}
PROBED_PAIR = {**SINGLE_PAIR_CONTEXT, "probe": "tcp:443", **PLACEMENT}

WEB = {
    "name": "web",
    "primaryInstanceId": "i-0aaaaaaaaaaaaaaa1",
    "standbyInstanceId": "i-0aaaaaaaaaaaaaaa2",
    "eniIds": ["eni-0aaaaaaaaaaaaaaa3"],
}
NAT = {
    "name": "nat",
    "primaryInstanceId": "i-0bbbbbbbbbbbbbbb1",
    "standbyInstanceId": "i-0bbbbbbbbbbbbbbb2",
    "eniIds": ["eni-0bbbbbbbbbbbbbbb3"],
}


def settings_from(context: dict[str, Any]) -> DeploymentSettings:
    return read_settings(context.get)


def problems_of(context: dict[str, Any]) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        settings_from(context)
    return list(raised.value.problems)


# --- accepted forms ------------------------------------------------------------------------


def test_a_probed_single_pair_from_the_command_line() -> None:
    # Given the done-when command's keys, every value a string
    context = {**PROBED_PAIR, "triggerAlarms": "web-unhealthy, web-latency"}
    # When the settings are read
    settings = settings_from(context)
    # Then the pair carries its probe and its trigger alarms
    (pair,) = settings.failover.pairs
    assert pair.probe == "tcp:443"
    assert pair.trigger_alarms == ("web-unhealthy", "web-latency")
    # And the prober runs in the VPC and subnet given, without endpoints
    assert settings.prober == ProberPlacement(vpc_id=VPC, subnet_ids=(SUBNET,), endpoints=False)
    # And probing keeps its defaults
    assert settings.failover.probing == Probing()
    # (a probe every second with a one-second timeout, five failures in a row, confirmations
    # a quarter second apart: README, How detection works)
    assert (
        Probing().interval_seconds,
        Probing().timeout_seconds,
        Probing().failures,
        Probing().confirm_seconds,
    ) == (1, 1, 5, 0.25)


def test_no_probe_and_no_placement_means_no_prober() -> None:
    settings = settings_from({**SINGLE_PAIR_CONTEXT, "triggerAlarms": "web-unhealthy"})
    assert settings.prober is None
    assert settings.failover.probed_pairs == ()


def test_pairs_entries_carry_their_own_probe_and_alarms() -> None:
    # Given a web pair probed over HTTP and a NAT pair probed through itself, as cdk.json
    # holds them (lists, booleans and numbers as JSON types)
    context = {
        "pairs": [
            {**WEB, "probe": "http://:8080/health", "triggerAlarms": ["web-5xx", "web,unhealthy"]},
            {**NAT, "probe": "https://checkip.amazonaws.com/"},
        ],
        "notifyEmail": "ops@example.com",
        "vpcId": VPC,
        "probeSubnetIds": [SUBNET, SECOND_SUBNET],
        "probeEndpoints": True,
        "probeIntervalSeconds": 5,
        "probeTimeoutSeconds": 2.5,
        "probeFailures": 2,
        "probeConfirmSeconds": 0.5,
        "probeVerifyTls": True,
    }
    # When the settings are read
    settings = settings_from(context)
    # Then each pair has its own probe, and a name with a comma survives the list form
    web, nat = settings.failover.pairs
    assert (web.probe, web.trigger_alarms) == ("http://:8080/health", ("web-5xx", "web,unhealthy"))
    assert (nat.probe, nat.trigger_alarms) == ("https://checkip.amazonaws.com/", ())
    # And the stack-wide keys reach the prober's placement and the function's configuration
    assert settings.prober == ProberPlacement(
        vpc_id=VPC, subnet_ids=(SUBNET, SECOND_SUBNET), endpoints=True, quorum=True
    )
    assert settings.failover.probing == Probing(
        interval_seconds=5, timeout_seconds=2.5, failures=2, confirm_seconds=0.5, verify_tls=True
    )


def test_a_timeout_as_long_as_the_interval_is_accepted() -> None:
    probing = settings_from(
        {**PROBED_PAIR, "probeIntervalSeconds": "2", "probeTimeoutSeconds": "2"}
    ).failover.probing
    assert (probing.interval_seconds, probing.timeout_seconds) == (2.0, 2.0)


def test_the_confirmation_spacing_from_the_command_line() -> None:
    probing = settings_from({**PROBED_PAIR, "probeConfirmSeconds": "0.1"}).failover.probing
    assert probing.confirm_seconds == 0.1


@pytest.mark.parametrize(("given", "expected"), [("true", True), ("FALSE", False), (False, False)])
def test_flags_from_the_command_line_or_json(given: object, expected: bool) -> None:
    settings = settings_from({**PROBED_PAIR, "probeEndpoints": given, "probeVerifyTls": given})
    assert settings.prober is not None
    assert settings.prober.endpoints is expected
    assert settings.failover.probing.verify_tls is expected


# --- refused values: each names its key and the expected form ------------------------------

BAD_VALUES: list[tuple[dict[str, Any], str, str]] = [
    # Probe: bad port, bad URL
    ({"probe": "tcp:70000"}, "probe: 'tcp:70000' has port 70000", "a port is 1 to 65535"),
    ({"probe": "tcp:0"}, "probe: 'tcp:0' has port 0", "a port is 1 to 65535"),
    ({"probe": "https://:99999/health"}, "probe: 'https://:99999/health' has", "1 to 65535"),
    ({"probe": "tcp:https"}, "probe: 'tcp:https' is not a probe", "'tcp:PORT'"),
    ({"probe": "ftp://:21/"}, "probe: 'ftp://:21/' is not a probe", "'https://:PORT/PATH'"),
    ({"probe": "http:/:80/health"}, "probe: 'http:/:80/health' is not", "'http://:PORT/PATH'"),
    ({"probe": "http://:80/a path"}, "probe: 'http://:80/a path' is not", "'http://:PORT/PATH'"),
    ({"probe": ""}, "probe: expected a probe", "'tcp:PORT'"),
    ({"probe": 443}, "probe: expected a probe", "'tcp:PORT'"),
    # VPC and subnet ID forms
    ({"vpcId": "vpc-123"}, "vpcId: 'vpc-123' is not a VPC ID", "8 or 17 hex digits"),
    ({"vpcId": "subnet-0123456789abcdef0"}, "vpcId: 'subnet-0123456789abcdef0' is not", "'vpc-'"),
    ({"vpcId": "VPC-0123456789ABCDEF0"}, "vpcId: 'VPC-0123456789ABCDEF0' is not", "'vpc-'"),
    ({"probeSubnetIds": "subnet-xyz"}, "probeSubnetIds: 'subnet-xyz' is not a subnet", "'subnet-'"),
    (
        {"probeSubnetIds": f"{SUBNET},vpc-0123456789abcdef0"},
        "probeSubnetIds: 'vpc-0123456789abcdef0' is not a subnet ID",
        "8 or 17 hex digits",
    ),
    ({"probeSubnetIds": ""}, "probeSubnetIds: empty", "'subnet-'"),
    ({"probeSubnetIds": f"{SUBNET},{SUBNET}"}, f"probeSubnetIds: {SUBNET} listed more", "once"),
    ({"probeSubnetIds": {"a": SUBNET}}, "probeSubnetIds: expected a subnet ID", "list of them"),
    # Tuning
    ({"probeIntervalSeconds": "0.5"}, "probeIntervalSeconds: '0.5' is not a number", "1"),
    ({"probeIntervalSeconds": "soon"}, "probeIntervalSeconds: 'soon' is not a number", "second"),
    ({"probeTimeoutSeconds": True}, "probeTimeoutSeconds: True is not a number", "seconds"),
    ({"probeFailures": "0"}, "probeFailures: '0' is not a whole number", "consecutive failed"),
    ({"probeFailures": 2.5}, "probeFailures: 2.5 is not a whole number", "consecutive failed"),
    (
        {"probeTimeoutSeconds": "3"},
        "probeTimeoutSeconds / probeIntervalSeconds: the probe timeout (3 s) must not be longer",
        "interval (1 s)",
    ),
    # Confirmations: more than 0, and shorter than the interval
    (
        {"probeConfirmSeconds": "0"},
        "probeConfirmSeconds: '0' is not a number of seconds between a failed probe's start",
        "more than 0, at most 30",
    ),
    (
        {"probeConfirmSeconds": "soon"},
        "probeConfirmSeconds: 'soon' is not a number of seconds",
        "more than 0, at most 30",
    ),
    # The range in our words, never the validation library's ("Input should be ...")
    ({"probeFailures": "25"}, "probeFailures: '25' is not a whole number", "from 1 to 20"),
    ({"probeIntervalSeconds": 90}, "probeIntervalSeconds: 90 is not a number", "from 1 to 60"),
    (
        {"probeConfirmSeconds": True},
        "probeConfirmSeconds: True is not a number of seconds",
        "between a failed probe's start and the next one's",
    ),
    (
        {"probeConfirmSeconds": "1"},
        "probeConfirmSeconds / probeIntervalSeconds: the confirmation spacing (1 s) must be "
        "shorter than the interval (1 s)",
        "no faster than waiting for the next regular probe",
    ),
    (
        {"probeIntervalSeconds": 2, "probeConfirmSeconds": 2.5},
        "probeConfirmSeconds / probeIntervalSeconds: the confirmation spacing (2.5 s)",
        "interval (2 s)",
    ),
    ({"probeVerifyTls": "yes"}, "probeVerifyTls: 'yes' is not true or false", "true or false"),
    ({"probeEndpoints": 1}, "probeEndpoints: 1 is not true or false", "true or false"),
    # Trigger alarms
    ({"triggerAlarms": ""}, "triggerAlarms: empty", "a CloudWatch alarm name"),
    ({"triggerAlarms": "a,a"}, "triggerAlarms: a listed more than once", "once"),
    ({"triggerAlarms": ["ok", "x" * 256]}, "triggerAlarms: 'xxxx", "1 to 255 characters"),
    (
        {"triggerAlarms": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web"},
        "triggerAlarms: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:web' is an ARN",
        "give the alarm's name",
    ),
]


@pytest.mark.parametrize(
    ("change", "starts", "says"), BAD_VALUES, ids=[s for _, s, _ in BAD_VALUES]
)
def test_a_bad_detection_value_names_its_key_and_the_expected_form(
    change: dict[str, Any], starts: str, says: str
) -> None:
    # Given a probed pair with one value replaced
    # When the settings are read
    (problem,) = problems_of({**PROBED_PAIR, **change})
    # Then the one problem starts with the key and says what was expected
    assert problem.startswith(starts), problem
    assert says in problem, problem
    assert "Input should" not in problem, problem


def test_a_bad_pairs_entry_probe_names_its_position() -> None:
    context = {
        "pairs": [WEB, {**NAT, "probe": "tcp:99999"}],
        "notifyEmail": "ops@example.com",
        **PLACEMENT,
    }
    assert problems_of(context) == [
        "pairs[1].probe: 'tcp:99999' has port 99999; a port is 1 to 65535"
    ]


# --- what goes together --------------------------------------------------------------------


def test_a_probe_without_subnets_names_what_is_missing() -> None:
    # Given a probe and a VPC, but no subnets
    (problem,) = problems_of({**SINGLE_PAIR_CONTEXT, "probe": "tcp:443", "vpcId": VPC})
    # Then the missing key is named, with the probe that needs it and the form to give
    assert problem.startswith("probeSubnetIds: missing; probe sets a probe"), problem
    assert "-c probeSubnetIds=subnet-...,subnet-..." in problem
    assert "'subnet-' then 8 or 17 hex digits" in problem


def test_a_probe_without_vpc_and_subnets_names_both() -> None:
    context = {
        "pairs": [WEB, {**NAT, "probe": "tcp:HOST.example.com:443"}],
        "notifyEmail": "ops@example.com",
    }
    (problem,) = problems_of(context)
    assert problem.startswith("vpcId, probeSubnetIds: missing; pairs[1].probe sets a probe")
    assert "-c vpcId=vpc-..." in problem


@pytest.mark.parametrize(
    ("placement", "named"),
    [
        ({"vpcId": VPC}, "vpcId"),
        (PLACEMENT, "vpcId, probeSubnetIds"),
        ({**PLACEMENT, "probeEndpoints": "true"}, "vpcId, probeSubnetIds, probeEndpoints"),
    ],
)
def test_a_place_to_run_without_any_probe_is_refused(placement: dict[str, Any], named: str) -> None:
    # Given where the prober would run, but no pair with a probe
    (problem,) = problems_of({**SINGLE_PAIR_CONTEXT, **placement})
    # Then the keys given are named, and that nothing would run
    assert problem.startswith(f"{named}: given, but no pair has a probe"), problem
    assert "nothing to run" in problem


def test_endpoints_off_without_a_probe_is_harmless() -> None:
    assert settings_from({**SINGLE_PAIR_CONTEXT, "probeEndpoints": "false"}).prober is None


def test_an_alarm_triggers_one_pair_only() -> None:
    context = {
        "pairs": [{**WEB, "triggerAlarms": ["shared"]}, {**NAT, "triggerAlarms": "shared"}],
        "notifyEmail": "ops@example.com",
    }
    assert problems_of(context) == [
        "pairs[1].triggerAlarms: alarm 'shared' is also a trigger of pair 'web'; an alarm can "
        "trigger one pair only"
    ]


def test_a_single_pair_probe_beside_a_pairs_list_is_refused() -> None:
    (problem,) = problems_of({"pairs": [WEB], "notifyEmail": "ops@example.com", "probe": "tcp:80"})
    assert problem.startswith("pairs: give either a 'pairs' list or one pair through probe")


def test_every_detection_problem_is_reported_at_once() -> None:
    context = {
        **SINGLE_PAIR_CONTEXT,
        "probe": "tcp:70000",
        "vpcId": "vpc-1",
        "probeSubnetIds": "subnet-1",
        "probeFailures": "0",
        "probeVerifyTls": "maybe",
    }
    assert [p.split(":")[0] for p in problems_of(context)] == [
        "probe",
        "probeVerifyTls",
        "probeFailures",
        "vpcId",
        "probeSubnetIds",
    ]


# --- probePorts: probes declared by tags ----------------------------------------------------

TAGGED = {"discovery": "tags", "notifyEmail": "ops@example.com"}


@pytest.mark.parametrize("given", ["8443, 80", ["80", "8443"], [8443, 80, 80]])
def test_probe_ports_let_the_prober_run_for_tagged_pairs_alone(given: object) -> None:
    # Given discovery=tags, no configured pair, and where the prober runs with probePorts
    settings = settings_from({**TAGGED, **PLACEMENT, "probePorts": given})
    # Then the prober runs there, and the ports travel, sorted and once each, to both
    # functions' configuration
    assert settings.prober == ProberPlacement(vpc_id=VPC, subnet_ids=(SUBNET,), endpoints=False)
    assert settings.failover.probing.tag_ports == (80, 8443)
    assert settings.failover.has_prober


def test_probe_ports_add_to_configured_probes() -> None:
    settings = settings_from({**PROBED_PAIR, "discovery": "tags", "probePorts": "8080"})
    assert settings.failover.ports_for_tagged_probes == {443, 8080}


def test_without_probe_ports_a_tagged_stack_has_no_prober_and_no_port() -> None:
    settings = settings_from(TAGGED)
    assert settings.prober is None
    assert settings.failover.ports_for_tagged_probes == frozenset()


BAD_PORTS = [
    ("0", "probePorts: '0' is not a TCP port from 1 to 65535"),
    ("80,65536", "probePorts: '65536' is not a TCP port from 1 to 65535"),
    ("http", "probePorts: 'http' is not a TCP port"),
    ([80, True], "probePorts: True is not a TCP port"),
    ("", "probePorts: empty; expected a TCP port"),
]


@pytest.mark.parametrize(("given", "starts"), BAD_PORTS, ids=[s for _, s in BAD_PORTS])
def test_a_bad_probe_port_names_the_key_and_the_form(given: object, starts: str) -> None:
    (problem,) = problems_of({**TAGGED, **PLACEMENT, "probePorts": given})
    assert problem.startswith(starts), problem
    assert "several comma-separated or a list, such as 80,8443" in problem


def test_probe_ports_without_discovery_by_tags_are_refused() -> None:
    # Given probePorts beside a configured probed pair, but no discovery=tags
    (problem,) = problems_of({**PROBED_PAIR, "probePorts": "8080"})
    # Then they are refused: only tagged probes need them, and there are none
    assert problem.startswith("probePorts: given, but discovery is not 'tags'"), problem
    assert "add -c discovery=tags, or leave it out" in problem


def test_probe_ports_without_a_place_to_run_name_what_is_missing() -> None:
    (problem,) = problems_of({**TAGGED, "probePorts": "80", "vpcId": VPC})
    assert problem.startswith(
        "probeSubnetIds: missing; probePorts asks for probes declared by tags, and the prober "
        "needs the VPC and subnets to run in"
    ), problem


def test_a_place_to_run_in_a_tagged_stack_without_probe_ports_says_to_add_them() -> None:
    (problem,) = problems_of({**TAGGED, **PLACEMENT})
    assert problem.startswith("vpcId, probeSubnetIds: given, but no pair has a probe"), problem
    assert "or probePorts to probe pairs declared by tags" in problem
