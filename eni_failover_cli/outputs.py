"""The deployed stack's outputs (where the function, topics, table and rules are) and the
pairs the function protects.

Outputs are read from `describe-stacks` on AWS or from the sandbox file; both hold the same
keys. The pairs are not outputs: CloudFormation allows 200 outputs a stack and a stack holds
hundreds of pairs, some discovered by tags at run time, so the function tells them
(`{"action": "pairs"}`). The output names, like the default stack name, are the stack's and
the CLI's contract (eni_failover.contract), which the CDK app imports too: the CLI never
imports the app (its jsii runtime is slow to start).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from eni_failover.contract import (
    OUTPUT_DEAD_LETTER_QUEUE_URL,
    OUTPUT_FUNCTION_NAME,
    OUTPUT_HISTORY_RETENTION_DAYS,
    OUTPUT_NOTIFICATION_TOPIC_ARN,
    OUTPUT_READINESS_RULE_NAME,
    OUTPUT_STATE_RULE_NAME,
    OUTPUT_STATE_TABLE_NAME,
    OUTPUT_TRIGGER_TOPIC_ARN,
)
from eni_failover_cli.errors import CliError

# The outputs every stack of this version has; the others are optional here (a stack without
# a probe has no prober, and older stacks lack the later ones).
REQUIRED_OUTPUTS = (
    OUTPUT_FUNCTION_NAME,
    OUTPUT_TRIGGER_TOPIC_ARN,
    OUTPUT_NOTIFICATION_TOPIC_ARN,
    OUTPUT_STATE_TABLE_NAME,
    OUTPUT_DEAD_LETTER_QUEUE_URL,
    OUTPUT_STATE_RULE_NAME,
)


class PairOutputs(BaseModel):
    """One pair as the function tells it (eni_failover.config.Pair, dumped)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    primary_instance_id: str
    standby_instance_id: str
    # The addresses that follow the failover: at least one of any kind (config.Pair).
    interface_ids: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()
    route_cidrs: tuple[str, ...] = ()
    eip_allocation_ids: tuple[str, ...] = ()
    private_ips: tuple[str, ...] = ()
    # The alarm on the primary's status checks; a pair discovered by tags has none.
    alarm_name: str = ""
    # The service probe, when the pair is probed.
    probe: str | None = None
    failback: str = "manual"  # "auto": the sweep fails back after the hold-down
    failback_after_seconds: int | None = None
    max_automatic_moves: int | None = None
    fence: str = "none"  # "stop" | "isolate"

    @property
    def has_addresses(self) -> bool:
        """Lists routes, Elastic IPs or secondary IPs (the lighter kinds)."""
        return bool(self.route_table_ids or self.eip_allocation_ids or self.private_ips)

    def side_of(self, instance_id: str | None) -> str | None:
        """'primary', 'standby', or None for any other instance."""
        if instance_id == self.primary_instance_id:
            return "primary"
        if instance_id == self.standby_instance_id:
            return "standby"
        return None


def parse_pairs(stack_name: str, answer: Mapping[str, Any]) -> tuple[PairOutputs, ...]:
    """The function's answer to `{"action": "pairs"}`."""
    try:
        return tuple(PairOutputs.model_validate(entry) for entry in answer["pairs"])
    except (KeyError, TypeError, ValidationError) as error:
        raise CliError(
            f"stack {stack_name}: the function did not list its pairs as this version expects "
            f"({error}); deploy this version (`npx cdk deploy`)"
        ) from error


def pair_named(
    stack_name: str, pairs: tuple[PairOutputs, ...], name: str | None
) -> tuple[PairOutputs, ...]:
    """One pair by name, or every pair; an unknown name is an error listing the known."""
    if name is None:
        return pairs
    for pair in pairs:
        if pair.name == name:
            return (pair,)
    raise CliError(
        f"no pair named {name!r} in stack {stack_name}; configured: "
        f"{', '.join(p.name for p in pairs) or 'none'}"
    )


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
    # The one EC2 state-change rule of the stack.
    state_rule_name: str

    @classmethod
    def parse(cls, stack_name: str, outputs: Mapping[str, str]) -> StackOutputs:
        missing = [key for key in REQUIRED_OUTPUTS if not outputs.get(key)]
        if missing:
            raise CliError(
                f"stack {stack_name} has no output {', '.join(missing)}: is it an ENI Failover "
                "stack, deployed from this version of the app? (`npx cdk deploy` updates it)"
            )
        return cls(
            stack_name=stack_name,
            function_name=outputs[OUTPUT_FUNCTION_NAME],
            trigger_topic_arn=outputs[OUTPUT_TRIGGER_TOPIC_ARN],
            notification_topic_arn=outputs[OUTPUT_NOTIFICATION_TOPIC_ARN],
            state_table_name=outputs[OUTPUT_STATE_TABLE_NAME],
            dead_letter_queue_url=outputs[OUTPUT_DEAD_LETTER_QUEUE_URL],
            readiness_rule_name=outputs.get(OUTPUT_READINESS_RULE_NAME) or None,
            history_retention_days=_whole_number(outputs.get(OUTPUT_HISTORY_RETENTION_DAYS)),
            state_rule_name=outputs[OUTPUT_STATE_RULE_NAME],
        )


def _whole_number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
