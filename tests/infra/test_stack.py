"""The single-pair stack: what each resource must be for a failover to work and stay safe."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import botocore.session
from botocore import xform_name
from constructs import IConstruct

from eni_failover.config import Settings
from eni_failover_cdk.failover_function import (
    ELASTIC_IP_ACTIONS,
    ELASTIC_IP_READ_ACTIONS,
    PRIVATE_IP_ACTIONS,
    ROUTE_ACTIONS,
    ROUTE_READ_ACTIONS,
)
from eni_failover_cdk.fencing import ISOLATE_ACTIONS, STOP_ACTIONS
from eni_failover_cdk.lambda_package import FUNCTION_PACKAGE
from tests.infra.conftest import (
    EMAILS,
    INTERFACE,
    PRIMARY,
    ROOT,
    SECOND_INTERFACE,
    STANDBY,
    Synthesized,
    as_list,
    render,
)

STACK = "EniFailover"
ALARM_NAME = f"{STACK}-primary-primary-status"
RULE_NAME = f"{STACK}-instance-state"
ARN_PREFIX = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}"


def function_properties(synth: Synthesized) -> dict[str, Any]:
    return synth.properties(synth.stack.failover.function)


INLINE_POLICY = "AWS::IAM::Policy"
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"


def role_statements(synth: Synthesized, resource_type: str | None = None) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the function's role: its inline policies
    and the customer-managed ones that name the role (only those of ``resource_type`` when
    given)."""
    role = synth.ref(synth.stack.failover.role)
    # Nothing is attached by the role itself (an AWS managed policy would go unseen here)
    assert "ManagedPolicyArns" not in synth.properties(synth.stack.failover.role)
    types = (resource_type,) if resource_type else (INLINE_POLICY, MANAGED_POLICY)
    return [
        statement
        for policy_type in types
        for policy in synth.of_type(policy_type).values()
        if role in policy["Properties"].get("Roles", [])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def statements_with(
    synth: Synthesized, action: str, resource_type: str | None = None
) -> list[dict[str, Any]]:
    return [s for s in role_statements(synth, resource_type) if action in as_list(s["Action"])]


def policy_statements(synth: Synthesized, policy: IConstruct) -> list[dict[str, Any]]:
    """The statements of one policy construct's resource (inline or managed)."""
    statements: list[dict[str, Any]] = synth.properties(policy)["PolicyDocument"]["Statement"]
    return statements


# --- triggers ------------------------------------------------------------------------------


def test_alarm_watches_the_primary_status_checks_and_publishes_to_the_trigger_topic(
    single_pair: Synthesized,
) -> None:
    # Given the single pair from the command line
    # When the stack is synthesized
    alarms = single_pair.template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": ALARM_NAME}}
    )
    # Then one alarm with that exact name watches the primary's StatusCheckFailed and
    # StatusCheckFailed_AttachedEBS (the decision counts an impaired attached-EBS check as
    # impaired, and AWS does not say whether StatusCheckFailed includes it), every metric
    # with the primary as its only dimension
    assert len(alarms) == 1
    (alarm,) = alarms.values()
    properties = dict(alarm["Properties"])
    assert PRIMARY in properties.pop("AlarmDescription")

    def check(metric_id: str, metric_name: str) -> dict[str, Any]:
        return {
            "Id": metric_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/EC2",
                    "MetricName": metric_name,
                    "Dimensions": [{"Name": "InstanceId", "Value": PRIMARY}],
                },
                "Period": 60,
                "Stat": "Maximum",
            },
            "ReturnData": False,
        }

    assert properties == {
        "AlarmName": ALARM_NAME,
        "Metrics": [
            {
                "Id": "expr_1",
                "Expression": "MAX([checks, ebs])",
                "Label": "status checks failed (system, instance or attached EBS)",
                "ReturnData": True,
            },
            check("checks", "StatusCheckFailed"),
            check("ebs", "StatusCheckFailed_AttachedEBS"),
        ],
        "EvaluationPeriods": 2,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        # A stopped primary publishes nothing; "breaching" would fail over on data gaps.
        "TreatMissingData": "missing",
        "AlarmActions": [single_pair.ref(single_pair.stack.triggers.topic)],
    }


def test_one_rule_forwards_the_primary_stopping_or_terminating_to_the_trigger_topic(
    single_pair: Synthesized,
) -> None:
    # Given the single pair
    # When the stack is synthesized
    rules = single_pair.template.find_resources(
        "AWS::Events::Rule", {"Properties": {"Name": RULE_NAME}}
    )
    # Then its one explicitly named rule matches the failure states of the pair's primary
    # only: other instances stopping (a Spot or scale-in wave) never reach the function
    assert len(rules) == 1
    (rule,) = rules.values()
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {
            "instance-id": [PRIMARY],
            "state": ["stopping", "stopped", "shutting-down", "terminated"],
        },
    }
    assert rule["Properties"]["State"] == "ENABLED"
    # And its only target is the trigger topic, with the dead-letter queue behind it
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == single_pair.ref(single_pair.stack.triggers.topic)
    assert target["DeadLetterConfig"] == {
        "Arn": single_pair.arn(single_pair.stack.dead_letters.queue)
    }
    assert "RoleArn" not in target  # SNS targets use the topic policy, never a role
    # And EventBridge stops retrying once the function would call the trigger stale
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 900


def test_function_is_subscribed_to_the_trigger_topic_only_with_a_dead_letter_queue(
    single_pair: Synthesized,
) -> None:
    # Given the stack
    function = single_pair.arn(single_pair.stack.failover.function)
    # When its subscriptions that deliver to the function are collected
    subscriptions = [
        s["Properties"]
        for s in single_pair.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["Endpoint"] == function
    ]
    # Then there is exactly one, on the trigger topic (never on its own notification topic)
    assert subscriptions == [
        {
            "Protocol": "lambda",
            "TopicArn": single_pair.ref(single_pair.stack.triggers.topic),
            "Endpoint": function,
            "RedrivePolicy": {
                "deadLetterTargetArn": single_pair.arn(single_pair.stack.dead_letters.queue)
            },
        }
    ]
    # And only the trigger topic may invoke the function, besides the readiness and sweep
    # schedules (tests/infra/test_readiness_schedule.py, test_sweep_schedule.py)
    permissions = [
        p["Properties"]
        for p in single_pair.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == function
    ]
    stack = single_pair.stack
    assert sorted((p["Principal"], json.dumps(p["SourceArn"])) for p in permissions) == sorted(
        [
            ("events.amazonaws.com", json.dumps(single_pair.arn(stack.readiness.rule))),
            ("events.amazonaws.com", json.dumps(single_pair.arn(stack.sweep.rule))),
            ("sns.amazonaws.com", json.dumps(single_pair.ref(stack.triggers.topic))),
        ]
    )


def test_notification_topic_emails_every_configured_address(single_pair: Synthesized) -> None:
    # Given two comma-separated addresses in notifyEmail
    topic = single_pair.ref(single_pair.stack.notifications.topic)
    # When the notification topic's subscriptions are collected
    subscriptions = [
        s["Properties"]
        for s in single_pair.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == topic
    ]
    # Then each address has an email subscription, and nothing else listens there
    assert sorted((s["Protocol"], s["Endpoint"]) for s in subscriptions) == sorted(
        ("email", email) for email in EMAILS
    )


# --- the function --------------------------------------------------------------------------


def test_function_runtime_handler_and_limits(single_pair: Synthesized) -> None:
    # Given the stack
    # When the function's properties are read
    properties = function_properties(single_pair)
    # Then it is the pure-Python arm64 handler with the agreed limits and tracing
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "eni_failover.handler.lambda_handler"
    assert properties["Timeout"] == 60
    assert properties["MemorySize"] == 256
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["LoggingConfig"] == {
        "LogGroup": single_pair.ref(single_pair.stack.failover.log_group)
    }


def test_function_reserves_concurrency_for_every_trigger_of_the_pair_and_headroom(
    single_pair: Synthesized,
) -> None:
    # Given the single pair, with no reservedConcurrency in the context
    # When the function's properties are read
    properties = function_properties(single_pair)
    # Then a burst of other functions cannot take its executions: it has 6 of its own, for
    # the alarm and the state-change event of one failure, the readiness check, the sweep
    # and two spare
    assert properties["ReservedConcurrentExecutions"] == 2 * 1 + 2 + 2
    # And it is not serialized globally (a reservation of 1 would be): the function holds a
    # lease per pair instead, and triggers of different pairs run side by side
    assert properties["ReservedConcurrentExecutions"] > 1


def test_log_group_has_a_retention(single_pair: Synthesized) -> None:
    # Given / When the function's log group
    properties = single_pair.properties(single_pair.stack.failover.log_group)
    # Then its logs expire
    assert properties["RetentionInDays"] > 0


def test_code_asset_is_the_lambda_directory_without_bytecode(single_pair: Synthesized) -> None:
    # Given the function's code object and the cloud assembly's asset manifest
    asset_hash = function_properties(single_pair)["Code"]["S3Key"].removesuffix(".zip")
    manifest = json.loads((single_pair.outdir / "EniFailover.assets.json").read_text())
    asset = single_pair.outdir / manifest["files"][asset_hash]["source"]["path"]
    # When the staged asset is listed
    files = {path.relative_to(asset).as_posix() for path in asset.rglob("*") if path.is_file()}
    # Then it holds the package the handler lives in, and no bytecode
    assert "eni_failover/handler.py" in files
    assert "eni_failover/config.py" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def pinned_version(requirements: str, package: str) -> str:
    """The ``==`` pin of ``package`` (extras allowed) in a requirements file's text."""
    pattern = rf"^{re.escape(package)}(\[[^\]]*\])?==(?P<version>[^\s;#]+)"
    (version,) = [m.group("version") for m in re.finditer(pattern, requirements, re.MULTILINE)]
    return version


def test_powertools_layer_is_the_release_requirements_txt_pins(single_pair: Synthesized) -> None:
    # Given the Powertools version every test runs with
    pin = pinned_version((ROOT / "requirements.txt").read_text(), "aws-lambda-powertools")
    # When the function's layer reference is followed
    (layer,) = function_properties(single_pair)["Layers"]
    parameter = single_pair.template.to_json()["Parameters"][layer["Ref"]]
    # Then it is that release's public SSM parameter, which CloudFormation resolves in the
    # deploy region at deploy time: never ".../latest", which drifts with every release
    assert parameter == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": f"/aws/service/powertools/python/arm64/python3.13/{pin}",
    }


def test_the_code_asset_carries_the_pairs_the_function_parses(single_pair: Synthesized) -> None:
    # Given the function's environment
    environment = function_properties(single_pair)["Environment"]["Variables"]
    stack = single_pair.stack
    # Then it names the pairs file, not the pairs (4 KB of environment hold ~14 pairs)
    assert environment["FAILOVER_CONFIG_FILE"] == "failover-config.json"
    assert "FAILOVER_CONFIG" not in environment
    # When the file packaged beside the code is parsed with the function's own model
    config = single_pair.packaged_config(stack.failover.function)
    # Then it holds the pair, named after the alarm that watches it
    (pair,) = config.pairs
    assert pair.name == "primary"
    assert pair.primary_instance_id == PRIMARY
    assert pair.standby_instance_id == STANDBY
    assert pair.interface_ids == (INTERFACE, SECOND_INTERFACE)
    assert pair.alarm_name == ALARM_NAME
    # And the other variables point at this stack's resources
    assert environment["NOTIFICATION_TOPIC_ARN"] == single_pair.ref(stack.notifications.topic)
    assert environment["TRIGGER_TOPIC_ARN"] == single_pair.ref(stack.triggers.topic)
    assert environment["DEAD_LETTER_QUEUE_URL"] == single_pair.ref(stack.dead_letters.queue)
    assert environment["STATE_TABLE_NAME"] == single_pair.ref(stack.state.table)
    assert environment["FAILOVER_ACCOUNT_ID"] == {"Ref": "AWS::AccountId"}
    assert environment["POWERTOOLS_SERVICE_NAME"] == "eni-failover"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "EniFailover"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"


def test_environment_is_complete_for_the_functions_settings(single_pair: Synthesized) -> None:
    # Given the environment as Lambda would see it once CloudFormation resolved the tokens
    variables = function_properties(single_pair)["Environment"]["Variables"]
    resolved = {
        name: value if isinstance(value, str) else f"resolved-{render(value)}"
        for name, value in variables.items()
    }
    resolved["FAILOVER_ACCOUNT_ID"] = "123456789012"
    resolved["AWS_REGION"] = "eu-west-1"  # the Lambda runtime sets it
    # And the pairs file where Lambda unpacks the code (the task root)
    asset = single_pair.asset_directory(single_pair.stack.failover.function)
    resolved["FAILOVER_CONFIG_FILE"] = str(asset / resolved["FAILOVER_CONFIG_FILE"])
    # When the function reads its settings
    settings = Settings.from_environment(resolved)
    # Then nothing is missing
    assert settings.failover.pairs[0].alarm_name == ALARM_NAME


def test_async_invocation_retries_twice_then_dead_letters(single_pair: Synthesized) -> None:
    # Given the stack
    function = single_pair.ref(single_pair.stack.failover.function)
    # When the function's asynchronous invocation config is read
    (config,) = [
        c["Properties"]
        for c in single_pair.of_type("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == function
    ]
    # Then two retries within an hour, and failures land in the dead-letter queue
    assert config == {
        "FunctionName": function,
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 3600,
        "DestinationConfig": {
            "OnFailure": {"Destination": single_pair.arn(single_pair.stack.dead_letters.queue)}
        },
    }


# --- least privilege -----------------------------------------------------------------------


def test_attach_and_detach_only_on_the_configured_instances_and_interfaces(
    single_pair: Synthesized,
) -> None:
    # Given the role's statements that move interfaces
    moves = statements_with(single_pair, "ec2:AttachNetworkInterface")
    moves += [
        s for s in statements_with(single_pair, "ec2:DetachNetworkInterface") if s not in moves
    ]
    # Then there is one, in the customer-managed policy attached to the role (its 6,144
    # characters a policy, not the 10,240 the role's inline policies share, hold the ARNs)
    assert len(moves) == 1
    (move,) = moves
    policy = single_pair.stack.failover.node.find_child("InterfaceMovePolicy1")
    assert single_pair.resources[single_pair.logical_id(policy)]["Type"] == MANAGED_POLICY
    assert single_pair.properties(policy)["Roles"] == [
        single_pair.ref(single_pair.stack.failover.role)
    ]
    assert policy_statements(single_pair, policy) == [move]
    assert statements_with(single_pair, "ec2:AttachNetworkInterface", INLINE_POLICY) == []
    assert statements_with(single_pair, "ec2:DetachNetworkInterface", INLINE_POLICY) == []
    # And when its resources are rendered, they name exactly the two instances and the two
    # interfaces, never "*"
    assert sorted(as_list(move["Action"])) == [
        "ec2:AttachNetworkInterface",
        "ec2:DetachNetworkInterface",
    ]
    assert sorted(render(r) for r in as_list(move["Resource"])) == sorted(
        [
            f"{ARN_PREFIX}:instance/{PRIMARY}",
            f"{ARN_PREFIX}:instance/{STANDBY}",
            f"{ARN_PREFIX}:network-interface/{INTERFACE}",
            f"{ARN_PREFIX}:network-interface/{SECOND_INTERFACE}",
        ]
    )
    assert "Condition" not in move


def test_describe_actions_on_star_and_nothing_else_unscoped(single_pair: Synthesized) -> None:
    # Given all the role's statements
    statements = role_statements(single_pair)
    # When those on "*" are collected
    unscoped = sorted(
        action
        for s in statements
        if "*" in as_list(s["Resource"])
        for action in as_list(s["Action"])
    )
    # Then only EC2 Describe (no resource-level permissions) and X-Ray tracing are on "*"
    assert unscoped == [
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
    # And no action of the role is a wildcard
    assert not [a for s in statements for a in as_list(s["Action"]) if "*" in a]


def test_every_ec2_action_granted_is_one_the_function_calls(single_pair: Synthesized) -> None:
    # Given the EC2 operations the function's code calls (botocore's method names in lambda/)
    model = botocore.session.get_session().get_service_model("ec2")
    operations = {xform_name(name): name for name in model.operation_names}
    source = "\n".join(path.read_text() for path in FUNCTION_PACKAGE.rglob("*.py"))
    called = {f"ec2:{operations[m]}" for m in re.findall(r"\.(\w+)\(", source) if m in operations}
    # When the role's EC2 actions are collected, from its inline and its managed policies
    granted = {
        action
        for s in role_statements(single_pair)
        for action in as_list(s["Action"])
        if action.startswith("ec2:")
    }
    managed = {
        action
        for s in role_statements(single_pair, MANAGED_POLICY)
        for action in as_list(s["Action"])
    }
    assert {"ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface"} <= managed
    # Then the role may do exactly what the code does for interfaces: nothing unused,
    # nothing missing (fencing only where a pair fences: tests/infra/test_fencing.py; the
    # lighter address kinds only where a pair lists one: tests/infra/test_address_kinds.py)
    lighter_kinds = {
        *ROUTE_ACTIONS,
        *ROUTE_READ_ACTIONS,
        *ELASTIC_IP_ACTIONS,
        *ELASTIC_IP_READ_ACTIONS,
        *PRIVATE_IP_ACTIONS,
    }
    assert granted == called - {*STOP_ACTIONS, *ISOLATE_ACTIONS} - lighter_kinds


def test_publish_only_outcomes_and_the_sweeps_hand_offs(single_pair: Synthesized) -> None:
    # Given the role's sns statements
    publishes = statements_with(single_pair, "sns:Publish")
    # When their resources are collected
    resources = [r for s in publishes for r in as_list(s["Resource"])]
    # Then the function can publish outcomes, and the sweep's triggers to the trigger topic
    # (one per pair it hands off), and to no other topic
    assert resources == [
        single_pair.ref(single_pair.stack.notifications.topic),
        single_pair.ref(single_pair.stack.triggers.topic),
    ]
    # And publishing is all it may do with SNS
    assert {
        a
        for s in role_statements(single_pair)
        for a in as_list(s["Action"])
        if a.startswith("sns:")
    } == {"sns:Publish"}


def test_state_table_access_is_limited_to_the_state_table(single_pair: Synthesized) -> None:
    # Given the role's DynamoDB statements
    dynamodb = [
        s
        for s in role_statements(single_pair)
        if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
    ]
    # Then they read and write the state table and nothing else
    actions = {a for s in dynamodb for a in as_list(s["Action"])}
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions
    assert {json.dumps(r) for s in dynamodb for r in as_list(s["Resource"])} <= {
        json.dumps(single_pair.arn(single_pair.stack.state.table)),
        json.dumps({"Ref": "AWS::NoValue"}),
    }


def test_dead_letter_send_and_key_use_are_scoped(single_pair: Synthesized) -> None:
    # Given the role's statements
    stack = single_pair.stack
    # Then it may send to the dead-letter queue only, and use the message key only
    assert [
        r for s in statements_with(single_pair, "sqs:SendMessage") for r in as_list(s["Resource"])
    ] == [single_pair.arn(stack.dead_letters.queue)]
    kms = [
        s
        for s in role_statements(single_pair)
        if any(a.startswith("kms:") for a in as_list(s["Action"]))
    ]
    assert [sorted(as_list(s["Action"])) for s in kms] == [["kms:Decrypt", "kms:GenerateDataKey"]]
    assert [s["Resource"] for s in kms] == [single_pair.arn(stack.key)]


# --- encryption and transport --------------------------------------------------------------


def rendered(value: Any) -> Any:
    """``render`` all the way down a policy condition."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in RENDERED:
        return render(value)
    if isinstance(value, dict):
        return {k: rendered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rendered(v) for v in value]
    return value


RENDERED = ("Fn::Join", "Ref", "Fn::GetAtt")
ACCOUNT_ARN = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:"


def key_statements_for(synth: Synthesized, service: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = synth.properties(synth.stack.key)["KeyPolicy"]["Statement"]
    return [s for s in statements if s["Principal"] == {"Service": service}]


def test_key_rotates(single_pair: Synthesized) -> None:
    assert single_pair.properties(single_pair.stack.key)["EnableKeyRotation"] is True


def test_key_lets_cloudwatch_encrypt_for_the_stacks_own_alarms_only(
    single_pair: Synthesized,
) -> None:
    # Given the key policy's statements for CloudWatch
    statements = key_statements_for(single_pair, "cloudwatch.amazonaws.com")
    # Then each allows what publishing to an encrypted topic needs, for this account's
    # alarms that may publish to the topic: the pairs' alarms, by the pattern the trigger
    # topic's policy uses (one condition for any number of pairs), and the dead-letter alarm
    pairs_alarms = f"{STACK}-*-primary-status"
    assert [(s["Action"], s["Resource"], rendered(s["Condition"])) for s in statements] == [
        (
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            "*",
            {
                "ArnLike": {"aws:SourceArn": [ACCOUNT_ARN % "cloudwatch" + "alarm:" + name]},
                "StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"},
            },
        )
        for name in (pairs_alarms, f"{STACK}-dead-letters")
    ]
    # And the pattern is the trigger topic's for CloudWatch, so an alarm that may publish
    # may also encrypt
    topic = single_pair.ref(single_pair.stack.triggers.topic)
    (publish,) = [
        s
        for s in _policy_of(single_pair, "AWS::SNS::TopicPolicy", "Topics", topic)
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert rendered(publish["Condition"]) == rendered(statements[0]["Condition"])
    # And it takes the pair's alarm and alarms named as this stack names its pairs' alarms,
    # not the stack's other alarms nor another stack's
    assert fnmatch.fnmatchcase(ALARM_NAME, pairs_alarms)
    assert fnmatch.fnmatchcase(f"{STACK}-db-1-primary-status", pairs_alarms)
    assert not fnmatch.fnmatchcase(f"{STACK}-dead-letters", pairs_alarms)
    assert not fnmatch.fnmatchcase("Other-web-primary-status", pairs_alarms)


def test_key_lets_eventbridge_encrypt_only_into_this_accounts_topics_and_queues(
    single_pair: Synthesized,
) -> None:
    # Given the key policy's statements for EventBridge
    statements = key_statements_for(single_pair, "events.amazonaws.com")
    # Then it may encrypt into this account's and region's topics (the rules' target) and
    # queues (their dead-letter queue), by the encryption context SNS and SQS set. Never
    # by aws:SourceArn or aws:SourceAccount: AWS does not support them in a key policy for
    # EventBridge-to-encrypted-topic delivery, and a condition the request does not carry
    # would drop every trigger without an error.
    assert [(s["Action"], s["Resource"], rendered(s["Condition"])) for s in statements] == [
        (
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            "*",
            {"ArnLike": {"kms:EncryptionContext:aws:sns:topicArn": ACCOUNT_ARN % "sns" + "*"}},
        ),
        (
            ["kms:Decrypt", "kms:GenerateDataKey*"],
            "*",
            {"ArnLike": {"kms:EncryptionContext:aws:sqs:arn": ACCOUNT_ARN % "sqs" + "*"}},
        ),
    ]
    assert not [s for s in statements for k in s["Condition"]["ArnLike"] if k.startswith("aws:")]


def test_topics_and_queue_are_encrypted_with_the_customer_key(single_pair: Synthesized) -> None:
    # Given the two topics and the dead-letter queue
    stack = single_pair.stack
    key = single_pair.arn(stack.key)
    # Then each uses the customer-managed key (never alias/aws/sns)
    assert single_pair.properties(stack.triggers.topic)["KmsMasterKeyId"] == key
    assert single_pair.properties(stack.notifications.topic)["KmsMasterKeyId"] == key
    assert single_pair.properties(stack.dead_letters.queue)["KmsMasterKeyId"] == key


def _policy_of(synth: Synthesized, resource_type: str, target_key: str, target: Any) -> list[Any]:
    """The statements of the one resource policy of ``target`` (a topic or queue)."""
    policy: list[Any]
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type(resource_type).values()
        if target in p["Properties"][target_key]
    ]
    return policy


def test_topics_and_queue_refuse_plain_http(single_pair: Synthesized) -> None:
    # Given the resource policies of both topics and the queue
    stack = single_pair.stack
    policies = [
        _policy_of(
            single_pair, "AWS::SNS::TopicPolicy", "Topics", single_pair.ref(stack.triggers.topic)
        ),
        _policy_of(
            single_pair,
            "AWS::SNS::TopicPolicy",
            "Topics",
            single_pair.ref(stack.notifications.topic),
        ),
        _policy_of(
            single_pair,
            "AWS::SQS::QueuePolicy",
            "Queues",
            single_pair.ref(stack.dead_letters.queue),
        ),
    ]
    # Then each denies requests that do not use TLS
    for statements in policies:
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_trigger_topic_accepts_eventbridge_for_the_state_rule_only(
    single_pair: Synthesized,
) -> None:
    # Given the trigger topic's policy
    topic = single_pair.ref(single_pair.stack.triggers.topic)
    statements = _policy_of(single_pair, "AWS::SNS::TopicPolicy", "Topics", topic)
    # When its statements for EventBridge are collected
    eventbridge = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    # Then EventBridge may publish for the state-change rule, by its ARN, and for
    # nothing else: a rule in another account cannot put events on the trigger topic
    rule = single_pair.stack.triggers.state_rule
    assert [{k: v for k, v in s.items() if k != "Sid"} for s in eventbridge] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {"ArnEquals": {"aws:SourceArn": single_pair.arn(rule)}},
        }
    ]


def test_every_rule_that_targets_the_trigger_topic_is_allowed_by_its_own_arn_only(
    single_pair: Synthesized,
) -> None:
    # Given the stack's rules whose targets include the trigger topic
    topic = single_pair.ref(single_pair.stack.triggers.topic)
    rules = [
        {"Fn::GetAtt": [logical_id, "Arn"]}
        for logical_id, rule in single_pair.of_type("AWS::Events::Rule").items()
        if any(t["Arn"] == topic for t in rule["Properties"].get("Targets", []))
    ]
    # When the topic policy's EventBridge statements are read
    statements = _policy_of(single_pair, "AWS::SNS::TopicPolicy", "Topics", topic)
    eventbridge = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    # Then each names exactly one such rule, and each such rule has one (a rule added with
    # aws_events_targets.SnsTopic instead of eni_failover_cdk.topics.TopicTarget fails here)
    assert rules
    assert sorted(json.dumps(s.get("Condition")) for s in eventbridge) == sorted(
        json.dumps({"ArnEquals": {"aws:SourceArn": rule}}) for rule in rules
    )


def test_trigger_topic_accepts_the_stacks_pair_alarms(single_pair: Synthesized) -> None:
    # Given the trigger topic's policy
    topic = single_pair.ref(single_pair.stack.triggers.topic)
    statements = _policy_of(single_pair, "AWS::SNS::TopicPolicy", "Topics", topic)
    # Then CloudWatch may publish for this account's alarms named as the stack names its
    # pairs' alarms (a pattern: 200 names would fill the policy), the pair's among them
    (cloudwatch,) = [
        s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    [pattern] = [render(a) for a in cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"]]
    assert pattern == (
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
        f"{STACK}-*-primary-status"
    )
    assert fnmatch.fnmatchcase(ALARM_NAME, pattern.rsplit(":", 1)[1])
    assert cloudwatch["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }


def test_dead_letter_queue_accepts_the_trigger_topic_and_keeps_messages_14_days(
    single_pair: Synthesized,
) -> None:
    # Given the dead-letter queue and its policy
    stack = single_pair.stack
    queue = single_pair.ref(stack.dead_letters.queue)
    statements = _policy_of(single_pair, "AWS::SQS::QueuePolicy", "Queues", queue)
    # Then SNS may send the trigger topic's undeliverable messages into it
    assert any(
        s["Effect"] == "Allow"
        and s["Principal"] == {"Service": "sns.amazonaws.com"}
        and s["Action"] == "sqs:SendMessage"
        and s["Condition"]
        == {"ArnEquals": {"aws:SourceArn": single_pair.ref(stack.triggers.topic)}}
        for s in statements
    )
    # And it keeps them for SQS's maximum
    assert single_pair.properties(stack.dead_letters.queue)["MessageRetentionPeriod"] == 14 * 86400


def test_a_message_in_the_dead_letter_queue_notifies_the_operators(
    single_pair: Synthesized,
) -> None:
    # Given the stack
    stack = single_pair.stack
    # When the alarm on the queue is looked up
    alarms = single_pair.template.find_resources(
        "AWS::CloudWatch::Alarm",
        {
            "Properties": {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [
                    {
                        "Name": "QueueName",
                        "Value": {
                            "Fn::GetAtt": [
                                single_pair.logical_id(stack.dead_letters.queue),
                                "QueueName",
                            ]
                        },
                    }
                ],
            }
        },
    )
    # Then the first message alarms on the notification topic, by a name its policy allows
    (alarm,) = alarms.values()
    assert alarm["Properties"]["Threshold"] == 1
    assert alarm["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Properties"]["AlarmActions"] == [single_pair.ref(stack.notifications.topic)]
    statements = _policy_of(
        single_pair, "AWS::SNS::TopicPolicy", "Topics", single_pair.ref(stack.notifications.topic)
    )
    (cloudwatch,) = [
        s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert [
        render(a).rsplit(":", 1)[-1] for a in cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"]
    ] == [alarm["Properties"]["AlarmName"]]


# --- state table ---------------------------------------------------------------------------


def test_state_table_shape(single_pair: Synthesized) -> None:
    # Given the state table
    properties = single_pair.properties(single_pair.stack.state.table)
    # Then it is keyed by the string "id", expires records by "expiration", and is protected
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    # (the history index's keys are strings too)
    assert sorted(properties["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": "history_at", "AttributeType": "S"},
        {"AttributeName": "history_pair", "AttributeType": "S"},
        {"AttributeName": "id", "AttributeType": "S"},
    ]
    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"]["SSEEnabled"] is True
    (replica,) = properties["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


# --- outputs -------------------------------------------------------------------------------


def test_outputs_for_the_operator_tool(single_pair: Synthesized) -> None:
    # Given the stack's outputs
    stack = single_pair.stack
    outputs = {name: o["Value"] for name, o in single_pair.template.to_json()["Outputs"].items()}
    # Then each names what an operator tool needs
    assert outputs["FunctionName"] == single_pair.ref(stack.failover.function)
    assert outputs["TriggerTopicArn"] == single_pair.ref(stack.triggers.topic)
    assert outputs["NotificationTopicArn"] == single_pair.ref(stack.notifications.topic)
    assert outputs["StateTableName"] == single_pair.ref(stack.state.table)
    assert outputs["DeadLetterQueueUrl"] == single_pair.ref(stack.dead_letters.queue)
    assert outputs["DeadLetterAlarmName"] == f"{STACK}-dead-letters"
    assert outputs["StateRuleName"] == RULE_NAME
    # And nothing per pair: CloudFormation allows 200 outputs, a stack holds 200 pairs, and
    # the function lists its pairs to the CLI ({"action": "pairs"})
    assert not [name for name in outputs if name.startswith("Pair")]
