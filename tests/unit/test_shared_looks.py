"""Looks at EC2 that concurrent moves share through the state table (shared_looks).

On moto with the faithful EC2, so the describes the sharing makes must pass EC2's own rules
(a paginated, filtered DescribeNetworkInterfaces), and on a real DynamoDB table model.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models import DynamoDBBackend

from eni_failover import ec2
from eni_failover.config import Tuning
from eni_failover.decide import Move
from eni_failover.pair_record import PlannedMove
from eni_failover.shared_looks import CLAIM_SECONDS, SNAPSHOT_ID, WATCH_ID, Look, SharedLooks
from eni_failover.swap import carry_out
from eni_failover.timeline import SystemClock, Timeline
from eni_failover_ec2sim import FaithfulEC2, PairTopology, build_pair
from eni_failover_emulator.atomic_items import atomic_items
from tests.support import FakeClock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client

TABLE = "eni-failover-state"
# One attempt per call: a failing DynamoDB shows at once, not after botocore's backoff.
ONE_ATTEMPT = Config(region_name="us-east-1", retries={"mode": "standard", "total_max_attempts": 1})


@dataclass
class Account:
    ec2: EC2Client
    dynamodb: DynamoDBClient
    pairs: list[PairTopology]
    describes: Counter[str]
    table_calls: Counter[str]

    def looks(self, watcher: str, clock: Any = None) -> SharedLooks:
        return SharedLooks(
            self.ec2, self.dynamodb, TABLE, clock=clock or SystemClock(), watcher=watcher
        )

    def move(
        self, watcher: str, pair: PairTopology, clock: Any = None, interface_id: str = ""
    ) -> SharedLooks:
        """A move that has registered what it watches, as the failover does before it looks."""
        looks = self.looks(watcher, clock)
        now = (clock or SystemClock()).now().timestamp()
        looks.watch(
            (interface_id or pair.interface_id,),
            (pair.primary_instance_id, pair.standby_instance_id),
            until=now + 60,
        )
        return looks

    def with_company(self) -> None:
        """A move registered first (it alone describes directly, as the first of a wave does,
        since it had no one to share with), so the moves registered after it share."""
        self.move("earliest", self.pairs[-1])


@pytest.fixture
def account(sim: FaithfulEC2) -> Iterator[Account]:
    ec2_client = boto3.client("ec2", config=ONE_ATTEMPT)
    dynamodb = boto3.client("dynamodb", config=ONE_ATTEMPT)
    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    pairs = [build_pair(ec2_client, name=f"pair-{n}", sim=sim) for n in range(4)]
    # Warm sandboxes: each knows its pair's zone from an earlier answer, so the describes
    # counted are the looks' (a cold move's one describe of its interfaces, which tells
    # its zone, is test_a_cold_move_learns_its_zone_from_its_interfaces').
    ec2.look_instances(
        ec2_client, [i for p in pairs for i in (p.primary_instance_id, p.standby_instance_id)]
    )
    describes: Counter[str] = Counter()
    table_calls: Counter[str] = Counter()

    def count(into: Counter[str], prefix: str = "") -> Any:
        def counted(event_name: str, **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[1]
            if operation.startswith(prefix):
                into[operation] += 1

        return counted

    ec2_client.meta.events.register("before-call.ec2", count(describes, "Describe"))
    dynamodb.meta.events.register("before-call.dynamodb", count(table_calls))
    # Conditional writes from threads at once: atomic, as in DynamoDB (moto's are not).
    with atomic_items():
        yield Account(ec2_client, dynamodb, pairs, describes, table_calls)


def shared_looks_taken(looks: int) -> Counter[str]:
    """The describes of this many shared looks: every one describes interfaces and instances."""
    return Counter(
        {
            "DescribeNetworkInterfaces": looks,
            "DescribeInstances": looks,
            "DescribeInstanceStatus": looks,
        }
    )


def a_second_ago() -> float:
    return SystemClock().now().timestamp() - 1.0


def test_two_moves_looking_after_the_same_moment_share_one_describe(account: Account) -> None:
    # Given two moves registered, each watching its own pair
    account.with_company()
    first = account.move("first", account.pairs[0])
    second = account.move("second", account.pairs[1])
    after = a_second_ago()

    # When both look at their interfaces, one after the other
    seen_first = first.look([account.pairs[0].interface_id], after=after)
    seen_second = second.look([account.pairs[1].interface_id], after=after)

    # Then EC2 was asked once, and each move sees its own interface on its primary
    assert account.describes == shared_looks_taken(1)
    for pair, seen in ((account.pairs[0], seen_first), (account.pairs[1], seen_second)):
        interface = seen.interfaces[pair.interface_id]
        assert interface.attachment is not None
        assert interface.attachment.instance_id == pair.primary_instance_id


def test_moves_looking_at_the_same_time_share_one_describe(account: Account) -> None:
    # Given three moves registered
    account.with_company()
    lookers = account.pairs[:3]
    moves = [account.move(f"move-{n}", pair) for n, pair in enumerate(lookers)]
    after = a_second_ago()
    start = threading.Barrier(len(moves))
    seen: dict[str, bool] = {}

    def poll(index: int) -> None:
        start.wait()
        interface_id = lookers[index].interface_id
        seen[interface_id] = (
            moves[index].look([interface_id], after=after).interfaces[interface_id].exists
        )

    # When all look at once, each in its own thread
    threads = [threading.Thread(target=poll, args=(n,)) for n in range(len(moves))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then one of them described for all, and every one saw its interface
    assert account.describes == shared_looks_taken(1)
    assert seen == {pair.interface_id: True for pair in lookers}


def test_a_look_older_than_the_moves_last_action_is_not_used(account: Account) -> None:
    # Given a look taken for one move
    account.with_company()
    first = account.move("first", account.pairs[0])
    second = account.move("second", account.pairs[1])
    first.look([account.pairs[0].interface_id], after=a_second_ago())

    # When the other move looks after an action it took since (a detach, say)
    acted = SystemClock().now().timestamp()
    seen = second.look([account.pairs[1].interface_id], after=acted)

    # Then it got a look of its own, taken after its action
    assert account.describes == shared_looks_taken(2)
    assert seen.taken_at >= acted


def test_a_look_at_instances_describes_every_moves_instances_at_once(account: Account) -> None:
    # Given two moves registered
    account.with_company()
    first = account.move("first", account.pairs[0])
    second = account.move("second", account.pairs[1])
    after = a_second_ago()

    # When both look at their pair's instances
    first.look([], [account.pairs[0].standby_instance_id], after=after)
    seen = second.look([], [account.pairs[1].standby_instance_id], after=after)

    # Then one look served both: one call per action
    assert account.describes == Counter(
        {"DescribeNetworkInterfaces": 1, "DescribeInstances": 1, "DescribeInstanceStatus": 1}
    )
    assert seen.instances is not None
    assert seen.instances[account.pairs[1].standby_instance_id].running


def test_a_move_alone_describes_directly_and_reads_nothing_from_the_table(
    account: Account,
) -> None:
    # Given one move registered, with nobody else watching
    alone = account.move("alone", account.pairs[0])
    account.table_calls.clear()

    # When it looks three times
    for _ in range(3):
        alone.look([account.pairs[0].interface_id], after=a_second_ago())

    # Then each look was its own describe, and none cost a DynamoDB round trip
    assert account.describes == Counter({"DescribeNetworkInterfaces": 3})
    assert account.table_calls == Counter()


def test_an_expired_claim_is_taken_over(account: Account) -> None:
    # Given a move that claimed the next look and was killed before writing it
    clock = FakeClock()
    account.move("earliest", account.pairs[-1], clock)
    dead = account.move("dead", account.pairs[0], clock)
    assert dead._claim(None)
    survivor = account.move("survivor", account.pairs[1], clock)

    # When another move looks
    seen = survivor.look([account.pairs[1].interface_id], after=clock.now().timestamp() - 1)

    # Then it waited for the claim to expire, no longer, took it over and described
    assert CLAIM_SECONDS <= clock.ticks <= CLAIM_SECONDS + 0.1
    assert seen.interfaces[account.pairs[1].interface_id].exists
    assert account.describes == shared_looks_taken(1)
    # and left the claim free for the next look
    item = account.dynamodb.get_item(TableName=TABLE, Key={"id": {"S": survivor.snapshot_id}})[
        "Item"
    ]
    assert "claim_owner" not in item


def test_dynamodb_failing_falls_back_to_describing_directly(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two moves registered, and then DynamoDB refusing every read
    account.with_company()
    first = account.move("first", account.pairs[0])
    account.move("second", account.pairs[1])

    def throttled(*_: Any, **__: Any) -> Any:
        raise DynamodbException(
            ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException", "slow down"
        )

    monkeypatch.setattr(DynamoDBBackend, "get_item", throttled)
    account.table_calls.clear()

    # When the first move looks twice
    pair = account.pairs[0]
    seen = [first.look([pair.interface_id], after=a_second_ago()) for _ in range(2)]

    # Then both looks were answered, from EC2 directly; DynamoDB was tried only once
    for look in seen:
        interface = look.interfaces[pair.interface_id]
        assert interface.attachment is not None
        assert interface.attachment.instance_id == pair.primary_instance_id
    assert account.describes == Counter({"DescribeNetworkInterfaces": 2})
    assert account.table_calls == Counter({"GetItem": 1})


def test_a_deleted_interface_reads_as_missing_and_blinds_no_other(account: Account) -> None:
    # Given two moves registered, and the interface one of them watches deleted
    pair, kept = account.pairs[0], account.pairs[1]
    gone = account.ec2.create_network_interface(SubnetId=pair.subnet_id)["NetworkInterface"][
        "NetworkInterfaceId"
    ]
    account.with_company()
    first = account.move("first", pair, interface_id=gone)
    account.move("second", kept)
    account.ec2.delete_network_interface(NetworkInterfaceId=gone)

    # When the move whose interface is gone looks
    seen = first.look([gone], after=a_second_ago())

    # Then its interface reads as missing, and the other's was described all the same
    assert not seen.interfaces[gone].exists
    assert seen.interfaces[kept.interface_id].exists
    assert account.describes == shared_looks_taken(1)


def test_many_interfaces_are_described_in_pages_of_200_ids(account: Account) -> None:
    # Given 201 interface IDs, of which four exist
    ids = [p.interface_id for p in account.pairs] + [
        f"eni-{n:017x}" for n in range(201 - len(account.pairs))
    ]

    # When they are described at once
    views = ec2.describe_many_interfaces(account.ec2, ids)

    # Then two calls covered them, and the unknown ones read as missing
    assert account.describes == Counter({"DescribeNetworkInterfaces": 2})
    assert sum(v.exists for v in views.values()) == len(account.pairs)
    assert len(views) == 201


def test_a_shared_look_at_interfaces_includes_every_moves_instances(
    account: Account,
) -> None:
    # Given two moves registered, one of them about to check its target before it attaches
    account.with_company()
    polling = account.move("polling", account.pairs[0])
    waiting = account.move("waiting", account.pairs[1])
    # (its last action a second ago: a look counts only if taken a margin after the action,
    # and on a quick machine the polling look below can come within that margin of now)
    asked = a_second_ago()

    # When the other move polls only its interfaces
    polling.look([account.pairs[0].interface_id], after=asked)

    # Then that look included the instances, and the waiting move reads its target from it
    # without another look
    target = account.pairs[1].standby_instance_id
    seen = waiting.look([], [target], after=asked)
    assert account.describes == Counter(
        {"DescribeNetworkInterfaces": 1, "DescribeInstances": 1, "DescribeInstanceStatus": 1}
    )
    assert seen.instances is not None
    assert seen.instances[target].running


def to_the_standby(pair: PairTopology) -> Move:
    """The pair's interface to its standby, the detach forced (a failed primary)."""
    planned = PlannedMove(
        interface_id=pair.interface_id,
        device_index=1,
        from_instance_id=pair.primary_instance_id,
        to_instance_id=pair.standby_instance_id,
    )
    return Move(moves=(planned,), force_detach=True, resuming=False)


class _Recorded:
    """A move's looks, recording what each look asked for."""

    def __init__(self, looks: SharedLooks) -> None:
        self.looks = looks
        self.sharing = looks.sharing
        self.asked: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        self.seen: list[Look] = []

    def look(
        self, interface_ids: Sequence[str], instance_ids: Sequence[str] = (), *, after: float
    ) -> Look:
        self.asked.append((tuple(interface_ids), tuple(instance_ids)))
        seen = self.looks.look(interface_ids, instance_ids, after=after)
        self.seen.append(seen)
        return seen


def test_a_shared_move_checks_its_target_from_the_poll_that_saw_the_detach(
    account: Account,
) -> None:
    # Given a move sharing its looks with company
    account.with_company()
    pair = account.pairs[0]
    looks = _Recorded(account.move("mover", pair))
    observed = ec2.describe_interfaces(account.ec2, [pair.interface_id])
    # When it moves the interface
    done = carry_out(
        account.ec2,
        to_the_standby(pair),
        observed,
        tuning=Tuning(poll_interval_seconds=0.05),
        budget_seconds=20,
        timeline=Timeline(SystemClock()),
        looks=looks,
    )
    # Then the interface is on the standby
    assert done.interfaces[pair.interface_id].attached_to(pair.standby_instance_id)
    # And the poll that saw the detach showed the target too (a shared look describes every
    # watched instance), so no look asked for the target alone before attaching
    assert looks.asked
    assert not [asked for asked in looks.asked if asked[0] == ()]


class _Late:
    """Looks read `age` seconds after they were taken, as a shared look often is."""

    def __init__(self, client: EC2Client, clock: FakeClock, *, age: float, sharing: bool) -> None:
        self.client = client
        self.clock = clock
        self.age = age
        self.sharing = sharing

    def look(
        self, interface_ids: Sequence[str], instance_ids: Sequence[str] = (), *, after: float
    ) -> Look:
        interfaces = ec2.describe_interfaces(self.client, interface_ids) if interface_ids else {}
        instances = ec2.describe_instances(self.client, instance_ids) if instance_ids else None
        taken_at = self.clock.now().timestamp() - self.age
        return Look(taken_at=taken_at, interfaces=interfaces, instances=instances)


@pytest.mark.parametrize(
    ("sharing", "pause_range"),
    [
        # Shared: the next poll is due an interval after the look was taken, not read.
        (True, (0.8 * 0.25 - 0.15, 1.2 * 0.25 - 0.15)),
        # A move's own look is read as it is taken: an interval from the reading.
        (False, (0.8 * 0.25, 1.2 * 0.25)),
    ],
)
def test_a_shared_move_polls_an_interval_after_the_look_it_read_was_taken(
    account: Account, sharing: bool, pause_range: tuple[float, float]
) -> None:
    # Given a move whose every look was taken 0.15 s before it read it, polling every 0.25 s
    pair = account.pairs[0]
    clock = FakeClock()
    looks = _Late(account.ec2, clock, age=0.15, sharing=sharing)
    observed = ec2.describe_interfaces(account.ec2, [pair.interface_id])

    # When it moves the interface
    done = carry_out(
        account.ec2,
        to_the_standby(pair),
        observed,
        tuning=Tuning(poll_interval_seconds=0.25),
        budget_seconds=600,
        timeline=Timeline(clock),
        looks=looks,
    )

    # Then it got there, pausing between polls for the rest of an interval (+/- jitter)
    assert done.interfaces[pair.interface_id].attached_to(pair.standby_instance_id)
    low, high = pause_range
    assert clock.slept
    assert all(low - 1e-9 <= pause <= high + 1e-9 for pause in clock.slept), clock.slept


def test_a_cold_move_learns_its_zone_from_its_interfaces_and_alone_pays_nothing_more(
    account: Account,
) -> None:
    # Given a sandbox that has never seen the pair's instances
    pair = account.pairs[0]
    ec2.ZONES.forget()
    account.describes.clear()
    # When its move registers, alone, and takes its first look
    alone = account.move("cold", pair)
    seen = alone.look(
        [pair.interface_id], (pair.primary_instance_id, pair.standby_instance_id), after=0.0
    )
    # Then it registered in its zone's items, and its first look reused the describe that
    # told the zone: one call per action, as a look of its own costs
    assert (alone.watch_id, alone.snapshot_id) == (
        f"{WATCH_ID}#us-east-1a",
        f"{SNAPSHOT_ID}#us-east-1a",
    )
    assert account.describes == shared_looks_taken(1)
    assert seen.instances is not None
    assert seen.instances[pair.standby_instance_id].running


def test_moves_in_different_zones_share_nothing(account: Account, sim: FaithfulEC2) -> None:
    # Given a move in another zone, registered beside the moves of us-east-1a
    other = build_pair(account.ec2, az="us-east-1b", name="elsewhere", sim=sim)
    account.with_company()
    here = account.move("here", account.pairs[0])
    there = account.move("there", other)
    # When the one in us-east-1b looks at its interface and instances
    seen = there.look(
        [other.interface_id], (other.primary_instance_id, other.standby_instance_id), after=0.0
    )
    # Then it looked alone: no other registered move in its zone, so it describes directly,
    # and the us-east-1a moves still share theirs
    assert not there.sharing
    assert here.sharing
    assert seen.instances is not None
    assert set(seen.instances) == {other.primary_instance_id, other.standby_instance_id}


def test_a_shared_poll_right_after_the_detach_shows_the_detach(account: Account) -> None:
    # Given a move sharing its looks, and another move that takes a shared look (so writes
    # a snapshot of the interface still attached) just before EC2 receives the detach
    account.with_company()
    pair = account.pairs[0]
    company = account.move("company", account.pairs[1])
    looks = _Recorded(account.move("mover", pair))
    observed = ec2.describe_interfaces(account.ec2, [pair.interface_id])
    taken_before: list[float] = []

    def look_before_the_detach(**_: Any) -> None:
        if not taken_before:
            taken_before.append(company.look([pair.interface_id], after=0.0).taken_at)

    account.ec2.meta.events.register(
        "before-call.ec2.DetachNetworkInterface", look_before_the_detach
    )
    # When the move detaches and polls
    done = carry_out(
        account.ec2,
        to_the_standby(pair),
        observed,
        tuning=Tuning(poll_interval_seconds=0.05),
        budget_seconds=20,
        timeline=Timeline(SystemClock()),
        looks=looks,
    )
    # Then the snapshot from before the detach was there to be read, yet the first poll
    # after the detach showed the interface detaching or detached, never still attached
    assert taken_before
    first_after = looks.seen[0].interfaces[pair.interface_id]
    assert first_after.attachment is None or first_after.attachment.status != "attached"
    assert all(seen.taken_at > taken_before[0] for seen in looks.seen)
    assert done.interfaces[pair.interface_id].attached_to(pair.standby_instance_id)
