"""The ENI Failover stack: composes the constructs, wires their grants, names the outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
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
from eni_failover_cdk.settings import DeploymentSettings
from eni_failover_cdk.state_table import StateTable
from eni_failover_cdk.sweep_schedule import SweepSchedule
from eni_failover_cdk.triggers import FailoverTriggers


def dead_letter_alarm_name(stack_name: str) -> str:
    return f"{stack_name}-dead-letters"


def detection_alarm_name(stack_name: str) -> str:
    return f"{stack_name}-detection-degraded"


def dashboard_name(stack_name: str) -> str:
    return f"{stack_name}-pairs"


class EniFailoverStack(Stack):
    """Everything one failover deployment needs; the constructs are public for tests."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, stack_name=settings.stack_name, **kwargs)
        failover = settings.failover
        # A pattern or policy too long for EventBridge or IAM stops synth, not the deploy.
        self.node.add_validation(FitsServiceLimits(self))
        self.history_retention_days = settings.history_retention_days

        self.key = MessageKey(self, "MessageKey").key
        self.dead_letters = DeadLetters(self, "DeadLetters", key=self.key)
        self.notifications = OutcomeNotifications(
            self, "Notifications", key=self.key, emails=settings.notify_emails
        )
        self.triggers = FailoverTriggers(
            self,
            "Triggers",
            stack_name=self.stack_name,
            pairs=failover.pairs,
            evaluation_periods=settings.evaluation_periods,
            max_trigger_age_seconds=failover.tuning.max_trigger_age_seconds,
            key=self.key,
            dead_letter_queue=self.dead_letters.queue,
            discover_tags=failover.discover_tags,
        )
        # Named, not generated: the topic policy must name it without waiting for the alarm.
        self.dead_letter_alarm_name = dead_letter_alarm_name(self.stack_name)
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
                        "Prober" if index == 0 else f"Prober-{vantage}",
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
            self.detection_alarm_name = detection_alarm_name(self.stack_name)
            self.prober.alarm_on_silence(
                alarm_name=self.detection_alarm_name, topic=self.notifications.topic
            )
            operator_alarms.append(self.detection_alarm_name)
        self.dashboard = FailoverDashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name(self.stack_name),
            namespace=settings.metrics_namespace,
            dead_letter_queue=self.dead_letters.queue,
        )
        # One statement for every alarm that notifies the operators.
        self.notifications.accept_alarms(*operator_alarms)
        self._add_outputs()

    def _add_outputs(self) -> None:
        """Stack-wide names only: CloudFormation allows 200 outputs, and the pairs are
        the function's to tell (`{"action": "pairs"}`), configured and discovered alike."""
        outputs = {
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
            outputs[OUTPUT_PROBER_FUNCTION_NAME] = self.prober.function.function_name
            outputs[OUTPUT_DETECTION_ALARM_NAME] = self.detection_alarm_name
        for key, value in outputs.items():
            CfnOutput(self, key, value=value)
