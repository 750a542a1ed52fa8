"""The prober: its function, network, permissions, schedule, endpoints and the alarm on its
silence, synthesized from the context the issue's done-when command passes."""

from __future__ import annotations

import inspect
import re
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from eni_failover import ec2
from eni_failover import prober as prober_module
from eni_failover.config import CONFIG_FILE_NAME, ProberSettings, read_config_file
from tests.infra.conftest import (
    PRIMARY,
    STANDBY,
    Synthesized,
    as_list,
    render,
    synthesize,
)

VPC = "vpc-0123456789abcdef0"
SUBNET = "subnet-0123456789abcdef0"
SECOND_SUBNET = "subnet-0fedcba9876543210"
# The done-when command of issue 10, as the CLI passes it: every value a string.
PROBED_CONTEXT: dict[str, Any] = {
    "primaryInstanceId": PRIMARY,
    "standbyInstanceId": STANDBY,
    "eniId": "eni-0123456789abcdef0",
    "notifyEmail": "ops@example.com",
    "probe": "tcp:443",
    "vpcId": VPC,
    "probeSubnetIds": SUBNET,
    "triggerAlarms": "web-unhealthy",
}
# A web pair and a NAT pair probed through itself, with endpoints, in a stack of its own.
EDGE_CONTEXT: dict[str, Any] = {
    "stackName": "Edge",
    "pairs": [
        {
            "name": "web",
            "primaryInstanceId": "i-0aaaaaaaaaaaaaaa1",
            "standbyInstanceId": "i-0aaaaaaaaaaaaaaa2",
            "eniIds": ["eni-0aaaaaaaaaaaaaaa3"],
            "probe": "http://:8080/health",
        },
        {
            "name": "nat",
            "primaryInstanceId": "i-0bbbbbbbbbbbbbbb1",
            "standbyInstanceId": "i-0bbbbbbbbbbbbbbb2",
            "eniIds": ["eni-0bbbbbbbbbbbbbbb3"],
            "probe": "http://checkip.amazonaws.com/",
        },
    ],
    "notifyEmail": "ops@example.com",
    "probeConfirmSeconds": 0.5,
    "vpcId": VPC,
    "probeSubnetIds": [SUBNET, SECOND_SUBNET],
    "probeEndpoints": True,
    # One prober across both subnets (the probe quorum makes one per subnet: its own tests).
    "probeQuorum": False,
}
ARN = "arn:${AWS::Partition}"
REGION_ACCOUNT = "${AWS::Region}:${AWS::AccountId}"


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(PROBED_CONTEXT, tmp_path_factory.mktemp("probed"))


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(EDGE_CONTEXT, tmp_path_factory.mktemp("edge"))


def prober_of(synth: Synthesized) -> Any:
    prober = synth.stack.prober
    assert prober is not None
    return prober


def prober_function(synth: Synthesized) -> dict[str, Any]:
    return synth.properties(prober_of(synth).function)


def prober_statements(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """The prober role's statements by Sid, the log-writing grant under 'logs'."""
    role = synth.ref(prober_of(synth).role)
    statements = [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if role in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    return {s.get("Sid", "logs"): s for s in statements}


# --- the function ----------------------------------------------------------------------------


def test_prober_runs_the_failover_functions_package_in_the_vpc(probed: Synthesized) -> None:
    # Given the prober and the failover function
    properties = prober_function(probed)
    failover = probed.properties(probed.stack.failover.function)
    # Then it is the arm64 Python 3.13 prober entry point of the very same asset and layer
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "eni_failover.prober_handler.lambda_handler"
    assert properties["Code"] == failover["Code"]
    assert properties["Layers"] == failover["Layers"]
    # And a minute-long loop fits in its timeout
    assert properties["Timeout"] == 90
    assert properties["MemorySize"] == 256
    # And it runs in the given subnet, behind its own security group
    assert properties["VpcConfig"] == {
        "SubnetIds": [SUBNET],
        "SecurityGroupIds": [
            {"Fn::GetAtt": [probed.logical_id(prober_of(probed).security_group), "GroupId"]}
        ],
    }


def test_prober_reserves_the_executions_of_a_handover_and_a_stuck_one(
    probed: Synthesized,
) -> None:
    # Given a deployment with the default reservations
    # Then the prober has its own: a burst of other functions in the account cannot
    # throttle the invocation that would send a trigger (the running one, its successor
    # during the handover, and one more while a stuck one runs out its timeout)
    assert prober_function(probed)["ReservedConcurrentExecutions"] == 3


def test_an_account_that_cannot_spare_executions_reserves_none_for_the_prober_either(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Given the operator turned the failover function's reservation off
    synth = synthesize(
        {**PROBED_CONTEXT, "reservedConcurrency": "none"}, tmp_path_factory.mktemp("unreserved")
    )
    # Then the prober reserves nothing either
    assert "ReservedConcurrentExecutions" not in prober_function(synth)
    assert "ReservedConcurrentExecutions" not in synth.properties(synth.stack.failover.function)


def test_prober_logs_are_kept_as_long_as_the_failover_functions(probed: Synthesized) -> None:
    prober = probed.properties(prober_of(probed).log_group)
    failover = probed.properties(probed.stack.failover.log_group)
    assert prober["RetentionInDays"] == failover["RetentionInDays"] == 90
    assert prober_function(probed)["LoggingConfig"] == {
        "LogGroup": probed.ref(prober_of(probed).log_group)
    }


def test_a_failed_start_is_not_retried_the_next_one_takes_over(probed: Synthesized) -> None:
    function = probed.ref(prober_of(probed).function)
    (config,) = [
        c["Properties"]
        for c in probed.of_type("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == function
    ]
    assert config == {
        "FunctionName": function,
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 0,
        "MaximumEventAgeInSeconds": 60,
    }


def test_environment_is_what_the_prober_reads(probed: Synthesized) -> None:
    # Given the prober's environment
    variables = prober_function(probed)["Environment"]["Variables"]
    stack = probed.stack
    # Then it points at the trigger topic, the state table and the stack's namespace
    assert variables["TRIGGER_TOPIC_ARN"] == probed.ref(stack.triggers.topic)
    assert variables["STATE_TABLE_NAME"] == probed.ref(stack.state.table)
    # And at the failover function, which it invokes with a trigger before the topic
    assert variables["FAILOVER_FUNCTION_ARN"] == probed.arn(stack.failover.function)
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "EniFailover"
    assert variables["FAILOVER_ACCOUNT_ID"] == {"Ref": "AWS::AccountId"}
    assert variables["POWERTOOLS_TRACE_DISABLED"] == "true"
    # And the pairs are the failover function's: the same file of the same code asset
    failover = probed.properties(stack.failover.function)
    assert (
        variables["FAILOVER_CONFIG_FILE"]
        == failover["Environment"]["Variables"]["FAILOVER_CONFIG_FILE"]
    )
    assert prober_function(probed)["Code"] == failover["Code"]
    # And, once CloudFormation resolved the tokens, the prober's own settings read it
    resolved = {
        name: value if isinstance(value, str) else f"resolved-{render(value)}"
        for name, value in variables.items()
    }
    asset = probed.asset_directory(prober_of(probed).function)
    resolved["FAILOVER_CONFIG_FILE"] = str(asset / resolved["FAILOVER_CONFIG_FILE"])
    resolved["FAILOVER_ACCOUNT_ID"] = "123456789012"
    resolved["AWS_REGION"] = "eu-west-1"  # the Lambda runtime sets it
    function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:EniFailover-Function"
    resolved["FAILOVER_FUNCTION_ARN"] = function_arn
    settings = ProberSettings.from_environment(resolved)
    assert settings.failover_function_arn == function_arn
    (pair,) = settings.failover.probed_pairs
    assert (pair.probe, pair.trigger_alarms) == ("tcp:443", ("web-unhealthy",))
    # (the stack's default probing: a probe a second, confirmations 0.25 s apart, 5 in a row)
    assert settings.failover.probing.interval_seconds == 1
    assert settings.failover.probing.confirm_seconds == 0.25
    assert settings.failover.probing.failures == 5
    # And without endpoints, boto3 finds AWS at its usual addresses
    assert not [name for name in variables if name.startswith("AWS_ENDPOINT_URL")]


def test_the_confirmation_spacing_reaches_the_probers_configuration(edge: Synthesized) -> None:
    # Given a stack synthesized with probeConfirmSeconds=0.5
    asset = edge.asset_directory(prober_of(edge).function)
    # When the prober reads its configuration as deployed
    probing = read_config_file(str(asset / CONFIG_FILE_NAME)).probing
    # Then its confirmations are 0.5 s apart, the other probing keys at their defaults
    assert (probing.confirm_seconds, probing.interval_seconds, probing.failures) == (0.5, 1, 5)


# --- network ---------------------------------------------------------------------------------


def egress_of(synth: Synthesized) -> list[dict[str, Any]]:
    group = synth.properties(prober_of(synth).security_group)
    assert group["VpcId"] == VPC
    rules: list[dict[str, Any]] = group["SecurityGroupEgress"]
    return rules


def test_egress_is_the_probed_port_and_https_only(probed: Synthesized) -> None:
    # Given the probe tcp:443, which is also the AWS APIs' port
    # Then the one rule is TCP 443 to any IPv4 address (the probed private IPs are known only
    # at run time), and it says why
    (rule,) = egress_of(probed)
    assert {k: v for k, v in rule.items() if k != "Description"} == {
        "CidrIp": "0.0.0.0/0",
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
    }
    assert "probes of pair primary and AWS APIs" in rule["Description"]
    assert "known only at run time" in rule["Description"]


def test_egress_per_probed_port_plus_https(edge: Synthesized) -> None:
    # Given a web probe on 8080 and a NAT probe through the pair on 80
    rules = egress_of(edge)
    # Then each port has one rule naming its pairs, and HTTPS one for the AWS APIs; no other
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in rules] == [
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 8080, 8080, "0.0.0.0/0"),
    ]
    assert [r["Description"].split(";")[0] for r in rules] == [
        "TCP 80: probes of pair nat",
        "TCP 443: AWS APIs (Lambda, SNS, CloudWatch, EC2, DynamoDB)",
        "TCP 8080: probes of pair web",
    ]
    # And it runs in both subnets
    assert prober_function(edge)["VpcConfig"]["SubnetIds"] == [SUBNET, SECOND_SUBNET]


# Pairs declared by tags only, some probed by their eni-failover:probe tag on 80 or 8443.
TAGGED_CONTEXT: dict[str, Any] = {
    "stackName": "Tagged",
    "discovery": "tags",
    "notifyEmail": "ops@example.com",
    "vpcId": VPC,
    "probeSubnetIds": SUBNET,
    "probePorts": "8443,80",
}


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(TAGGED_CONTEXT, tmp_path_factory.mktemp("tagged"))


def test_probe_ports_open_the_prober_to_tagged_probes(tagged: Synthesized) -> None:
    # Given discovery=tags with probePorts 8443 and 80, and no configured pair at all
    rules = egress_of(tagged)
    # Then the prober runs, and its group allows each of probePorts and HTTPS; no other
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in rules] == [
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 8443, 8443, "0.0.0.0/0"),
    ]
    assert [r["Description"].split(";")[0] for r in rules] == [
        "TCP 80: probes of tagged pairs (probePorts)",
        "TCP 443: AWS APIs (Lambda, SNS, CloudWatch, EC2, DynamoDB)",
        "TCP 8443: probes of tagged pairs (probePorts)",
    ]
    # And the prober and the function read the same ports from the packaged configuration,
    # so both judge a tagged probe's port against what the group allows
    asset = tagged.asset_directory(prober_of(tagged).function)
    failover = read_config_file(str(asset / CONFIG_FILE_NAME))
    assert failover.discover_tags
    assert failover.probing.tag_ports == (80, 8443)
    assert failover.ports_for_tagged_probes == {80, 443, 8443}


def test_no_ingress_to_the_prober(probed: Synthesized) -> None:
    group = probed.logical_id(prober_of(probed).security_group)
    ingress = [
        r
        for r in probed.of_type("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    ]
    assert ingress == []
    assert "SecurityGroupIngress" not in probed.properties(prober_of(probed).security_group)


# --- least privilege -------------------------------------------------------------------------


def test_prober_may_publish_only_triggers(probed: Synthesized) -> None:
    statements = prober_statements(probed)
    stack = probed.stack
    assert statements["PublishProbeTriggers"] == {
        "Sid": "PublishProbeTriggers",
        "Effect": "Allow",
        "Action": "sns:Publish",
        "Resource": probed.ref(stack.triggers.topic),
    }
    assert statements["EncryptProbeTriggers"] == {
        "Sid": "EncryptProbeTriggers",
        "Effect": "Allow",
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": probed.arn(stack.key),
    }


def test_prober_puts_metrics_only_in_the_stack_namespace(edge: Synthesized) -> None:
    # Given a stack named Edge
    statement = prober_statements(edge)["PutProbeMetricsInTheStackNamespace"]
    # Then PutMetricData (no resource-level permissions) is bound to its namespace
    assert statement == {
        "Sid": "PutProbeMetricsInTheStackNamespace",
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": "Edge"}},
    }
    assert prober_function(edge)["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == (
        "Edge"
    )


def test_prober_touches_only_its_lease_item(probed: Synthesized) -> None:
    assert prober_statements(probed)["HoldTheProberLease"] == {
        "Sid": "HoldTheProberLease",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        "Resource": probed.arn(probed.stack.state.table),
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["prober#lease"]}},
    }


def test_prober_reads_ec2_and_manages_only_its_own_network_interfaces(
    probed: Synthesized,
) -> None:
    statements = prober_statements(probed)
    assert statements["ReadInterfacesInstancesAndSubnets"] == {
        "Sid": "ReadInterfacesInstancesAndSubnets",
        "Effect": "Allow",
        "Action": [
            "ec2:DescribeInstanceStatus",
            "ec2:DescribeInstances",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
        ],
        "Resource": "*",
    }
    lambda_network = statements["ManageTheFunctionNetworkInterfaces"]
    assert lambda_network["Action"] == [
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ]
    assert render(lambda_network["Resource"]) == f"{ARN}:ec2:{REGION_ACCOUNT}:*/*"


def test_every_ec2_call_of_the_prober_is_granted(probed: Synthesized) -> None:
    # Given the EC2 operations the prober's code calls: the prober module and the
    # eni_failover.ec2 readers it uses (botocore method names in their source)
    model = botocore.session.get_session().get_service_model("ec2")
    operations = {xform_name(name): name for name in model.operation_names}
    source = "\n".join(
        inspect.getsource(code)
        for code in (
            prober_module,
            ec2.describe_interfaces,
            ec2.describe_instances,
            ec2.look_instances,
        )
    )
    called = {f"ec2:{operations[m]}" for m in re.findall(r"\.(\w+)\(", source) if m in operations}
    assert called >= {"ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances"}
    # When the prober role's EC2 read actions are collected
    granted = set(prober_statements(probed)["ReadInterfacesInstancesAndSubnets"]["Action"])
    # Then each call is granted; DescribeSubnets is Lambda's, for the function's own interfaces
    assert granted == called | {"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}


def test_prober_role_has_nothing_else(probed: Synthesized) -> None:
    statements = prober_statements(probed)
    # Then the statements are exactly these, and the log grant is its own log group's
    assert sorted(statements) == [
        "EncryptProbeTriggers",
        "HoldTheProberLease",
        "InvokeTheFailoverFunctionWithProbeTriggers",
        "ManageTheFunctionNetworkInterfaces",
        "PublishProbeTriggers",
        "PutProbeMetricsInTheStackNamespace",
        "ReadInterfacesInstancesAndSubnets",
        "logs",
    ]
    assert statements["logs"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statements["logs"]["Resource"] == probed.arn(prober_of(probed).log_group)
    # And the one Lambda action is to invoke the failover function, that function alone
    invoke = statements.pop("InvokeTheFailoverFunctionWithProbeTriggers")
    assert (invoke["Action"], invoke["Resource"]) == (
        "lambda:InvokeFunction",
        probed.arn(probed.stack.failover.function),
    )
    actions = [a for s in statements.values() for a in as_list(s["Action"])]
    # And nothing moves an interface, sends to a queue or publishes notifications
    assert not [a for a in actions if a.startswith(("sqs:", "xray:", "lambda:"))]
    assert "ec2:AttachNetworkInterface" not in actions
    assert "ec2:DetachNetworkInterface" not in actions
    # And no managed policy rides along (AWSLambdaVPCAccessExecutionRole writes any log group)
    role = probed.properties(prober_of(probed).role)
    assert "ManagedPolicyArns" not in role


# --- schedule --------------------------------------------------------------------------------


def test_a_schedule_starts_the_prober_every_minute(probed: Synthesized) -> None:
    rule = probed.properties(prober_of(probed).schedule)
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == probed.arn(prober_of(probed).function)
    # The prober needs no input, and a start a minute late is superseded by the next
    assert "Input" not in target
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 60}
    # And only this rule may start it
    function = probed.arn(prober_of(probed).function)
    permissions = [
        p["Properties"]
        for p in probed.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == function
    ]
    assert [(p["Principal"], p["SourceArn"]) for p in permissions] == [
        ("events.amazonaws.com", probed.arn(prober_of(probed).schedule))
    ]


# --- detection degraded ----------------------------------------------------------------------


def test_a_silent_prober_raises_detection_degraded(probed: Synthesized) -> None:
    # Given the alarm on the prober's heartbeat
    stack = probed.stack
    (alarm,) = probed.template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "ProberRounds"}}
    ).values()
    properties = alarm["Properties"]
    # Then no round in two whole minutes, missing data included, is the alarm
    assert {k: v for k, v in properties.items() if k != "AlarmDescription"} == {
        "AlarmName": "EniFailover-detection-degraded",
        "Namespace": "EniFailover",
        "MetricName": "ProberRounds",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 2,
        "Threshold": 1,
        "ComparisonOperator": "LessThanThreshold",
        "TreatMissingData": "breaching",
        "AlarmActions": [probed.ref(stack.notifications.topic)],
        "OKActions": [probed.ref(stack.notifications.topic)],
    }
    assert "Dimensions" not in properties  # the heartbeat has none
    # And it says what it means, and that nothing moves on it
    description = properties["AlarmDescription"]
    assert description.startswith("Detection degraded:")
    assert "Nothing moves on this alarm alone" in description


def test_the_operators_topic_accepts_the_degraded_alarm(probed: Synthesized) -> None:
    # Given the notification topic's policy and the key that encrypts it
    stack = probed.stack
    topic = probed.ref(stack.notifications.topic)
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in probed.of_type("AWS::SNS::TopicPolicy").values()
        if topic in p["Properties"]["Topics"]
    ]
    (cloudwatch,) = [s for s in policy if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    # Then CloudWatch may publish for both operator alarms, in one statement
    assert [render(a) for a in cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"]] == [
        f"{ARN}:cloudwatch:{REGION_ACCOUNT}:alarm:EniFailover-dead-letters",
        f"{ARN}:cloudwatch:{REGION_ACCOUNT}:alarm:EniFailover-detection-degraded",
    ]
    # And CloudWatch may use the key, or its publish to the encrypted topic would fail
    key_policy = probed.properties(stack.key)["KeyPolicy"]["Statement"]
    assert any(
        "cloudwatch.amazonaws.com" in as_list(s["Principal"].get("Service", []))
        and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(s["Action"]))
        for s in key_policy
    )


# --- outputs ---------------------------------------------------------------------------------


def test_outputs_name_the_prober_and_its_alarm(probed: Synthesized) -> None:
    outputs = {name: o["Value"] for name, o in probed.template.to_json()["Outputs"].items()}
    assert outputs["ProberFunctionName"] == probed.ref(prober_of(probed).function)
    assert outputs["DetectionAlarmName"] == "EniFailover-detection-degraded"
    # And the existing ones stay
    assert outputs["FunctionName"] == probed.ref(probed.stack.failover.function)


def test_no_probe_no_prober(single_pair: Synthesized) -> None:
    assert single_pair.stack.prober is None
    assert not single_pair.of_type("AWS::EC2::SecurityGroup")
    assert not single_pair.template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "ProberRounds"}}
    )
    outputs = single_pair.template.to_json()["Outputs"]
    assert "ProberFunctionName" not in outputs
    assert "DetectionAlarmName" not in outputs


# --- endpoints -------------------------------------------------------------------------------

ENDPOINT_SERVICES = {
    "lambda": "AWS_ENDPOINT_URL_LAMBDA",
    "sns": "AWS_ENDPOINT_URL_SNS",
    "monitoring": "AWS_ENDPOINT_URL_CLOUDWATCH",
    "ec2": "AWS_ENDPOINT_URL_EC2",
    "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB",
}


def test_no_endpoints_unless_asked(probed: Synthesized) -> None:
    assert not probed.of_type("AWS::EC2::VPCEndpoint")


def test_endpoints_for_every_api_the_prober_calls(edge: Synthesized) -> None:
    # Given probeEndpoints=true
    prober = prober_of(edge)
    assert prober.endpoints is not None
    endpoint_group = edge.logical_id(prober.endpoints.security_group)
    endpoints = {
        render(e["Properties"]["ServiceName"]).rsplit(".", 1)[-1]: (name, e["Properties"])
        for name, e in edge.of_type("AWS::EC2::VPCEndpoint").items()
    }
    # Then Lambda, SNS, CloudWatch, EC2 and DynamoDB have an interface endpoint in the probe
    # subnets, reachable through their own security group, without private DNS for the VPC
    assert sorted(endpoints) == sorted(ENDPOINT_SERVICES)
    for _, properties in endpoints.values():
        assert properties["VpcEndpointType"] == "Interface"
        assert properties["VpcId"] == VPC
        assert properties["SubnetIds"] == [SUBNET, SECOND_SUBNET]
        assert properties["SecurityGroupIds"] == [{"Fn::GetAtt": [endpoint_group, "GroupId"]}]
        assert properties["PrivateDnsEnabled"] is False
        assert render(properties["ServiceName"]).startswith("com.amazonaws.${AWS::Region}.")
    # And the prober's clients are sent to each endpoint's regional DNS name
    variables = prober_function(edge)["Environment"]["Variables"]
    for service, variable in ENDPOINT_SERVICES.items():
        logical_id = endpoints[service][0]
        assert variables[variable] == {
            "Fn::Join": [
                "",
                [
                    "https://",
                    {
                        "Fn::Select": [
                            1,
                            {
                                "Fn::Split": [
                                    ":",
                                    {"Fn::Select": [0, {"Fn::GetAtt": [logical_id, "DnsEntries"]}]},
                                ]
                            },
                        ]
                    },
                ],
            ]
        }


def test_only_the_prober_reaches_the_endpoints(edge: Synthesized) -> None:
    prober = prober_of(edge)
    assert prober.endpoints is not None
    group = edge.logical_id(prober.endpoints.security_group)
    # Then the one way in is HTTPS from the prober's security group
    ingress = [
        r["Properties"]
        for r in edge.of_type("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    ]
    assert ingress == [
        {
            "Description": "HTTPS from the ENI Failover prober",
            "GroupId": {"Fn::GetAtt": [group, "GroupId"]},
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "SourceSecurityGroupId": {
                "Fn::GetAtt": [edge.logical_id(prober.security_group), "GroupId"]
            },
        }
    ]
    properties = edge.properties(prober.endpoints.security_group)
    assert "SecurityGroupIngress" not in properties
    # And the endpoints open nothing themselves (CDK's placeholder for "no egress")
    assert properties["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]


# --- cdk-nag ---------------------------------------------------------------------------------

EXPECTED_ACKNOWLEDGMENTS = {
    ("AwsSolutions-IAM5[Resource::*]", "EniFailover/Default/Failover/ReadStatePolicy/Resource"),
    ("AwsSolutions-IAM5[Resource::*]", "EniFailover/Default/Failover/Role/DefaultPolicy/Resource"),
    ("AwsSolutions-L1", "EniFailover/Default/Failover/Function/Resource"),
    ("AwsSolutions-SQS3", "EniFailover/Default/DeadLetters/Queue/Resource"),
    ("AwsSolutions-IAM5[Resource::*]", "EniFailover/Default/Prober/Role/DefaultPolicy/Resource"),
    (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:*/*]",
        "EniFailover/Default/Prober/Role/DefaultPolicy/Resource",
    ),
    ("AwsSolutions-L1", "EniFailover/Default/Prober/Function/Resource"),
}


@pytest.mark.parametrize("name", ["probed", "edge"])
def test_cdk_nag_passes_with_acknowledgments_on_their_resources(
    name: str, request: pytest.FixtureRequest
) -> None:
    # Given a probed stack synthesized with the AwsSolutions pack
    synth: Synthesized = request.getfixturevalue(name)
    (report,) = [
        r for r in synth.validation_report()["pluginReports"] if r["pluginName"] == "AwsSolutions"
    ]
    # Then nothing is left, and the acknowledgments are the expected ones, on their resources
    assert report["conclusion"] == "success"
    assert report["violations"] == []
    stack_path = synth.stack.node.path
    acknowledged = {
        (finding["ruleName"], construct["constructPath"].replace(stack_path, "EniFailover", 1))
        for finding in report["suppressedViolations"]
        for construct in finding["violatingConstructs"]
    }
    assert acknowledged == EXPECTED_ACKNOWLEDGMENTS
    for finding in report["suppressedViolations"]:
        assert len(finding["reason"].split()) >= 8, finding
        for construct in finding["violatingConstructs"]:
            assert construct["constructPath"].startswith(finding["acknowledgedAt"] + "/")


def test_a_probed_pair_of_routes_and_an_elastic_ip_lets_the_prober_read_them(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Given a probed pair whose addresses are an overlay route and an Elastic IP, no eniId
    context = {
        key: value for key, value in PROBED_CONTEXT.items() if key not in ("eniId", "triggerAlarms")
    } | {
        "routeTableIds": "rtb-0123456789abcdef0",
        "routeCidrs": "10.9.0.10/32",
        "eipAllocationIds": "eipalloc-0123456789abcdef0",
    }
    synth = synthesize(context, tmp_path_factory.mktemp("probed-addresses"))

    # Then the prober may read where the route and the address are (the prober's
    # find_targets reads them to know whether the primary serves), and still change nothing
    granted = set(as_list(prober_statements(synth)["ReadInterfacesInstancesAndSubnets"]["Action"]))
    assert {"ec2:DescribeRouteTables", "ec2:DescribeAddresses"} <= granted
    assert all(a.startswith("ec2:Describe") for a in granted)
