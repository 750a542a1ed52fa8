"""The function's durable memory: idempotency records, per-pair leases and the history.

The history is one item per entry, listed newest first through a sparse index
(eni_failover.history explains why an index and not a sort key on the table).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from eni_failover import history

PARTITION_KEY = "id"
TTL_ATTRIBUTE = history.TTL_ATTRIBUTE


class StateTable(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            billing=dynamodb.Billing.on_demand(),
            time_to_live_attribute=TTL_ATTRIBUTE,
            # Added in place to a deployed table; only history items have its keys.
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=history.HISTORY_INDEX,
                    partition_key=dynamodb.Attribute(
                        name=history.PAIR_ATTRIBUTE, type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=dynamodb.Attribute(
                        name=history.AT_ATTRIBUTE, type=dynamodb.AttributeType.STRING
                    ),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
            ],
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            # Every record expires (leases, idempotency, history): nothing outlives the stack.
            removal_policy=RemovalPolicy.DESTROY,
        )
