"""CDK tokens as IDs (issue 21): a user's stack passes ``instance.instance_id`` and the like,
which at synth are strings such as "${Token[TOKEN.123]}". The settings accept one where an
instance, interface, route table, Elastic IP allocation, VPC or subnet ID goes, validated once
resolvable; the function, loading its configuration at run time, refuses one never resolved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from pydantic import TypeAdapter, ValidationError

from eni_failover.config import (
    CDK_TOKEN_PATTERN,
    DEPLOY_TIME_VALUES,
    ConfigError,
    FailoverConfig,
    InstanceId,
    read_config_file,
)
from eni_failover_cdk.settings import SettingsError, read_settings

EMAIL = "ops@example.com"


class UserStack:
    """A user's stack that defines its own instances, interface, route table, Elastic IP,
    VPC and subnet: their IDs are tokens at synth."""

    def __init__(self) -> None:
        self.stack = cdk.Stack(cdk.App(), "Users")
        self.primary = ec2.CfnInstance(self.stack, "Primary", image_id="ami-12345678")
        self.standby = ec2.CfnInstance(self.stack, "Standby", image_id="ami-12345678")
        self.vpc = ec2.CfnVPC(self.stack, "Vpc", cidr_block="10.0.0.0/16")
        self.subnet = ec2.CfnSubnet(
            self.stack, "Subnet", vpc_id=self.vpc.ref, cidr_block="10.0.1.0/24"
        )
        self.interface = ec2.CfnNetworkInterface(self.stack, "Floating", subnet_id=self.subnet.ref)
        self.table = ec2.CfnRouteTable(self.stack, "Routes", vpc_id=self.vpc.ref)
        self.address = ec2.CfnEIP(self.stack, "Address", domain="vpc")

    def config(self, **more: Any) -> dict[str, Any]:
        return {
            "primaryInstanceId": self.primary.ref,
            "standbyInstanceId": self.standby.ref,
            "eniId": [self.interface.ref],
            "routeTableIds": [self.table.ref],
            "routeCidrs": "0.0.0.0/0",
            "eipAllocationIds": [self.address.attr_allocation_id],
            "probe": "tcp:443",
            "vpcId": self.vpc.ref,
            "probeSubnetIds": [self.subnet.ref],
            "notifyEmail": EMAIL,
            **more,
        }


@pytest.fixture(scope="module")
def user() -> UserStack:
    return UserStack()


def test_the_token_pattern_is_the_cdks_string_form(user: UserStack) -> None:
    for token in (user.primary.ref, user.address.attr_allocation_id, user.vpc.ref):
        assert cdk.Token.is_unresolved(token)
        assert CDK_TOKEN_PATTERN.fullmatch(token), token


def test_tokens_are_accepted_where_ids_go(user: UserStack) -> None:
    # Given a config whose instance, interface, route table, Elastic IP, VPC and subnet are
    # the user's resources
    settings = read_settings(user.config())
    # Then each is taken as given, to be resolved at deploy time
    (pair,) = settings.failover.pairs
    assert pair.primary_instance_id == user.primary.ref
    assert pair.standby_instance_id == user.standby.ref
    assert pair.interface_ids == (user.interface.ref,)
    assert pair.route_table_ids == (user.table.ref,)
    assert pair.eip_allocation_ids == (user.address.attr_allocation_id,)
    assert settings.prober is not None
    assert (settings.prober.vpc_id, settings.prober.subnet_ids) == (
        user.vpc.ref,
        (user.subnet.ref,),
    )


def test_the_same_token_as_primary_and_standby_is_refused(user: UserStack) -> None:
    with pytest.raises(SettingsError) as raised:
        read_settings(user.config(standbyInstanceId=user.primary.ref))
    assert raised.value.problems == (
        f"primaryInstanceId and standbyInstanceId: both are {user.primary.ref}; the standby "
        "must be a different instance from the primary",
    )


def test_the_same_token_in_two_pairs_is_a_shared_interface(user: UserStack) -> None:
    other = ec2.CfnInstance(user.stack, "Other", image_id="ami-12345678")
    third = ec2.CfnInstance(user.stack, "Third", image_id="ami-12345678")
    pairs = [
        {
            "name": "web",
            "primaryInstanceId": user.primary.ref,
            "standbyInstanceId": user.standby.ref,
            "eniIds": [user.interface.ref],
        },
        {
            "name": "db",
            "primaryInstanceId": other.ref,
            "standbyInstanceId": third.ref,
            "eniIds": [user.interface.ref],
        },
    ]
    with pytest.raises(SettingsError) as raised:
        read_settings({"pairs": pairs, "notifyEmail": EMAIL})
    assert raised.value.problems == (
        f"pairs[1].eniIds: {user.interface.ref} also belongs to pair 'web'; an interface can "
        "float within one pair only",
    )


@pytest.mark.parametrize(
    ("key", "form"),
    [
        ("notifyEmail", "an email address"),
        ("pairName", "a pair name"),
        ("triggerAlarms", "a CloudWatch alarm name"),
        ("privateIps", "a private IPv4 address"),
        ("evaluationPeriods", "a whole number of minutes"),
    ],
)
def test_a_token_where_synth_needs_the_value_is_named(user: UserStack, key: str, form: str) -> None:
    # Given a deploy-time value for a key the stack must know at synth (a name, an address)
    token = cdk.Token.as_string(user.primary.attr_private_ip)
    with pytest.raises(SettingsError) as raised:
        read_settings(user.config(**{key: token}))
    # Then it is refused as a token, with the form expected
    (problem,) = [p for p in raised.value.problems if p.startswith(f"{key}:")]
    assert f"{token!r} is a CDK token, a value known only at deploy time" in problem, problem
    assert form in problem


@pytest.mark.parametrize(
    "value",
    ["${Token[TOKEN.1]}x", "${Token[a b]}", "{Token[TOKEN.1]}", "i-${Token[TOKEN.1]}"],
)
def test_a_value_that_only_looks_like_a_token_is_refused_as_a_malformed_id(value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        read_settings(
            {
                "primaryInstanceId": value,
                "standbyInstanceId": "i-0fedcba9876543210",
                "eniId": "eni-0123456789abcdef0",
                "notifyEmail": EMAIL,
            }
        )
    (problem,) = raised.value.problems
    assert problem.startswith(f"primaryInstanceId: {value!r} is not an instance ID"), problem


def test_a_token_passes_the_models_only_with_the_deploy_time_context() -> None:
    token = "${Token[TOKEN.123]}"
    adapter = TypeAdapter(InstanceId)
    assert adapter.validate_python(token, context={DEPLOY_TIME_VALUES: True}) == token
    with pytest.raises(ValidationError, match="CDK token that was never resolved"):
        adapter.validate_python(token)
    with pytest.raises(ValidationError, match="CDK token that was never resolved"):
        adapter.validate_python(token, context={DEPLOY_TIME_VALUES: False})


def test_the_function_refuses_a_configuration_whose_token_was_never_resolved(
    user: UserStack, tmp_path: Path
) -> None:
    # Given the pairs as the stack would package them, a token left in place of an ID
    failover = read_settings(user.config()).failover
    packaged = tmp_path / "failover-config.json"
    packaged.write_text(failover.model_dump_json())
    # When the function loads it at cold start, without deploy-time values
    with pytest.raises(ConfigError) as raised:
        read_config_file(str(packaged))
    # Then it fails there, saying which value and why, in plain words
    message = str(raised.value)
    assert "pairs.0.primary_instance_id:" in message
    assert f"{user.primary.ref!r} is a CDK token that was never resolved" in message
    assert "validated once resolvable" in message
    assert "Value error" not in message
    # And once resolved (the deploy's substitution), the same file loads
    resolved = json.loads(packaged.read_text())
    (pair,) = resolved["pairs"]
    pair |= {
        "primary_instance_id": "i-0123456789abcdef0",
        "standby_instance_id": "i-0fedcba9876543210",
        "interface_ids": ["eni-0123456789abcdef0"],
        "route_table_ids": ["rtb-0123456789abcdef0"],
        "eip_allocation_ids": ["eipalloc-0123456789abcdef0"],
    }
    packaged.write_text(json.dumps(resolved))
    assert isinstance(read_config_file(str(packaged)), FailoverConfig)
