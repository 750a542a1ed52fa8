"""Where failover outcomes go: an encrypted topic with one email subscription per address.

The function publishes here and is never subscribed here, so its own notifications can
never trigger it.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from eni_failover_cdk.topics import allow_alarms_to_publish, encrypted_topic


class OutcomeNotifications(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        emails: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = encrypted_topic(self, "Topic", key=key, display_name="ENI Failover outcomes")
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def accept_alarms(self, *alarm_names: str) -> None:
        """Let these CloudWatch alarms (named before they exist) notify the operators."""
        allow_alarms_to_publish(self.topic, alarm_names=alarm_names)
