"""DynamoDB read units as the scale benchmark counts them, and how section 5 shows them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from bench.lab import CallCounter
from bench.read_units import item_size, read_units
from bench.scale import ScaleResult, Wave
from bench.scale_report import section

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "state"


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_read_units_follow_dynamodbs_rule() -> None:
    # A strongly consistent read of a 93 KB item costs 23 units (AWS-FACTS: DynamoDB)
    assert read_units(93_000, consistent=True) == 23
    # One that finds nothing still costs one; eventually consistent reads cost half
    assert read_units(0, consistent=True) == 1
    assert read_units(8192, consistent=False) == 1
    # The size is the attribute names plus the values
    assert item_size({"id": {"S": "looks#snapshot#us-east-1a"}, "x": {"S": "abc"}}) == 2 + 25 + 4


def test_the_counter_bills_each_consistent_read_by_the_size_of_the_item_it_read(
    dynamodb: DynamoDBClient,
) -> None:
    # Given a 10 KB snapshot item, and a counter watching the reader's client
    counter = CallCounter()
    counter.watch(dynamodb)
    big = "x" * 10_000
    dynamodb.put_item(
        TableName=TABLE, Item={"id": {"S": "looks#snapshot#us-east-1a"}, "rows": {"S": big}}
    )
    # When it is read three times strongly consistently, and a missing item once eventually
    for _ in range(3):
        dynamodb.get_item(
            TableName=TABLE, Key={"id": {"S": "looks#snapshot#us-east-1a"}}, ConsistentRead=True
        )
    dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "pair#nat"}})
    # Then each consistent read cost 3 units (10 KB in 4 KB units), the missing one half
    assert counter.read_units() == {"looks#snapshot#us-east-1a": 9.0, "pair#nat": 0.5}


def _wave(key: str, read: dict[str, float]) -> Wave:
    return Wave(
        key=key,
        title=key,
        slowed=40,
        shared=key != "wave-unshared",
        pairs=2,
        attached=(1.0, 2.0),
        returned=(2.0, 4.0),
        lambda_retries=0,
        throttled=Counter(),
        ec2_requests=Counter(),
        calls=Counter(),
        attempts=Counter(),
        read_units=read,
        swapped_notifications=2,
        failed_notifications=0,
        failures=(),
    )


def test_section_5_gives_the_waves_read_units_a_second_and_the_busiest_item() -> None:
    # Given a wave whose reads cost 14,000 units over 4 s, 12,000 of them on one item
    wave = _wave(
        "wave", {"looks#snapshot#us-east-1a": 12_000.0, "looks#snapshot#us-east-1b": 2_000.0}
    )
    result = ScaleResult(
        configured=10,
        slowed=40,
        alone=(_wave("alone-1", {}),),
        waves=(
            wave,
            _wave("wave-unshared", {}),
            _wave("alone-real-time", {}),
            _wave("wave-real-time", {}),
        ),
        buckets={},
        retry_pause_seconds=1.0,
    )
    # When section 5 is written
    text = section(result)
    # Then it gives the read units a second, and the busiest item's against the partition's
    assert "14,000 read units, 3,500 a second" in text
    assert "`looks#snapshot#us-east-1a`, took 3,000 a second, within the 3,000" in text
