"""EniFailover: everything one failover deployment needs, as a construct any CDK app adds to
its own stack (the way cdk-fck-nat is used), next to the instances it already defines.

    EniFailover(stack, "Failover", config={
        "primaryInstanceId": primary.instance_id,   # a CDK token: resolved at deploy time
        "standbyInstanceId": standby.instance_id,
        "eniId": interface.ref,
        "notifyEmail": "ops@example.com",
    })

``config`` takes exactly the context keys of the app (README, Configuration), validated the
same way, every problem reported at once (eni_failover_cdk.settings.read_settings).
The app (app.py) is one use of it: `EniFailoverStack` adds it with the ID "Default", which CDK
leaves out of logical IDs, so a stack deployed before the construct existed keeps every
resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnOutput, Stack, Token
from constructs import Construct

from eni_failover.contract import (
    OUTPUT_DEAD_LETTER_ALARM_NAME,
    OUTPUT_DEAD_LETTER_QUEUE_URL,
    OUTPUT_DETECTION_ALARM_NAME,
    OUTPUT_FUNCTION_NAME,
    OUTPUT_HISTORY_RETENTION_DAYS,
    OUTPUT_NOTIFICATION_TOPIC_ARN,
    OUTPUT_PROBER_FUNCTION_NAME,
    OUTPUT_READINESS_RULE_NAME,
    OUTPUT_STATE_RULE_NAME,
    OUTPUT_STATE_TABLE_NAME,
    OUTPUT_TRIGGER_TOPIC_ARN,
)
from eni_failover_cdk.alarm_triggers import AlarmTriggers
from eni_failover_cdk.dashboard import FailoverDashboard
from eni_failover_cdk.dead_letters import DeadLetters
from eni_failover_cdk.encryption import MessageKey
from eni_failover_cdk.failover_function import FailoverFunction
from eni_failover_cdk.fencing import Fencing
from eni_failover_cdk.limits import FitsServiceLimits
from eni_failover_cdk.notifications import OutcomeNotifications
from eni_failover_cdk.prober import Prober
from eni_failover_cdk.readiness_schedule import ReadinessSchedule
from eni_failover_cdk.settings import (
    KEY_STACK_NAME,
    DeploymentSettings,
    SettingsError,
    read_settings,
)
from eni_failover_cdk.state_table import StateTable
from eni_failover_cdk.sweep_schedule import SweepSchedule
from eni_failover_cdk.triggers import FailoverTriggers


def dead_letter_alarm_name(stack_name: str) -> str:
    return f"{stack_name}-dead-letters"


def detection_alarm_name(stack_name: str) -> str:
    return f"{stack_name}-detection-degraded"


def dashboard_name(stack_name: str) -> str:
    return f"{stack_name}-pairs"


def settings_for(stack: Stack, config: Mapping[str, Any]) -> DeploymentSettings:
    """``config`` read as the app reads its context, in ``stack``: the names the deployment
    derives (alarms, rules, the metrics namespace, the topic policies' patterns) are the
    enclosing stack's, so a ``stackName`` key may only repeat it."""
    problems: list[str] = []
    given = config.get(KEY_STACK_NAME)
    if given is not None and given != stack.stack_name:
        problems.append(
            f"{KEY_STACK_NAME}: {given!r}, but EniFailover is in the stack {stack.stack_name!r}; "
            "the alarm, rule and dashboard names derive from the enclosing stack's name, and "
            "the CLI finds the deployment by it (--stack): leave stackName out, or give the "
            "stack's own name"
        )
    effective = {**config, KEY_STACK_NAME: stack.stack_name}
    try:
        settings = read_settings(effective.get, keys=effective.keys())
    except SettingsError as error:
        raise SettingsError([*problems, *error.problems]) from error
    if problems:
        raise SettingsError(problems)
    return settings


class EniFailover(Construct):
    """One failover deployment in the enclosing stack: its functions, topics, alarms, rules,
    state table and dashboard, and the stack outputs the CLI finds them by.

    One per stack: the CLI finds a deployment by its stack's outputs (FunctionName,
    TriggerTopicArn, ...), which two of them could not both hold. List every pair in one
    ``config`` (its ``pairs`` key) instead, or put a second one in a stack of its own.
    The parts are public, for apps that wire more to them (``failover.function``,
    ``notifications.topic``, ...).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Mapping[str, Any] | None = None,
        settings: DeploymentSettings | None = None,
    ) -> None:
        """``config``: the app's context keys (README, Configuration); IDs of instances,
        interfaces, route tables, Elastic IP allocations, the VPC and subnets may be CDK
        tokens. ``settings``: the configuration already read (the app reads its context
        before it names its stack); give one or the other."""
        if (config is None) == (settings is None):
            raise TypeError("EniFailover takes config (the context keys) or settings, one")
        stack = Stack.of(scope)
        if Token.is_unresolved(stack.stack_name):
            raise ValueError(
                f"EniFailover in {stack.node.path}: the stack's name is not known at synth; "
                "the alarm and rule names derive from it, so add EniFailover to a stack with "
                "a literal name (not a nested stack)"
            )
        existing = [c for c in stack.node.find_all() if isinstance(c, EniFailover)]
        if existing:
            raise ValueError(
                f"EniFailover {construct_id!r}: the stack {stack.stack_name!r} already has one "
                f"({existing[0].node.path}). A stack holds one: the CLI finds a deployment by "
                "its stack's outputs (FunctionName, TriggerTopicArn, ...), which two could not "
                "both hold. List every pair in one config's 'pairs', or put the second in a "
                "stack of its own"
            )
        if settings is None:
            assert config is not None  # one of the two, checked above
            settings = settings_for(stack, config)
        elif settings.stack_name != stack.stack_name:
            raise ValueError(
                f"EniFailover: settings for the stack {settings.stack_name!r}, added to the "
                f"stack {stack.stack_name!r}; the names it derives must be the stack's own"
            )
        super().__init__(scope, construct_id)
        self.settings = settings
        self._build(settings, stack_name=stack.stack_name)

    def _build(self, settings: DeploymentSettings, *, stack_name: str) -> None:
        failover = settings.failover
        # A pattern or policy too long for EventBridge or IAM stops synth, not the deploy:
        # anywhere in the stack, as the deploy of any of them would fail.
        self.node.add_validation(FitsServiceLimits(Stack.of(self)))
        self.history_retention_days = settings.history_retention_days

        self.key = MessageKey(self, "MessageKey").key
        self.dead_letters = DeadLetters(self, "DeadLetters", key=self.key)
        self.notifications = OutcomeNotifications(
            self, "Notifications", key=self.key, emails=settings.notify_emails
        )
        self.triggers = FailoverTriggers(
            self,
            "Triggers",
            stack_name=stack_name,
            pairs=failover.pairs,
            evaluation_periods=settings.evaluation_periods,
            max_trigger_age_seconds=failover.tuning.max_trigger_age_seconds,
            key=self.key,
            dead_letter_queue=self.dead_letters.queue,
            discover_tags=failover.discover_tags,
        )
        # Named, not generated: the topic policy must name it without waiting for the alarm.
        self.dead_letter_alarm_name = dead_letter_alarm_name(stack_name)
        self.dead_letters.alarm_on_messages(
            alarm_name=self.dead_letter_alarm_name, topic=self.notifications.topic
        )
        self.state = StateTable(self, "State")
        # Before the function: the pairs that isolate carry the quarantine group's ID.
        self.fencing = Fencing(
            self, "Fencing", pairs=failover.pairs, vpc_id=settings.quarantine_vpc_id
        )
        self.failover = FailoverFunction(
            self,
            "Failover",
            failover=failover,
            quarantine_group_id=self.fencing.quarantine_group_id,
            timeout_seconds=settings.function_timeout_seconds,
            max_event_age_seconds=settings.max_event_age_seconds,
            reserved_concurrency=settings.reserved_concurrency,
            trigger_topic=self.triggers.topic,
            notification_topic=self.notifications.topic,
            dead_letter_queue=self.dead_letters.queue,
            state_table=self.state.table,
            key=self.key,
            metrics_namespace=settings.metrics_namespace,
            history_retention_days=settings.history_retention_days,
            private_ip_vpc_id=settings.private_ip_vpc_id,
        )
        # The first failover's fence must not race the policies.
        for fence_policy in self.fencing.allow(self.failover.role):
            self.failover.function.node.add_dependency(fence_policy)
        self.readiness = ReadinessSchedule(
            self,
            "Readiness",
            function=self.failover.function,
            schedule=settings.readiness_schedule,
            max_event_age_seconds=settings.max_event_age_seconds,
            dead_letter_queue=self.dead_letters.queue,
        )
        # Always, probed or not: it catches a missed EC2 state-change event.
        self.sweep = SweepSchedule(
            self,
            "Sweep",
            function=self.failover.function,
            dead_letter_queue=self.dead_letters.queue,
        )
        trigger_alarms = [name for pair in failover.pairs for name in pair.trigger_alarms]
        self.alarm_triggers: AlarmTriggers | None = None
        if trigger_alarms:
            self.alarm_triggers = AlarmTriggers(
                self,
                "AlarmTriggers",
                alarm_names=trigger_alarms,
                topic=self.triggers.topic,
                event_age=self.triggers.event_age,
                dead_letter_queue=self.dead_letters.queue,
            )
            # The first alarm trigger must not race the policies that let it be read.
            for read_policy in self.alarm_triggers.grant_read_state(self.failover.role):
                self.failover.function.node.add_dependency(read_policy)
        operator_alarms = [self.dead_letter_alarm_name]
        self.prober: Prober | None = None
        self.detection_alarm_name: str | None = None
        # With a probe quorum, one prober per subnet (a vantage each); the first keeps the
        # single prober's construct ID, so turning the quorum on adds functions, never
        # replaces the running one.
        self.probers: list[Prober] = []
        if settings.prober is not None:
            for index, vantage in enumerate(settings.prober.vantages or (None,)):
                self.probers.append(
                    Prober(
                        self,
                        "Prober" if index == 0 else f"Prober-{_construct_id_part(vantage, index)}",
                        failover=failover,
                        placement=settings.prober,
                        metrics_namespace=settings.metrics_namespace,
                        trigger_topic=self.triggers.topic,
                        failover_function=self.failover.function,
                        state_table=self.state.table,
                        key=self.key,
                        # An account that cannot spare the failover's reservation spares
                        # none here.
                        reserve_concurrency=settings.reserved_concurrency is not None,
                        vantage=vantage,
                    )
                )
            self.prober = self.probers[0]
            self.detection_alarm_name = detection_alarm_name(stack_name)
            self.prober.alarm_on_silence(
                alarm_name=self.detection_alarm_name, topic=self.notifications.topic
            )
            operator_alarms.append(self.detection_alarm_name)
        self.dashboard = FailoverDashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name(stack_name),
            namespace=settings.metrics_namespace,
            dead_letter_queue=self.dead_letters.queue,
        )
        # One statement for every alarm that notifies the operators.
        self.notifications.accept_alarms(*operator_alarms)
        self.outputs = self._add_outputs()

    def _add_outputs(self) -> dict[str, CfnOutput]:
        """Stack-wide names only: CloudFormation allows 200 outputs, and the pairs are
        the function's to tell (`{"action": "pairs"}`), configured and discovered alike.

        Each output's logical ID is its key, wherever the construct sits: the CLI finds the
        deployment by these keys (eni_failover.contract)."""
        values = {
            OUTPUT_FUNCTION_NAME: self.failover.function.function_name,
            OUTPUT_TRIGGER_TOPIC_ARN: self.triggers.topic.topic_arn,
            OUTPUT_NOTIFICATION_TOPIC_ARN: self.notifications.topic.topic_arn,
            OUTPUT_STATE_TABLE_NAME: self.state.table.table_name,
            OUTPUT_DEAD_LETTER_QUEUE_URL: self.dead_letters.queue.queue_url,
            OUTPUT_DEAD_LETTER_ALARM_NAME: self.dead_letter_alarm_name,
            OUTPUT_READINESS_RULE_NAME: self.readiness.rule.rule_name,
            OUTPUT_STATE_RULE_NAME: self.triggers.state_rule_name,
            OUTPUT_HISTORY_RETENTION_DAYS: str(self.history_retention_days),
        }
        if self.prober is not None and self.detection_alarm_name is not None:
            values[OUTPUT_PROBER_FUNCTION_NAME] = self.prober.function.function_name
            values[OUTPUT_DETECTION_ALARM_NAME] = self.detection_alarm_name
        outputs = {}
        for key, value in values.items():
            output = CfnOutput(self, key, value=value)
            output.override_logical_id(key)
            outputs[key] = output
        return outputs


def _construct_id_part(vantage: str | None, index: int) -> str:
    """A vantage's subnet ID names its prober; a token cannot be part of a construct ID,
    so a subnet given as a token is numbered instead."""
    if vantage is None or Token.is_unresolved(vantage):
        return str(index)
    return vantage
