"""Stand up, in the emulator, what the synthesized template says the function runs with.

Not a CloudFormation engine: it creates the few resources the function's environment
refers to (topics, queues, the state table) as the template defines them, resolves the
environment's Ref/GetAtt tokens to their emulated names, and finds the trigger topic the
function subscribes to. The demo thereby runs the function with the template's own
configuration, not with a second hand-written copy of it.

Given CloudWatch and EventBridge clients, it also creates the template's alarms (their
actions resolved to the emulated topics) and rules, and resolves the stack's Outputs: what
the operator CLI reads from `describe-stacks`. moto's own CloudFormation skips alarms
(AWS-FACTS), which is why this creates them itself. The function is not created (moto runs
functions only in Docker); its name and ARN resolve so that Outputs and targets can say it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.deployment import ACCOUNT_ID, REGION
from eni_failover.clients import AwsClients

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_events import EventBridgeClient

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HANDLER = "eni_failover.handler.lambda_handler"


class TemplateError(RuntimeError):
    """The template lacks something the failover needs, or uses a token we cannot resolve."""


def synthesize(context: dict[str, Any], outdir: Path) -> dict[str, Any]:
    """Run the CDK app (as `cdk synth` does) with this context; return the stack template."""
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    completed = subprocess.run(  # noqa: S603 - our own app, run with this interpreter
        [sys.executable, str(PROJECT_ROOT / "app.py")],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise TemplateError(f"synth failed:\n{completed.stderr or completed.stdout}")
    templates = sorted(outdir.glob("*.template.json"))
    if len(templates) != 1:
        raise TemplateError(f"expected one stack template in {outdir}, found {len(templates)}")
    loaded: dict[str, Any] = json.loads(templates[0].read_text())
    return loaded


@dataclass
class DeployedFunction:
    """The failover function as the template defines it, with its resources emulated."""

    environment: dict[str, str]
    timeout_seconds: int
    trigger_topic_arn: str
    trigger_subscription_arn: str
    trigger_delivery_queue_url: str  # what SNS would deliver to the function lands here
    notification_topic_arn: str
    inbox_queue_url: str  # an SQS subscription on the notification topic: the "inbox"
    dead_letter_queue_url: str
    email_endpoints: list[str]
    function_name: str = ""
    # Filled when deploy() is given the CloudWatch and EventBridge clients.
    alarm_names: list[str] = field(default_factory=list)
    rule_names: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)


# CloudFormation's AWS::CloudWatch::Alarm properties are PutMetricAlarm's parameters.
ALARM_PARAMETERS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)
RULE_PARAMETERS = ("Description", "EventPattern", "ScheduleExpression", "State")
TARGET_PARAMETERS = (
    "Id",
    "Arn",
    "Input",
    "InputPath",
    "RoleArn",
    "DeadLetterConfig",
    "RetryPolicy",
)


def deploy(
    template: dict[str, Any],
    clients: AwsClients,
    *,
    cloudwatch: CloudWatchClient | None = None,
    events: EventBridgeClient | None = None,
) -> DeployedFunction:
    resources: dict[str, Any] = template.get("Resources", {})
    function_id, function = _failover_function(resources)
    stack = _EmulatedStack(resources, clients, cloudwatch=cloudwatch, events=events)
    resolve = stack.resolve

    variables = function["Properties"].get("Environment", {}).get("Variables", {})
    environment = {name: resolve(value) for name, value in variables.items()}

    subscription_arn, trigger_topic, delivery_queue = _trigger_subscription(
        resources, function_id, resolve, clients
    )
    emails = [
        props["Endpoint"]
        for props in _properties(resources, "AWS::SNS::Subscription")
        if props.get("Protocol") == "email"
    ]
    notification_topic = environment.get("NOTIFICATION_TOPIC_ARN", "")
    for email in emails:
        clients.sns.subscribe(TopicArn=notification_topic, Protocol="email", Endpoint=email)
    # moto sends no email; an SQS subscription receives exactly what the inboxes would.
    inbox_url = clients.sqs.create_queue(QueueName="NotificationInbox")["QueueUrl"]
    inbox_arn = clients.sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    clients.sns.subscribe(TopicArn=notification_topic, Protocol="sqs", Endpoint=inbox_arn)

    alarm_names: list[str] = []
    rule_names: list[str] = []
    outputs: dict[str, str] = {}
    if cloudwatch is not None and events is not None:
        alarm_names = [stack.create(i) for i, r in resources.items() if r["Type"] == ALARM]
        rule_names = [stack.create(i) for i, r in resources.items() if r["Type"] == RULE]
        outputs = {
            key: resolve(output["Value"]) for key, output in template.get("Outputs", {}).items()
        }
    return DeployedFunction(
        environment=environment,
        timeout_seconds=int(function["Properties"].get("Timeout", 3)),
        trigger_topic_arn=trigger_topic,
        trigger_subscription_arn=subscription_arn,
        trigger_delivery_queue_url=delivery_queue,
        notification_topic_arn=notification_topic,
        inbox_queue_url=inbox_url,
        dead_letter_queue_url=environment.get("DEAD_LETTER_QUEUE_URL", ""),
        email_endpoints=emails,
        function_name=stack.create(function_id),
        alarm_names=alarm_names,
        rule_names=rule_names,
        outputs=outputs,
    )


ALARM = "AWS::CloudWatch::Alarm"
RULE = "AWS::Events::Rule"


class _EmulatedStack:
    """Creates a template's resources on first reference and names them (Ref, GetAtt)."""

    def __init__(
        self,
        resources: dict[str, Any],
        clients: AwsClients,
        *,
        cloudwatch: CloudWatchClient | None,
        events: EventBridgeClient | None,
    ) -> None:
        self.resources = resources
        self.clients = clients
        self.cloudwatch = cloudwatch
        self.events = events
        self.physical: dict[str, str] = {"AWS::AccountId": ACCOUNT_ID, "AWS::Region": REGION}

    def create(self, logical_id: str) -> str:
        """Create the resource unless it exists; return its physical name (its Ref)."""
        physical, clients = self.physical, self.clients
        if logical_id in physical:
            return physical[logical_id]
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"Ref to {logical_id}, which is not in the template")
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::SNS::Topic":
            physical[logical_id] = clients.sns.create_topic(Name=logical_id)["TopicArn"]
        elif kind == "AWS::SQS::Queue":
            url = clients.sqs.create_queue(QueueName=logical_id)["QueueUrl"]
            physical[logical_id] = url
            physical[f"{logical_id}.Arn"] = clients.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            physical[f"{logical_id}.QueueName"] = logical_id
        elif kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            clients.dynamodb.create_table(
                TableName=logical_id,
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            )
            physical[logical_id] = logical_id
        elif kind == "AWS::Lambda::Function":
            # Named only: moto runs functions in Docker; the real handler runs in-process.
            physical[logical_id] = logical_id
            physical[f"{logical_id}.Arn"] = (
                f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{logical_id}"
            )
        elif kind == ALARM and self.cloudwatch is not None:
            self._create_alarm(self.cloudwatch, logical_id, props)
        elif kind == RULE and self.events is not None:
            self._create_rule(self.events, logical_id, props)
        else:
            raise TemplateError(f"{logical_id} is a {kind}; the emulator does not create those")
        return physical[logical_id]

    def _create_alarm(
        self, cloudwatch: CloudWatchClient, logical_id: str, props: dict[str, Any]
    ) -> None:
        name = props.get("AlarmName", logical_id)
        parameters = {k: self.resolve_all(props[k]) for k in ALARM_PARAMETERS if k in props}
        cloudwatch.put_metric_alarm(**{**parameters, "AlarmName": name})
        self.physical[logical_id] = name
        self.physical[f"{logical_id}.Arn"] = (
            f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{name}"
        )

    def _create_rule(
        self, events: EventBridgeClient, logical_id: str, props: dict[str, Any]
    ) -> None:
        name = props.get("Name", logical_id)
        rule = {k: self.resolve_all(props[k]) for k in RULE_PARAMETERS if k in props}
        if "EventPattern" in rule:
            rule["EventPattern"] = json.dumps(rule["EventPattern"])
        self.physical[logical_id] = name
        self.physical[f"{logical_id}.Arn"] = events.put_rule(Name=name, **rule)["RuleArn"]
        targets: list[Any] = [
            {k: self.resolve_all(t[k]) for k in TARGET_PARAMETERS if k in t}
            for t in props.get("Targets", [])
        ]
        if targets:
            events.put_targets(Rule=name, Targets=targets)

    def resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Ref" in value:
            return self.create(value["Ref"])
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            self.create(logical_id)
            key = f"{logical_id}.{attribute}"
            if key not in self.physical:
                raise TemplateError(f"cannot resolve GetAtt {key}")
            return self.physical[key]
        raise TemplateError(f"cannot resolve {json.dumps(value)} in the function environment")

    def resolve_all(self, value: Any) -> Any:
        """Every Ref/GetAtt inside a property value, lists and objects included."""
        if isinstance(value, dict) and ("Ref" in value or "Fn::GetAtt" in value):
            return self.resolve(value)
        if isinstance(value, dict):
            return {k: self.resolve_all(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve_all(v) for v in value]
        return value


def _failover_function(resources: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    functions = [
        (logical_id, resource)
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource.get("Properties", {}).get("Handler") == HANDLER
    ]
    if len(functions) != 1:
        raise TemplateError(f"expected one function with handler {HANDLER}, found {len(functions)}")
    return functions[0]


def _properties(resources: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r.get("Properties", {}) for r in resources.values() if r["Type"] == kind]


def _trigger_subscription(
    resources: dict[str, Any], function_id: str, resolve: Any, clients: AwsClients
) -> tuple[str, str, str]:
    """The topic the function is subscribed to; subscribed here through SQS instead.

    moto cannot invoke Lambda without Docker, so the emulated subscription is a queue:
    what SNS would have delivered to the function is read from it and handed over as the
    SNS event Lambda builds.
    """
    for props in _properties(resources, "AWS::SNS::Subscription"):
        endpoint = props.get("Endpoint", {})
        if (
            props.get("Protocol") == "lambda"
            and endpoint.get("Fn::GetAtt", [None])[0] == function_id
        ):
            topic_arn: str = resolve(props["TopicArn"])
            queue_url = clients.sqs.create_queue(QueueName="TriggerDeliveries")["QueueUrl"]
            queue_arn = clients.sqs.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            subscription = clients.sns.subscribe(
                TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn
            )
            return subscription["SubscriptionArn"], topic_arn, queue_url
    raise TemplateError("the function is not subscribed to any topic in the template")
