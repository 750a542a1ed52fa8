"""probeQuorum: one prober per probe subnet, each a vantage of the quorum, validated at synth."""

from __future__ import annotations

from typing import Any

import pytest

from eni_failover_cdk.prober import Prober
from eni_failover_cdk.settings import SettingsError, read_settings
from tests.infra.conftest import Synthesized, synthesize

VPC = "vpc-0123456789abcdef0"
SUBNET_A = "subnet-0123456789abcdef0"
SUBNET_B = "subnet-0fedcba9876543210"
CONTEXT: dict[str, Any] = {
    "stackName": "Quorum",
    "primaryInstanceId": "i-0123456789abcdef0",
    "standbyInstanceId": "i-0fedcba9876543210",
    "eniId": "eni-0123456789abcdef0",
    "notifyEmail": "ops@example.com",
    "probe": "tcp:443",
    "vpcId": VPC,
    "probeSubnetIds": f"{SUBNET_A},{SUBNET_B}",
}


def problems_of(context: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as raised:
        read_settings(context.get)
    return str(raised.value)


@pytest.fixture(scope="module")
def quorum(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(CONTEXT, tmp_path_factory.mktemp("quorum"))


def test_two_subnets_make_a_quorum_by_default() -> None:
    placement = read_settings(CONTEXT.get).prober
    assert placement is not None
    assert placement.quorum
    assert placement.vantages == (SUBNET_A, SUBNET_B)


def test_the_quorum_can_be_turned_off() -> None:
    placement = read_settings({**CONTEXT, "probeQuorum": "false"}.get).prober
    assert placement is not None
    assert not placement.quorum
    assert placement.vantages == ()


def test_one_subnet_probes_alone_by_default() -> None:
    placement = read_settings({**CONTEXT, "probeSubnetIds": SUBNET_A}.get).prober
    assert placement is not None
    assert not placement.quorum


def test_a_quorum_asked_for_with_one_subnet_is_refused() -> None:
    message = problems_of({**CONTEXT, "probeSubnetIds": SUBNET_A, "probeQuorum": "true"})
    assert message.startswith("probeQuorum: true, but probeSubnetIds lists 1 subnet"), message
    assert "list two subnets in different zones" in message
    assert "-c probeQuorum=false" in message


def test_a_quorum_that_is_not_a_flag_is_refused() -> None:
    message = problems_of({**CONTEXT, "probeQuorum": "both"})
    assert message.startswith("probeQuorum: 'both' is not true or false"), message


def test_a_quorum_without_a_probe_is_refused() -> None:
    context = {k: v for k, v in CONTEXT.items() if k != "probe"} | {"probeQuorum": True}
    message = problems_of(context)
    assert "probeQuorum: given, but no pair has a probe" in message


def test_each_vantage_reserves_its_own_executions() -> None:
    settings = read_settings({**CONTEXT, "reservedConcurrency": 10}.get)
    assert settings.reservations["the prober (2 vantages)"] == 6


def vantages_of(synth: Synthesized) -> list[Prober]:
    probers: list[Prober] = synth.stack.probers
    return probers


def test_one_prober_per_subnet_each_its_own_vantage(quorum: Synthesized) -> None:
    # Given two probe subnets and the quorum on by default
    probers = vantages_of(quorum)
    # Then there are two prober functions, each in its own subnet only, each told its
    # vantage and both vantages
    assert [p.vantage for p in probers] == [SUBNET_A, SUBNET_B]
    for prober, subnet in zip(probers, (SUBNET_A, SUBNET_B), strict=True):
        properties = quorum.properties(prober.function)
        assert properties["VpcConfig"]["SubnetIds"] == [subnet]
        environment = properties["Environment"]["Variables"]
        assert environment["PROBER_VANTAGE"] == subnet
        assert environment["PROBER_VANTAGES"] == f"{SUBNET_A},{SUBNET_B}"
        assert properties["Handler"] == "eni_failover.prober_handler.lambda_handler"
    # And the first keeps the single prober's place (its outputs, its alarm)
    assert quorum.stack.prober is probers[0]


def statements_of(synth: Synthesized, prober: Prober) -> dict[str, dict[str, Any]]:
    role = synth.ref(prober.role)
    return {
        s.get("Sid", "logs"): s
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if role in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }


def test_each_vantage_may_touch_the_prober_items_only(quorum: Synthesized) -> None:
    a, b = (statements_of(quorum, p) for p in vantages_of(quorum))
    # Then both roles carry the same statements (the same construct made both)
    assert a.keys() == b.keys()
    state = a["HoldTheProberLeasesViewsAndClaims"]
    assert state == b["HoldTheProberLeasesViewsAndClaims"]
    # And of the state table: the leases, the views and the episodes' claims, nothing else
    assert state["Condition"] == {
        "ForAllValues:StringLike": {
            "dynamodb:LeadingKeys": [
                "prober#lease",
                f"prober#lease#{SUBNET_B}",
                f"prober#view#{SUBNET_A}",
                f"prober#view#{SUBNET_B}",
                "prober#claim#*",
            ]
        }
    }
    assert sorted(state["Action"]) == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert "HoldTheProberLease" not in a


def test_cdk_nag_finds_nothing_in_the_quorum(quorum: Synthesized) -> None:
    [report] = [
        r for r in quorum.validation_report()["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]
    assert report["conclusion"] == "success"
    assert report["violations"] == []
