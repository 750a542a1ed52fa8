"""The journal in the pair record: what a resumed move reads back, old entries included."""

from __future__ import annotations

from datetime import UTC, datetime

from eni_failover.pair_record import PairRecords, PlannedMove
from eni_failover_emulator.deployment import LocalDeployment

PRIMARY = "i-0123456789abcdef0"
STANDBY = "i-0fedcba9876543210"
ENI = "eni-0123456789abcdef0"


def records(deployment: LocalDeployment) -> PairRecords:
    return PairRecords(deployment.clients.dynamodb, deployment.resources.state_table_name)


def test_the_journal_keeps_each_interfaces_network_card_and_device_index(
    deployment: LocalDeployment,
) -> None:
    # Given the lease on a pair, and a move on network card 2
    store = records(deployment)
    now = datetime.now(UTC)
    assert store.try_acquire("nat", owner="me", now=now, hold_seconds=60) is not None
    move = PlannedMove(ENI, 1, PRIMARY, STANDBY, network_card_index=2)

    # When it is journaled and read back
    store.write_journal("nat", owner="me", trigger_id="t1", moves=(move,))

    # Then the card and the device index come back
    assert store.read("nat").journal == (move,)


def test_a_journal_entry_written_before_network_cards_reads_as_card_0(
    deployment: LocalDeployment,
) -> None:
    # Given a journal entry in the form an earlier version wrote it, without a card
    client = deployment.clients.dynamodb
    client.put_item(
        TableName=deployment.resources.state_table_name,
        Item={
            "id": {"S": "pair#nat"},
            "journal_trigger_id": {"S": "t0"},
            "journal": {
                "L": [
                    {
                        "M": {
                            "interface_id": {"S": ENI},
                            "device_index": {"N": "3"},
                            "from_instance_id": {"S": PRIMARY},
                            "to_instance_id": {"S": STANDBY},
                        }
                    }
                ]
            },
        },
    )

    # When the record is read
    [entry] = records(deployment).read("nat").journal

    # Then the interface was on card 0, where every interface was before cards were kept
    assert (entry.network_card_index, entry.device_index) == (0, 3)
