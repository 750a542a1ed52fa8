"""The customer-managed key that encrypts the topics and the dead-letter queue."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# Services that write into what this key protects. CloudWatch (alarm actions) and
# EventBridge (rule targets and their dead-letter queue) must be named in the key policy:
# with the AWS-managed alias/aws/sns key their publishes fail silently. SNS needs the key
# to move an undeliverable message into the encrypted dead-letter queue.
PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com")
# What a service needs to write into an encrypted topic or queue, and nothing more.
PUBLISH_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")


class MessageKey(Construct):
    """A rotating KMS key that AWS services are allowed to publish with."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="ENI Failover: encrypts the trigger and notification topics and the "
            "dead-letter queue",
            enable_key_rotation=True,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAwsServicesToPublishEncrypted",
                principals=[iam.ServicePrincipal(service) for service in PUBLISHING_SERVICES],
                actions=list(PUBLISH_KEY_ACTIONS),
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
