"""The customer-managed key that encrypts the topics and the dead-letter queue.

AWS services that write into what this key protects must be named in its policy (with the
AWS-managed alias/aws/sns key, alarm actions and EventBridge publishes fail silently), and
each is limited as far as AWS lets it be:

- CloudWatch: only for the stack's own alarms (aws:SourceArn, aws:SourceAccount); granted
  with the topic policy that lets them publish (eni_failover_cdk.topics.allow_alarms_to_publish).
- EventBridge: AWS does not support aws:SourceArn, aws:SourceAccount or aws:SourceOrgID
  in a key policy for EventBridge-to-encrypted-topic delivery (the Amazon SNS developer
  guide, key management), and a condition the request does not carry would drop every
  trigger without an error. So EventBridge is limited by the encryption context SNS and
  SQS put on the data key: topics and queues of this account and region only. Which rules
  may publish is the topic policy's job (aws:SourceArn, eni_failover_cdk.topics.TopicTarget).
- SNS: moves undeliverable triggers into the encrypted dead-letter queue.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# What a service needs to write into an encrypted topic or queue, and nothing more.
PUBLISH_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")
# The encryption context SNS and SQS bind a data key to: the topic's or the queue's ARN.
SNS_CONTEXT = "kms:EncryptionContext:aws:sns:topicArn"
SQS_CONTEXT = "kms:EncryptionContext:aws:sqs:arn"


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
        for sid, context, service in (
            # Rules publishing to the trigger topic.
            ("AllowEventBridgeToPublishEncrypted", SNS_CONTEXT, "sns"),
            # Rule targets' dead-letter queue.
            ("AllowEventBridgeToDeadLetterEncrypted", SQS_CONTEXT, "sqs"),
        ):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=list(PUBLISH_KEY_ACTIONS),
                    resources=["*"],  # in a key policy, "*" means this key
                    conditions={
                        "ArnLike": {
                            context: f"arn:{Aws.PARTITION}:{service}:{Aws.REGION}:"
                            f"{Aws.ACCOUNT_ID}:*"
                        }
                    },
                )
            )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSnsToDeadLetterEncrypted",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=list(PUBLISH_KEY_ACTIONS),
                resources=["*"],
            )
        )
