"""The history the function writes as it goes, and the readiness verdict every check keeps."""

from __future__ import annotations

from datetime import timedelta

from eni_failover.errors import AwsCallFailed
from eni_failover.history import AUTOMATIC, HISTORY_INDEX, History, HistoryEntry
from eni_failover.pair_record import PairRecords
from eni_failover_ec2sim import FaithfulEC2, PairTopology
from eni_failover_emulator.deployment import LocalDeployment
from tests.integration.conftest import ALARM_NAME
from tests.integration.test_failback_and_fence import restart_primary
from tests.support import alarm_message, sns_event


def history_of(deployment: LocalDeployment) -> History:
    return History(deployment.clients.dynamodb, deployment.settings.state_table_name)


def test_a_failover_and_a_failback_are_in_the_history_newest_first(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    # Given the primary failed and its alarm failed the pair over
    sim.set_status(topology.primary_instance_id, instance="impaired")
    deployment.invoke(
        sns_event(alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id))
    )
    # And, once it was repaired (stopped and started), an operator failed back
    restart_primary(topology, sim)
    deployment.invoke({"action": "failback", "pair": "nat", "requested_by": "bob"})

    # When the history is read
    failback, failover = history_of(deployment).read("nat")

    # Then the failback comes first: when, which way, what asked, the outcome, the time, who
    assert failback.at > failover.at
    assert (failback.pair, failback.action, failback.outcome, failback.by) == (
        "nat",
        "failback",
        "swapped",
        "bob",
    )
    assert failback.trigger == "manual request: failback requested by bob"
    assert failback.swap_seconds is not None
    assert failback.swap_seconds > 0
    # And the failover names its alarm and that nobody asked: it was automatic
    assert (failover.action, failover.direction, failover.outcome, failover.by) == (
        "failover",
        "failover",
        "swapped",
        AUTOMATIC,
    )
    assert failover.trigger.startswith(f"alarm {ALARM_NAME} -> ALARM")
    assert failover.summary.startswith(f"Moved {topology.interface_id}")
    assert failover.swap_seconds is not None
    assert failover.swap_seconds > 0
    # And the pair record knows the last outcome's direction
    record = PairRecords(deployment.clients.dynamodb, deployment.settings.state_table_name)
    assert record.read("nat").last_direction == "failback"


def test_each_entry_expires_after_the_retention_and_is_listed_through_the_index(
    deployment: LocalDeployment, topology: PairTopology
) -> None:
    # Given a refused request
    deployment.invoke({"action": "failover", "pair": "nat", "requested_by": "alice"})
    # Then its item expires 90 days after it, and the index lists it
    [item] = deployment.clients.dynamodb.query(
        TableName=deployment.settings.state_table_name,
        IndexName=HISTORY_INDEX,
        KeyConditionExpression="history_pair = :pair",
        ExpressionAttributeValues={":pair": {"S": "nat"}},
    )["Items"]
    [entry] = history_of(deployment).read("nat")
    assert entry.outcome == "refused"
    assert entry.swap_seconds is None
    assert int(item["expiration"]["N"]) == int((entry.at + timedelta(days=90)).timestamp())
    assert deployment.settings.history_retention_days == 90


def test_since_and_limit_pick_the_newest_entries(
    deployment: LocalDeployment, topology: PairTopology
) -> None:
    # Given three refused requests
    for who in ("a", "b", "c"):
        deployment.invoke({"action": "failover", "pair": "nat", "requested_by": who})
    history = history_of(deployment)
    every = history.read("nat")
    assert [e.by for e in every] == ["c", "b", "a"]
    # Then --limit keeps the newest, and --since those at or after a time
    assert [e.by for e in history.read("nat", limit=2)] == ["c", "b"]
    assert [e.by for e in history.read("nat", since=every[1].at)] == ["c", "b"]


class _BrokenHistory(History):
    def __init__(self) -> None:
        self.tried: list[HistoryEntry] = []

    def record(self, entry: HistoryEntry) -> None:
        self.tried.append(entry)
        raise AwsCallFailed("PutItem", "InternalServerError", "DynamoDB is having a bad day")


def test_a_history_that_cannot_be_written_neither_fails_the_move_nor_tells_it_twice(
    deployment: LocalDeployment, topology: PairTopology, sim: FaithfulEC2
) -> None:
    # Given the history cannot be written
    broken = _BrokenHistory()
    deployment.dispatcher.runtime.__dict__["history"] = broken
    sim.set_status(topology.primary_instance_id, instance="impaired")
    # When the alarm fails the pair over
    report = deployment.invoke(
        sns_event(alarm_message(alarm_name=ALARM_NAME, instance_id=topology.primary_instance_id))
    )
    # Then the move is made and told once, and the entry was tried
    assert report["outcomes"][0]["outcome"] == "swapped"
    assert len(deployment.notifications()) == 1
    assert [e.outcome for e in broken.tried] == ["swapped"]


def test_an_operators_check_is_remembered_and_not_announced(
    deployment: LocalDeployment,
) -> None:
    # When an operator checks readiness
    deployment.invoke({"action": "check", "pair": "nat", "requested_by": "carol"})
    # Then the pair record keeps the verdict, when and whose, for `status`
    record = PairRecords(deployment.clients.dynamodb, deployment.settings.state_table_name).read(
        "nat"
    )
    assert (record.checked_readiness, record.checked_by) == ("READY", "carol")
    assert record.checked_at is not None
    # And only the schedule's verdict is compared and announced: nothing was sent
    assert record.readiness is None
    assert deployment.notifications() == []
    # When the schedule checks, it is recorded as the schedule's and, READY, not announced
    deployment.invoke({"action": "check", "scheduled": True})
    record = PairRecords(deployment.clients.dynamodb, deployment.settings.state_table_name).read(
        "nat"
    )
    assert (record.checked_by, record.readiness) == ("the readiness schedule", "READY")
    assert deployment.notifications() == []
