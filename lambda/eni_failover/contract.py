"""What the stack, the CLI, the emulator and the function must agree on, said once.

The stack writes its outputs and names the functions' handlers; the CLI reads those outputs
and sends the function requests; the emulator stands the stack up from its template, finding
the functions by their handlers, and sends requests as the CLI does; the function answers
the requests. A name spelled twice can drift, and the drift shows only when one side is
deployed against the other, so each of them is spelled here and imported by all four.

This module lives in the function's package because the function must import it and every
part ships with that package (the function's code asset, the CLI's wheel, the CDK app), and
it imports nothing but pydantic, which all of them have. The environment variables the stack
sets for the functions are the function's own settings (eni_failover.config, ENV_*), read
there and imported by the stack, so they are spelled once already. docs/operating.md,
"Requests to the function", documents the requests; tests/docs checks it against this module.
"""

from __future__ import annotations

from typing import Any, Literal, TypeGuard, get_args

from pydantic import BaseModel, ConfigDict, Field

# The stack the CLI reads when given no --stack; the CDK app's default stack name too.
DEFAULT_STACK_NAME = "EniFailover"

# The stack's output keys (aws cloudformation describe-stacks; the sandbox file holds the same).
OUTPUT_FUNCTION_NAME = "FunctionName"
OUTPUT_TRIGGER_TOPIC_ARN = "TriggerTopicArn"
OUTPUT_NOTIFICATION_TOPIC_ARN = "NotificationTopicArn"
OUTPUT_STATE_TABLE_NAME = "StateTableName"
OUTPUT_DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"
OUTPUT_DEAD_LETTER_ALARM_NAME = "DeadLetterAlarmName"
OUTPUT_STATE_RULE_NAME = "StateRuleName"
OUTPUT_READINESS_RULE_NAME = "ReadinessRuleName"
OUTPUT_HISTORY_RETENTION_DAYS = "HistoryRetentionDays"
# Only when a pair is probed.
OUTPUT_PROBER_FUNCTION_NAME = "ProberFunctionName"
OUTPUT_DETECTION_ALARM_NAME = "DetectionAlarmName"

# The two functions' entry points: the stack names them, the emulator finds them by them.
FUNCTION_HANDLER = "eni_failover.handler.lambda_handler"
PROBER_HANDLER = "eni_failover.prober_handler.lambda_handler"

# The requests the failover function answers besides its triggers, invoked directly (the CLI
# synchronously, the schedules through EventBridge). An event with this key is one of them.
REQUEST_KEY = "action"
Action = Literal["failover", "failback", "check", "sweep", "pairs"]
ACTIONS: tuple[str, ...] = get_args(Action)
# The actions that move a pair: they name it, and take force, fence and dry_run.
MoveAction = Literal["failover", "failback"]
# Who asked, when a request does not say (the history's and the notifications' "by").
DEFAULT_REQUESTED_BY = "an operator"


class OperatorRequest(BaseModel):
    """One request, as the function parses it; an unknown field is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    # check: one pair, or every pair without it; failover and failback need it.
    pair: str | None = Field(default=None, max_length=40)
    # Skip the checks about the source's health (a manual failover of a healthy primary).
    force: bool = False
    # Fence the primary after this manual failover (the pair's fence mode).
    fence: bool = False
    # Answer the plan without taking the lease or moving.
    dry_run: bool = False
    requested_by: str = Field(default=DEFAULT_REQUESTED_BY, max_length=200)
    # The scheduled check announces a change of readiness; an operator's check does not.
    scheduled: bool = False


def is_request(event: object) -> TypeGuard[dict[str, Any]]:
    """An operator's or a schedule's request, not a trigger (SNS records, a prober's)."""
    return isinstance(event, dict) and REQUEST_KEY in event


def operator_request(action: Action, **fields: Any) -> dict[str, Any]:
    """The request to send: validated here as the function will, fields at their default left
    out, so a function deployed before a field existed still accepts the request."""
    return OperatorRequest(action=action, **fields).model_dump(exclude_defaults=True)


# The schedules' requests (eni_failover_cdk.sweep_schedule, .readiness_schedule).
SWEEP_REQUEST = operator_request("sweep")
# Every pair, announced only when its readiness changes.
SCHEDULED_CHECK_REQUEST = operator_request("check", scheduled=True)
PAIRS_REQUEST = operator_request("pairs")
