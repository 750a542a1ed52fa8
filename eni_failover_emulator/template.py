"""Stand up, in the emulator, what the synthesized template says the function runs with.

Not a CloudFormation engine: it creates the template's topics, queues and tables as the
template defines them (a table's keys and time-to-live attribute, a queue's retention),
subscribes to each topic what the template subscribes, resolves the function's environment
(its Ref/GetAtt tokens) to the emulated names, and finds the trigger topic the function
subscribes to. Tests, benchmarks, the demo and the sandbox thereby run the function on the
stack's own resource definitions, not on a second hand-written copy of them.

Given CloudWatch and EventBridge clients, it also creates the template's alarms (their
actions resolved to the emulated topics) and rules, and resolves the stack's Outputs: what
the operator CLI reads from `describe-stacks`. moto's own CloudFormation skips alarms
(AWS-FACTS), which is why this creates them itself. The function is not created (moto runs
functions only in Docker); its name and ARN resolve so that Outputs and targets can say it.

When a pair is probed, the template has a second function, the prober: its environment is
resolved the same way (DeployedProber) for the emulator's prober to run it in this process. Its
network is not emulated: the security group, the function's VpcConfig and any interface
endpoints (probeEndpoints) are left out, since the prober here reaches the pair's listeners
on the loopback and every AWS service at the one emulated endpoint.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eni_failover.clients import AwsClients
from eni_failover.config import (
    CONFIG_FILE_NAME,
    ENV_CONFIG_FILE,
    ENV_DEAD_LETTER_QUEUE_URL,
    ENV_NOTIFICATION_TOPIC_ARN,
    ENV_STATE_TABLE_NAME,
    FailoverConfig,
    read_config_file,
)
from eni_failover.contract import FUNCTION_HANDLER, PROBER_HANDLER
from eni_failover_emulator.endpoint import ACCOUNT_ID, REGION

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_events import EventBridgeClient

# The CDK app, run as a module (eni_failover_cdk.app): a checkout's app.py is one call of it.
APP_PACKAGE = "eni_failover_cdk"
APP_MODULE = f"{APP_PACKAGE}.app"
# Where the emulator keeps each packaged pair configuration, by content, as Lambda keeps a
# function's package: it outlives the synth's output directory, and a sandbox's function
# in another process reads it by the same path.
PACKAGES = Path(tempfile.gettempdir()) / "eni-failover-packages"
# CDK's record, on a function, of the directory its code asset was staged from.
ASSET_PATH = "aws:asset:path"
# boto3's per-service endpoint variables, which probeEndpoints sets to the VPC endpoints'
# DNS names; the emulator's single endpoint serves every service instead.
SERVICE_ENDPOINT_VARIABLE_PREFIX = "AWS_ENDPOINT_URL_"


class TemplateError(RuntimeError):
    """The template lacks something the failover needs, or uses a token we cannot resolve."""


def pair_context(
    *,
    primary_instance_id: str,
    standby_instance_id: str,
    interface_id: str,
    notify_email: str,
    pair_name: str | None = None,
    stack_name: str | None = None,
) -> dict[str, str]:
    """The CDK context for one pair, as an operator passes it with `-c` (the stack's settings)."""
    context = {
        "primaryInstanceId": primary_instance_id,
        "standbyInstanceId": standby_instance_id,
        "eniId": interface_id,
        "notifyEmail": notify_email,
    }
    if pair_name is not None:
        context["pairName"] = pair_name
    if stack_name is not None:
        context["stackName"] = stack_name
    return context


def probe_context(
    *,
    probe: str,
    vpc_id: str,
    subnet_ids: tuple[str, ...],
    interval_seconds: float | None = None,
    timeout_seconds: float | None = None,
    failures: int | None = None,
    confirm_seconds: float | None = None,
) -> dict[str, Any]:
    """The CDK context that probes the pair (its other keys keep the stack's defaults)."""
    context: dict[str, Any] = {
        "probe": probe,
        "vpcId": vpc_id,
        "probeSubnetIds": ",".join(subnet_ids),
    }
    tuning = {
        "probeIntervalSeconds": interval_seconds,
        "probeTimeoutSeconds": timeout_seconds,
        "probeFailures": failures,
        "probeConfirmSeconds": confirm_seconds,
    }
    context |= {key: value for key, value in tuning.items() if value is not None}
    return context


def synthesize(context: dict[str, Any], outdir: Path) -> dict[str, Any]:
    """Run the CDK app (as `cdk synth` does) with this context; return the stack template.

    The app is the installed package's (`python -m eni_failover_cdk.app`), run in `outdir`:
    an installed wheel synthesizes as a checkout does, and the current directory need not
    be one.
    """
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        # The app this interpreter imports, wherever that is (a checkout, site-packages).
        "PYTHONPATH": os.pathsep.join(
            [str(_app_location()), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    outdir.mkdir(parents=True, exist_ok=True)  # also the app's working directory
    completed = subprocess.run(  # noqa: S603 - our own app, run with this interpreter
        [sys.executable, "-m", APP_MODULE],
        cwd=outdir,
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
    _keep_packaged_config(loaded, outdir)
    return loaded


def _app_location() -> Path:
    """The directory that holds the app's package, as this interpreter finds it."""
    spec = importlib.util.find_spec(APP_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TemplateError(
            f"the CDK app ({APP_PACKAGE}) is not installed with this package: reinstall "
            "eni-failover"
        )
    return Path(next(iter(spec.submodule_search_locations))).parent


def _keep_packaged_config(template: dict[str, Any], outdir: Path) -> None:
    """Keep what each function's asset packages beside the code (the pairs file) past the
    output directory's life: the asset path then names the kept copy, absolute, as CDK
    names an asset staged outside its output directory."""
    for resource in template.get("Resources", {}).values():
        if resource["Type"] != FUNCTION:
            continue
        packaged = (asset_directory(resource, outdir) / CONFIG_FILE_NAME).read_bytes()
        kept = PACKAGES / hashlib.sha256(packaged).hexdigest()[:32]
        kept.mkdir(parents=True, exist_ok=True)
        (kept / CONFIG_FILE_NAME).write_bytes(packaged)
        resource.setdefault("Metadata", {})[ASSET_PATH] = str(kept)


def asset_directory(function: dict[str, Any], outdir: Path) -> Path:
    """Where the cloud assembly staged a function's code: CDK names the directory after
    the asset's hash, which is also the S3 key the template deploys it from."""
    key = str(function["Properties"]["Code"]["S3Key"])
    return outdir / f"asset.{key.removesuffix('.zip')}"


def packaged_config(template: dict[str, Any]) -> FailoverConfig:
    """The pairs the failover function's asset packages (a template from `synthesize`)."""
    _, function = _failover_function(template.get("Resources", {}))
    environment = _function_environment(function, lambda value: value)
    return read_config_file(environment[ENV_CONFIG_FILE])


def _function_environment(resource: dict[str, Any], resolve: Any) -> dict[str, str]:
    """The function's environment, resolved; its pairs file found in its kept asset."""
    variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
    environment = {name: resolve(value) for name, value in variables.items()}
    asset = resource.get("Metadata", {}).get(ASSET_PATH)
    if ENV_CONFIG_FILE in environment:
        if not asset or not Path(asset).is_absolute():
            raise TemplateError(
                f"the function reads {ENV_CONFIG_FILE} from its code asset, and the template "
                "does not say where that is; synthesize it with the emulator's template.synthesize"
            )
        environment[ENV_CONFIG_FILE] = str(Path(asset) / environment[ENV_CONFIG_FILE])
    return environment


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
    state_table_name: str
    email_endpoints: list[str]
    function_name: str = ""
    # Filled when deploy() is given the CloudWatch and EventBridge clients.
    alarm_names: list[str] = field(default_factory=list)
    rule_names: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    # The prober, when the template has one (a pair is probed).
    prober: DeployedProber | None = None
    # The event patterns of the rules that publish to the trigger topic: what EventBridge
    # forwards to the function (eni_failover_emulator.events.forwarded).
    trigger_patterns: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DeployedProber:
    """The prober function as the template defines it: what eni_failover_emulator.prober runs."""

    function_name: str
    environment: dict[str, str]
    timeout_seconds: int


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
    prefix: str = "",
    cloudwatch: CloudWatchClient | None = None,
    events: EventBridgeClient | None = None,
) -> DeployedFunction:
    """Create the template's resources in the emulator; return the function as deployed.

    Every physical name starts with `prefix` (when given), so that one account can hold
    several deployments of a template.
    """
    resources: dict[str, Any] = template.get("Resources", {})
    function_id, function = _failover_function(resources)
    stack = _EmulatedStack(resources, clients, prefix=prefix, cloudwatch=cloudwatch, events=events)
    resolve = stack.resolve
    # All of them, not only those the function names: what the stack creates exists here.
    for logical_id, resource in resources.items():
        if resource["Type"] in (TOPIC, QUEUE, *TABLES):
            stack.create(logical_id)

    environment = _function_environment(function, resolve)

    trigger: tuple[str, str, str] | None = None
    trigger_topic_ref: Any = None
    emails: list[str] = []
    for props in _properties(resources, SUBSCRIPTION):
        endpoint = props.get("Endpoint")
        if props.get("Protocol") == "lambda":
            if isinstance(endpoint, dict) and endpoint.get("Fn::GetAtt", [None])[0] == function_id:
                trigger = stack.subscribe_function(props)
                trigger_topic_ref = props.get("TopicArn")
            continue  # moto runs no function; the failover's own subscription is emulated
        stack.subscribe(props)
        if props.get("Protocol") == "email":
            emails.append(resolve(endpoint))
    if trigger is None:
        raise TemplateError("the function is not subscribed to any topic in the template")
    subscription_arn, trigger_topic, delivery_queue = trigger

    notification_topic = environment.get(ENV_NOTIFICATION_TOPIC_ARN, "")
    # moto sends no email; an SQS subscription receives exactly what the inboxes would.
    inbox_url, inbox_arn = stack.queue("NotificationInbox")
    clients.sns.subscribe(TopicArn=notification_topic, Protocol="sqs", Endpoint=inbox_arn)

    prober = _prober(resources, stack)
    trigger_patterns = [
        stack.resolve_all(props["EventPattern"])
        for props in _properties(resources, RULE)
        if "EventPattern" in props
        and any(target.get("Arn") == trigger_topic_ref for target in props.get("Targets", []))
    ]

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
        dead_letter_queue_url=environment.get(ENV_DEAD_LETTER_QUEUE_URL, ""),
        state_table_name=environment.get(ENV_STATE_TABLE_NAME, ""),
        email_endpoints=emails,
        function_name=stack.create(function_id),
        alarm_names=alarm_names,
        rule_names=rule_names,
        outputs=outputs,
        prober=prober,
        trigger_patterns=trigger_patterns,
    )


def _prober(resources: dict[str, Any], stack: _EmulatedStack) -> DeployedProber | None:
    found = [
        (logical_id, resource.get("Properties", {}))
        for logical_id, resource in resources.items()
        if resource["Type"] == FUNCTION
        and resource.get("Properties", {}).get("Handler") == PROBER_HANDLER
    ]
    if not found:
        return None
    if len(found) > 1:
        raise TemplateError(f"expected at most one prober ({PROBER_HANDLER}), found {len(found)}")
    [(logical_id, props)] = found
    environment = _function_environment(resources[logical_id], stack.resolve)
    return DeployedProber(
        function_name=stack.create(logical_id),
        environment={
            name: value
            for name, value in environment.items()
            if not name.startswith(SERVICE_ENDPOINT_VARIABLE_PREFIX)
        },
        timeout_seconds=int(props.get("Timeout", 3)),
    )


ALARM = "AWS::CloudWatch::Alarm"
FUNCTION = "AWS::Lambda::Function"
RULE = "AWS::Events::Rule"
TOPIC = "AWS::SNS::Topic"
QUEUE = "AWS::SQS::Queue"
SUBSCRIPTION = "AWS::SNS::Subscription"
TABLES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
# CloudFormation's properties that are SQS queue attributes of the same name. A queue's
# KmsMasterKeyId is left out: the emulator has no keys, and nothing here reads encryption.
QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
)
SUBSCRIPTION_ATTRIBUTES = (
    "RedrivePolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
)


class _EmulatedStack:
    """Creates a template's resources on first reference and names them (Ref, GetAtt)."""

    def __init__(
        self,
        resources: dict[str, Any],
        clients: AwsClients,
        *,
        prefix: str,
        cloudwatch: CloudWatchClient | None,
        events: EventBridgeClient | None,
    ) -> None:
        self.resources = resources
        self.clients = clients
        self.prefix = prefix
        self.cloudwatch = cloudwatch
        self.events = events
        self.physical: dict[str, str] = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
        }

    def create(self, logical_id: str) -> str:
        """Create the resource unless it exists; return its physical name (its Ref)."""
        physical, clients = self.physical, self.clients
        if logical_id in physical:
            return physical[logical_id]
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"Ref to {logical_id}, which is not in the template")
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == TOPIC:
            physical[logical_id] = clients.sns.create_topic(
                Name=self.name(props.get("TopicName", logical_id)),
                Attributes={"DisplayName": props["DisplayName"]} if "DisplayName" in props else {},
            )["TopicArn"]
        elif kind == QUEUE:
            name = self.name(props.get("QueueName", logical_id))
            url, arn = self.queue(name, props)
            physical.update({logical_id: url, f"{logical_id}.Arn": arn})
            physical[f"{logical_id}.QueueName"] = name
        elif kind in TABLES:
            physical[logical_id] = self._create_table(props.get("TableName", logical_id), props)
        elif kind == "AWS::Lambda::Function":
            # Named only: moto runs functions in Docker; the real handler runs in-process.
            physical[logical_id] = name = self.name(logical_id)
            physical[f"{logical_id}.Arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        elif kind == ALARM and self.cloudwatch is not None:
            self._create_alarm(self.cloudwatch, logical_id, props)
        elif kind == RULE and self.events is not None:
            self._create_rule(self.events, logical_id, props)
        else:
            raise TemplateError(f"{logical_id} is a {kind}; the emulator does not create those")
        return physical[logical_id]

    def name(self, name: str) -> str:
        """The physical name of what the template calls `name`."""
        return f"{self.prefix}-{name}" if self.prefix else name

    def attributes(self, props: dict[str, Any], names: tuple[str, ...]) -> dict[Any, str]:
        """The properties that are attributes of the same name, as the API takes them (the
        keys are the API's attribute names, which boto3's stubs type as literals)."""
        return {
            name: value if isinstance(value, str) else json.dumps(self.resolve_all(value))
            for name, value in props.items()
            if name in names
        }

    def queue(self, name: str, props: dict[str, Any] | None = None) -> tuple[str, str]:
        """Create a queue with the template's attributes; return its URL and ARN."""
        attributes = self.attributes(props or {}, QUEUE_ATTRIBUTES)
        url = self.clients.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        return url, arn

    def _create_table(self, name: str, props: dict[str, Any]) -> str:
        """The table with the template's keys, indexes and time-to-live attribute."""
        table = self.name(name)
        # Only what CreateTable takes of each index (a GlobalTable's index has more).
        indexes = [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in props.get("GlobalSecondaryIndexes", [])
        ]
        self.clients.dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),  # type: ignore[arg-type]
        )
        ttl = props.get("TimeToLiveSpecification", {})
        if ttl.get("Enabled"):
            self.clients.dynamodb.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        return table

    def subscribe(self, props: dict[str, Any]) -> str:
        """Subscribe as the template's AWS::SNS::Subscription does; return the ARN."""
        subscribed = self.clients.sns.subscribe(
            TopicArn=self.resolve(props["TopicArn"]),
            Protocol=props["Protocol"],
            Endpoint=self.resolve(props["Endpoint"]),
            Attributes=self.attributes(props, SUBSCRIPTION_ATTRIBUTES),
            ReturnSubscriptionArn=True,
        )
        return subscribed["SubscriptionArn"]

    def subscribe_function(self, props: dict[str, Any]) -> tuple[str, str, str]:
        """The function's own subscription, through a queue: its ARN, topic and queue URL.

        moto cannot invoke Lambda without Docker, so what SNS would have delivered to the
        function is read from the queue and handed over as the SNS event Lambda builds.
        """
        url, arn = self.queue(self.name("TriggerDeliveries"))
        subscription = self.subscribe({**props, "Protocol": "sqs", "Endpoint": arn})
        return subscription, self.resolve(props["TopicArn"]), url

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
        raise TemplateError(f"cannot resolve {json.dumps(value)}")

    def resolve_all(self, value: Any) -> Any:
        """Every Ref/GetAtt inside a property value, lists and objects included."""
        if isinstance(value, dict) and ("Ref" in value or "Fn::GetAtt" in value):
            return self.resolve(value)
        if isinstance(value, dict) and list(value) == ["Fn::Join"]:  # an ARN the stack formats
            separator, parts = value["Fn::Join"]
            return separator.join(str(self.resolve_all(part)) for part in parts)
        if isinstance(value, dict):
            return {k: self.resolve_all(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve_all(v) for v in value]
        return value


def _failover_function(resources: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    functions = [
        (logical_id, resource)
        for logical_id, resource in resources.items()
        if resource["Type"] == FUNCTION
        and resource.get("Properties", {}).get("Handler") == FUNCTION_HANDLER
    ]
    if len(functions) != 1:
        raise TemplateError(
            f"expected one function with handler {FUNCTION_HANDLER}, found {len(functions)}"
        )
    return functions[0]


def _properties(resources: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r.get("Properties", {}) for r in resources.values() if r["Type"] == kind]
