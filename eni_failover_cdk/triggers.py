"""What starts a failover: per pair, an alarm on the primary's status checks, and rules on
instance state changes, all publishing to one encrypted trigger topic.

Every path ends on the same topic, so every trigger reaches the function as an SNS record
and shares the subscription's dead-letter queue. The state-change rules match the
configured primaries only (`detail.instance-id`, split across as many rules as EventBridge's
2,048-character patterns need, about 85 primaries a rule): a Spot or scale-in wave of
unrelated instances stopping never reaches the function, so it cannot use up the function's
reserved concurrency and leave a real failover waiting for Lambda's throttling retries (up
to 5 minutes apart). Pairs declared by tags (discovery=tags) are unknown at deploy, so such
a stack keeps one rule for every instance of the account and Region, and the function drops
an unrelated instance's event from its cached discovery (Runtime.all_pairs, decide.route),
looking at the tags again at most once per discovery.MIN_REFRESH_INTERVAL_SECONDS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from eni_failover.config import Pair
from eni_failover_cdk.limits import chunked
from eni_failover_cdk.settings import STATUS_CHECK_PERIOD_SECONDS, alarm_name_for, state_rule_name
from eni_failover_cdk.topics import TopicTarget, allow_alarms_to_publish, encrypted_topic

# What "impaired" means to the decision (observed.InstanceView.impaired): the system,
# instance or attached-EBS check failing. AWS documents StatusCheckFailed as "all status
# checks" without saying whether the newer attached-EBS check is one of them, so the alarm
# watches both metrics and fires on either: MAX of the two, per minute.
STATUS_CHECK_METRIC = "StatusCheckFailed"
ATTACHED_EBS_CHECK_METRIC = "StatusCheckFailed_AttachedEBS"
STATUS_CHECK_METRICS = {"checks": STATUS_CHECK_METRIC, "ebs": ATTACHED_EBS_CHECK_METRIC}
STATUS_CHECK_EXPRESSION = "MAX([checks, ebs])"
STATUS_CHECK_PERIOD = Duration.seconds(STATUS_CHECK_PERIOD_SECONDS)
# EC2 states in which the primary cannot serve. Running instances that fail their checks
# are the alarm's job; a stopped or terminated one publishes no metric at all.
FAILURE_STATES = ("stopping", "stopped", "shutting-down", "terminated")
STATE_CHANGE_DETAIL_TYPE = "EC2 Instance State-change Notification"
# EventBridge accepts 60 s to 24 h for how long it keeps retrying a target.
_MIN_EVENT_AGE_SECONDS = 60
_MAX_EVENT_AGE_SECONDS = 86400


@dataclass(frozen=True)
class PairTrigger:
    """The alarm that watches one pair's primary."""

    pair: Pair
    alarm: cloudwatch.Alarm


def state_change_pattern(primaries: Sequence[str] | None) -> dict[str, Any]:
    """EC2's state changes to a failure state: of these instances, or of any (None)."""
    detail: dict[str, Any] = {"state": list(FAILURE_STATES)}
    if primaries is not None:
        detail = {"instance-id": list(primaries), **detail}
    return {"source": ["aws.ec2"], "detail-type": [STATE_CHANGE_DETAIL_TYPE], "detail": detail}


class FailoverTriggers(Construct):
    """The trigger topic, the state-change rules, and for each pair the alarm on its primary."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stack_name: str,
        pairs: tuple[Pair, ...],
        evaluation_periods: int,
        max_trigger_age_seconds: float,
        key: kms.IKey,
        dead_letter_queue: sqs.IQueue,
        discover_tags: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = encrypted_topic(self, "Topic", key=key, display_name="ENI Failover triggers")
        # Every pair's alarm by the stack's naming pattern, not by name: 200 alarm ARNs
        # would fill most of the topic's and the key's policies (30 KB and 32 KB).
        allow_alarms_to_publish(self.topic, alarm_names=[alarm_name_for(stack_name, "*")])
        # A trigger older than the function accepts is dropped there; retrying longer is waste.
        event_age = Duration.seconds(
            min(max(int(max_trigger_age_seconds), _MIN_EVENT_AGE_SECONDS), _MAX_EVENT_AGE_SECONDS)
        )
        # Public: every other rule that publishes triggers retries for as long.
        self.event_age = event_age
        self.state_rule_name = state_rule_name(stack_name)
        # Tagged pairs cannot be listed: every instance's changes, the function picks.
        primaries = sorted({pair.primary_instance_id for pair in pairs})
        parts: list[list[str] | None] = (
            [None]
            if discover_tags
            else list(chunked(self, primaries, pattern=state_change_pattern))
        )
        # The first keeps its name and ID (the CLI's `status` shows it; a stack deployed
        # with one rule keeps it); the others are named by CloudFormation.
        self.state_rules = tuple(
            self._state_rule(number, part, len(parts), dead_letter_queue=dead_letter_queue)
            for number, part in enumerate(parts, start=1)
        )
        self.state_rule = self.state_rules[0]
        self.pairs = tuple(
            self._watch(pair, evaluation_periods=evaluation_periods) for pair in pairs
        )

    def _state_rule(
        self,
        number: int,
        primaries: list[str] | None,
        parts: int,
        *,
        dead_letter_queue: sqs.IQueue,
    ) -> events.Rule:
        pattern = state_change_pattern(primaries)
        which = (
            "an instance stops or terminates (the function acts on pairs' primaries only)"
            if primaries is None
            else "a configured pair's primary stops or terminates"
        )
        rule = events.Rule(
            self,
            "PrimaryStateRule" if number == 1 else f"PrimaryStateRule{number}",
            rule_name=self.state_rule_name if number == 1 else None,
            description=f"ENI Failover: {which}" + (f" ({number} of {parts})" if parts > 1 else ""),
            event_pattern=events.EventPattern(
                source=pattern["source"],
                detail_type=pattern["detail-type"],
                detail=pattern["detail"],
            ),
        )
        # Only this rule may publish: not SnsTopic, which lets any account's rules.
        rule.add_target(
            TopicTarget(
                self.topic, dead_letter_queue=dead_letter_queue, max_event_age=self.event_age
            )
        )
        return rule

    def _watch(self, pair: Pair, *, evaluation_periods: int) -> PairTrigger:
        scope = Construct(self, f"Pair-{pair.name}")
        alarm = cloudwatch.Alarm(
            scope,
            "PrimaryStatusAlarm",
            alarm_name=pair.alarm_name,
            alarm_description=(
                f"ENI Failover pair {pair.name}: primary {pair.primary_instance_id} fails its "
                f"status checks; moves {', '.join(pair.interface_ids)} to standby "
                f"{pair.standby_instance_id}"
            ),
            metric=status_checks_failed(pair.primary_instance_id),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=evaluation_periods,
            # A stopped primary publishes nothing; "breaching" would fail over on every
            # brief gap. The state-change rule below covers stopped and terminated.
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
        return PairTrigger(pair=pair, alarm=alarm)


def status_checks_failed(instance_id: str) -> cloudwatch.MathExpression:
    """1 in a minute when any status check of the instance failed, the attached-EBS one too.

    Every metric's only dimension is the instance: the function checks each MetricStat's
    InstanceId in the alarm's message against the pair's primary. A minute in which
    neither metric has data (a stopped instance) stays missing.
    """
    return cloudwatch.MathExpression(
        expression=STATUS_CHECK_EXPRESSION,
        using_metrics={
            metric_id: cloudwatch.Metric(
                namespace="AWS/EC2",
                metric_name=metric_name,
                dimensions_map={"InstanceId": instance_id},
                statistic=cloudwatch.Stats.MAXIMUM,
                period=STATUS_CHECK_PERIOD,
            )
            for metric_id, metric_name in STATUS_CHECK_METRICS.items()
        },
        label="status checks failed (system, instance or attached EBS)",
        period=STATUS_CHECK_PERIOD,
    )
