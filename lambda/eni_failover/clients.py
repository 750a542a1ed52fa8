"""The AWS clients, made one way for the function, the operator CLI and the emulator.

Each client is made on first use and kept: the function's cold start pays only for the
clients it touches, and everyone gets the same retry behaviour.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

DEFAULT_MAX_ATTEMPTS = 5


def client_config(*, region: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Config:
    """Standard retry mode with an explicit attempt count.

    Standard mode retries RequestLimitExceeded with backoff, and the Lambda runtime's
    bundled botocore may still default to "legacy" (AWS-FACTS: boto3 / botocore). Short
    timeouts: a failover that waits 60 s on one hung connection has already failed.
    """
    return Config(
        region_name=region,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=3,
        read_timeout=10,
    )


class AwsClients:
    """One session's clients, all with the same configuration and endpoint."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        region: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        endpoint_url: str | None = None,
    ) -> None:
        self.session = session or boto3.Session()
        self.config = client_config(region=region, max_attempts=max_attempts)
        self.endpoint_url = endpoint_url
        # A boto3 session is not safe to make clients from in two threads at once, and
        # concurrent invocations in the emulator share one set of clients.
        self._lock = threading.Lock()

    def _client(self, service: str) -> Any:
        with self._lock:
            return self.session.client(
                service,  # type: ignore[call-overload]
                config=self.config,
                endpoint_url=self.endpoint_url,
            )

    @cached_property
    def ec2(self) -> EC2Client:
        client: EC2Client = self._client("ec2")
        return client

    @cached_property
    def sns(self) -> SNSClient:
        client: SNSClient = self._client("sns")
        return client

    @cached_property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb")
        return client

    @cached_property
    def cloudwatch(self) -> CloudWatchClient:
        client: CloudWatchClient = self._client("cloudwatch")
        return client

    @cached_property
    def events(self) -> EventBridgeClient:
        client: EventBridgeClient = self._client("events")
        return client

    @cached_property
    def lambda_(self) -> LambdaClient:
        client: LambdaClient = self._client("lambda")
        return client
