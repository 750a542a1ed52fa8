"""The deployment stands on the stack's own resources: synthesized, then created in moto.

So what the function writes must fit the table the stack defines, and what it publishes
goes where the stack subscribes it.
"""

from __future__ import annotations

import json
import time

from eni_failover.failover import RESERVE_SECONDS
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.deployment import FakeLambdaContext, LocalDeployment
from tests.integration.conftest import ALARM_NAME
from tests.support import alarm_message, sns_event

DAY_SECONDS = 24 * 3600


def test_what_the_function_remembers_fits_the_stacks_table_and_expires(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    # Given the state table as the stack defines it: keyed on id, expiring by expiration
    dynamodb, table = deployment.clients.dynamodb, deployment.resources.state_table_name
    assert dynamodb.describe_table(TableName=table)["Table"]["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"}
    ]
    assert dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expiration",
    }

    # When the primary fails and its alarm reaches the function
    sim.set_status(topology.primary_instance_id, instance="impaired")
    deployment.invoke(
        sns_event(alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id))
    )

    # Then the record of the trigger handled carries the time DynamoDB deletes it: a day on
    started = time.time()
    items = dynamodb.scan(TableName=table)["Items"]
    kept = ("pair#", "history#", "looks#")
    triggers = [item for item in items if not item["id"]["S"].startswith(kept)]
    assert triggers
    for item in triggers:
        assert started < float(item["expiration"]["N"]) <= started + DAY_SECONDS
    # And what concurrent moves share (eni_failover.shared_looks) a day after the end of the
    # invocation that last wrote it (when Lambda would have killed it, and a margin)
    invocation = FakeLambdaContext().remaining_seconds + RESERVE_SECONDS
    for item in items:
        if item["id"]["S"].startswith("looks#"):
            expires = float(item["expiration"]["N"])
            assert started < expires <= started + DAY_SECONDS + invocation
    # And its history entry is kept for the retention, 90 days by default
    [entry] = [item for item in items if item["id"]["S"].startswith("history#")]
    expires_in_days = (float(entry["expiration"]["N"]) - started) / DAY_SECONDS
    assert 89.9 < expires_in_days <= 90.0


def test_outcomes_reach_the_stacks_subscribers_and_failed_triggers_its_dead_letter_queue(
    deployment: LocalDeployment,
) -> None:
    # Given the topics as the stack subscribes them
    sns, resources = deployment.clients.sns, deployment.resources
    subscribed = sns.list_subscriptions_by_topic(TopicArn=resources.notification_topic_arn)

    # Then the operators' address (the sample stack's) hears of every outcome
    assert {(s["Protocol"], s["Endpoint"]) for s in subscribed["Subscriptions"]} >= {
        ("email", "ops@example.com")
    }
    # And a trigger SNS cannot deliver to the function goes to the dead-letter queue
    attributes = sns.get_subscription_attributes(
        SubscriptionArn=resources.trigger_subscription_arn
    )["Attributes"]
    dead_letter_arn = deployment.clients.sqs.get_queue_attributes(
        QueueUrl=resources.dead_letter_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dead_letter_arn}
