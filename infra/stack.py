"""The ENI Failover stack: composes the constructs, wires their grants, names the outputs."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.dead_letters import DeadLetters
from infra.encryption import MessageKey
from infra.failover_function import FailoverFunction
from infra.notifications import OutcomeNotifications
from infra.settings import DeploymentSettings, output_id_for
from infra.state_table import StateTable
from infra.triggers import FailoverTriggers

# Output keys an operator tool reads (aws cloudformation describe-stacks).
OUTPUT_FUNCTION_NAME = "FunctionName"
OUTPUT_TRIGGER_TOPIC_ARN = "TriggerTopicArn"
OUTPUT_NOTIFICATION_TOPIC_ARN = "NotificationTopicArn"
OUTPUT_STATE_TABLE_NAME = "StateTableName"
OUTPUT_DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"
OUTPUT_DEAD_LETTER_ALARM_NAME = "DeadLetterAlarmName"
OUTPUT_PAIRS_JSON = "PairsJson"


def pair_alarm_output(pair_name: str) -> str:
    return f"Pair{output_id_for(pair_name)}AlarmName"


def pair_rule_output(pair_name: str) -> str:
    return f"Pair{output_id_for(pair_name)}RuleName"


def dead_letter_alarm_name(stack_name: str) -> str:
    return f"{stack_name}-dead-letters"


class EniFailoverStack(Stack):
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

        key = MessageKey(self, "MessageKey").key
        dead_letters = DeadLetters(self, "DeadLetters", key=key)
        notifications = OutcomeNotifications(
            self, "Notifications", key=key, emails=settings.notify_emails
        )
        triggers = FailoverTriggers(
            self,
            "Triggers",
            stack_name=self.stack_name,
            pairs=failover.pairs,
            evaluation_periods=settings.evaluation_periods,
            max_trigger_age_seconds=failover.tuning.max_trigger_age_seconds,
            key=key,
            dead_letter_queue=dead_letters.queue,
        )
        # Named, not generated: the topic policy must name it without waiting for the alarm.
        dead_letter_alarm = dead_letter_alarm_name(self.stack_name)
        dead_letters.alarm_on_messages(alarm_name=dead_letter_alarm, topic=notifications.topic)
        notifications.accept_alarms(dead_letter_alarm)
        state = StateTable(self, "State")
        failover_function = FailoverFunction(
            self,
            "Failover",
            failover=failover,
            timeout_seconds=settings.function_timeout_seconds,
            max_event_age_seconds=settings.max_event_age_seconds,
            trigger_topic=triggers.topic,
            notification_topic=notifications.topic,
            dead_letter_queue=dead_letters.queue,
            state_table=state.table,
            key=key,
        )

        self._output(OUTPUT_FUNCTION_NAME, failover_function.function.function_name)
        self._output(OUTPUT_TRIGGER_TOPIC_ARN, triggers.topic.topic_arn)
        self._output(OUTPUT_NOTIFICATION_TOPIC_ARN, notifications.topic.topic_arn)
        self._output(OUTPUT_STATE_TABLE_NAME, state.table.table_name)
        self._output(OUTPUT_DEAD_LETTER_QUEUE_URL, dead_letters.queue.queue_url)
        self._output(OUTPUT_DEAD_LETTER_ALARM_NAME, dead_letter_alarm)
        pairs_json: dict[str, dict[str, Any]] = {}
        for watched in triggers.pairs:
            pair = watched.pair
            self._output(pair_alarm_output(pair.name), pair.alarm_name)
            self._output(pair_rule_output(pair.name), watched.rule_name)
            pairs_json[pair.name] = {
                "alarmName": pair.alarm_name,
                "ruleName": watched.rule_name,
                "primaryInstanceId": pair.primary_instance_id,
                "standbyInstanceId": pair.standby_instance_id,
                "interfaceIds": list(pair.interface_ids),
            }
        self._output(OUTPUT_PAIRS_JSON, json.dumps(pairs_json, separators=(",", ":")))

    def _output(self, key: str, value: str) -> None:
        CfnOutput(self, key, value=value)
