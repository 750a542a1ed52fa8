"""The deployed stack's outputs: where the function, topics, table and each pair's alarm are.

Read from `describe-stacks` on AWS or from the sandbox file; both hold the same keys. Their
names, the pair map's form and the default stack name are owned here: the CDK app
(infra/stack.py) imports them, while the CLI never imports the app (it is not in the wheel,
and its jsii runtime is slow to start).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eni_cli.errors import CliError

# The stack the CLI reads when given no --stack; the CDK app's default stack name too.
DEFAULT_STACK_NAME = "EniFailover"

# The stack's output keys (aws cloudformation describe-stacks).
OUTPUT_FUNCTION_NAME = "FunctionName"
OUTPUT_TRIGGER_TOPIC_ARN = "TriggerTopicArn"
OUTPUT_NOTIFICATION_TOPIC_ARN = "NotificationTopicArn"
OUTPUT_STATE_TABLE_NAME = "StateTableName"
OUTPUT_DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"
OUTPUT_DEAD_LETTER_ALARM_NAME = "DeadLetterAlarmName"
OUTPUT_PAIRS_JSON = "PairsJson"
OUTPUT_READINESS_RULE_NAME = "ReadinessRuleName"
OUTPUT_HISTORY_RETENTION_DAYS = "HistoryRetentionDays"
# Only when a pair is probed.
OUTPUT_PROBER_FUNCTION_NAME = "ProberFunctionName"
OUTPUT_DETECTION_ALARM_NAME = "DetectionAlarmName"

REQUIRED_OUTPUTS = (
    OUTPUT_FUNCTION_NAME,
    OUTPUT_TRIGGER_TOPIC_ARN,
    OUTPUT_NOTIFICATION_TOPIC_ARN,
    OUTPUT_STATE_TABLE_NAME,
    OUTPUT_DEAD_LETTER_QUEUE_URL,
    OUTPUT_PAIRS_JSON,
)


class PairOutputs(BaseModel):
    """One entry of PairsJson (the stack writes it with `entry()`)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    name: str = ""
    alarm_name: str = Field(alias="alarmName")
    rule_name: str = Field(alias="ruleName")
    primary_instance_id: str = Field(alias="primaryInstanceId")
    standby_instance_id: str = Field(alias="standbyInstanceId")
    interface_ids: tuple[str, ...] = Field(alias="interfaceIds", min_length=1)
    # The service probe, when the pair is probed (older stacks do not say).
    probe: str | None = None
    # After a failover; written only when not the default (older stacks: the defaults).
    failback: str | None = None  # "auto"; None: manual
    failback_after_seconds: int | None = Field(default=None, alias="failbackAfterSeconds")
    max_automatic_moves: int | None = Field(default=None, alias="maxAutomaticMoves")
    fence: str | None = None  # "stop" | "isolate"; None: none

    def side_of(self, instance_id: str | None) -> str | None:
        """'primary', 'standby', or None for any other instance."""
        if instance_id == self.primary_instance_id:
            return "primary"
        if instance_id == self.standby_instance_id:
            return "standby"
        return None

    def entry(self) -> dict[str, Any]:
        """The pair's entry in PairsJson, as the stack writes it (the map's key is the name;
        a pair that is not probed has no probe)."""
        return self.model_dump(mode="json", by_alias=True, exclude={"name"}, exclude_none=True)


class StackOutputs(BaseModel):
    model_config = ConfigDict(frozen=True)

    stack_name: str
    function_name: str
    trigger_topic_arn: str
    notification_topic_arn: str
    state_table_name: str
    dead_letter_queue_url: str
    # Absent from stacks deployed before the readiness schedule existed.
    readiness_rule_name: str | None = None
    # How long the history keeps an entry; absent from stacks deployed before it existed.
    history_retention_days: int | None = None
    pairs: tuple[PairOutputs, ...]

    @classmethod
    def parse(cls, stack_name: str, outputs: Mapping[str, str]) -> StackOutputs:
        missing = [key for key in REQUIRED_OUTPUTS if not outputs.get(key)]
        if missing:
            raise CliError(
                f"stack {stack_name} has no output {', '.join(missing)}: is it an ENI Failover "
                "stack, deployed from this version of the app? (`npx cdk deploy` updates it)"
            )
        try:
            raw = json.loads(outputs[OUTPUT_PAIRS_JSON])
            pairs = tuple(
                PairOutputs.model_validate({**entry, "name": name}) for name, entry in raw.items()
            )
        except (json.JSONDecodeError, AttributeError, ValidationError) as error:
            raise CliError(
                f"stack {stack_name}: output {OUTPUT_PAIRS_JSON} is not the pair map this "
                f"version expects ({error})"
            ) from error
        return cls(
            stack_name=stack_name,
            function_name=outputs[OUTPUT_FUNCTION_NAME],
            trigger_topic_arn=outputs[OUTPUT_TRIGGER_TOPIC_ARN],
            notification_topic_arn=outputs[OUTPUT_NOTIFICATION_TOPIC_ARN],
            state_table_name=outputs[OUTPUT_STATE_TABLE_NAME],
            dead_letter_queue_url=outputs[OUTPUT_DEAD_LETTER_QUEUE_URL],
            readiness_rule_name=outputs.get(OUTPUT_READINESS_RULE_NAME) or None,
            history_retention_days=_whole_number(outputs.get(OUTPUT_HISTORY_RETENTION_DAYS)),
            pairs=pairs,
        )

    @property
    def pair_names(self) -> list[str]:
        return [p.name for p in self.pairs]

    def pair(self, name: str) -> PairOutputs:
        """The named pair, or an error that lists the configured ones."""
        for pair in self.pairs:
            if pair.name == name:
                return pair
        raise CliError(
            f"no pair named {name!r} in stack {self.stack_name}; configured: "
            f"{', '.join(self.pair_names) or 'none'}"
        )

    def selected(self, name: str | None) -> tuple[PairOutputs, ...]:
        """One pair by name, or every pair."""
        return self.pairs if name is None else (self.pair(name),)


def _whole_number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
