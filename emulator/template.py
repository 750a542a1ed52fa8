"""Stand up, in the emulator, what the synthesized template says the function runs with.

Not a CloudFormation engine: it creates the few resources the function's environment
refers to (topics, queues, the state table) as the template defines them, resolves the
environment's Ref/GetAtt tokens to their emulated names, and finds the trigger topic the
function subscribes to. The demo thereby runs the function with the template's own
configuration, not with a second hand-written copy of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.deployment import ACCOUNT_ID, REGION, Clients

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


def deploy(template: dict[str, Any], clients: Clients) -> DeployedFunction:
    resources: dict[str, Any] = template.get("Resources", {})
    function_id, function = _failover_function(resources)
    physical: dict[str, str] = {"AWS::AccountId": ACCOUNT_ID, "AWS::Region": REGION}

    def create(logical_id: str) -> None:
        if logical_id in physical:
            return
        resource = resources.get(logical_id)
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
        elif kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            clients.dynamodb.create_table(
                TableName=logical_id,
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            )
            physical[logical_id] = logical_id
        else:
            raise TemplateError(f"{logical_id} is a {kind}; the emulator does not create those")

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Ref" in value:
            create(value["Ref"])
            return physical[value["Ref"]]
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            create(logical_id)
            key = f"{logical_id}.{attribute}"
            if key not in physical:
                raise TemplateError(f"cannot resolve GetAtt {key}")
            return physical[key]
        raise TemplateError(f"cannot resolve {json.dumps(value)} in the function environment")

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
    )


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
    resources: dict[str, Any], function_id: str, resolve: Any, clients: Clients
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
