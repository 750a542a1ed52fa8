"""The ENI Failover app's stack: one EniFailover, and nothing else.

The construct has the ID "Default", which CDK leaves out of logical IDs: every resource and
output keeps the logical ID it had when the stack built them itself, so upgrading a
deployment replaces nothing (tests/infra/test_logical_ids.py).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from eni_failover_cdk.construct import EniFailover
from eni_failover_cdk.settings import DeploymentSettings

# CDK's hidden construct ID: the construct's resources are named as if they were the stack's.
CONSTRUCT_ID = "Default"


class EniFailoverStack(Stack):
    """A stack named by the settings, holding their EniFailover; its parts are the
    construct's, under the same names (``stack.failover``, ``stack.triggers``, ...)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, stack_name=settings.stack_name, **kwargs)
        self.deployment = EniFailover(self, CONSTRUCT_ID, settings=settings)
        deployment = self.deployment
        self.history_retention_days = deployment.history_retention_days
        self.key = deployment.key
        self.dead_letters = deployment.dead_letters
        self.notifications = deployment.notifications
        self.triggers = deployment.triggers
        self.dead_letter_alarm_name = deployment.dead_letter_alarm_name
        self.state = deployment.state
        self.fencing = deployment.fencing
        self.failover = deployment.failover
        self.readiness = deployment.readiness
        self.sweep = deployment.sweep
        self.alarm_triggers = deployment.alarm_triggers
        self.prober = deployment.prober
        self.detection_alarm_name = deployment.detection_alarm_name
        self.probers = deployment.probers
        self.dashboard = deployment.dashboard
