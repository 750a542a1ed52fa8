"""Installing and removing the simulator, and the small parts it is built from."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from moto.ec2.models import EC2Backend
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.instances import Instance
from moto.ec2.responses import EC2Response

from eni_failover_ec2sim import FaithfulEC2, ManualClock, build_pair
from eni_failover_ec2sim.lifecycle import Delay
from eni_failover_ec2sim.traffic import TokenBucket
from tests.sim.conftest import IN_PROCESS, REGION, StartSim
from tests.sim.views import attachment_status, interface

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def _moto_class_attributes() -> dict[str, object]:
    classes: list[type] = [EC2Response, EC2Backend, Instance, NetworkInterface]
    return {
        f"{cls.__name__}.{name}": value
        for cls in classes
        for name, value in vars(cls).items()
        if not name.startswith("__")  # Python adds __annotations__ lazily
    }


@pytest.mark.parametrize("transport", [IN_PROCESS], indirect=True)
def test_leaving_the_simulator_restores_plain_moto(ec2: EC2Client, clock: ManualClock) -> None:
    # Given moto's classes as they were before any simulator
    before = _moto_class_attributes()

    # When a simulator is entered and left
    with FaithfulEC2(clock=clock) as sim:
        pair = build_pair(ec2, sim=sim)

    # Then every class attribute is moto's own again, and moto's permissiveness is back:
    # it attaches an interface that is already in use
    assert _moto_class_attributes() == before
    ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )


def test_only_one_simulator_can_be_installed(start_sim: StartSim) -> None:
    # Given an installed simulator
    start_sim()

    # When a second one is entered
    # Then it is refused: two sets of patches would fight over moto's classes
    with pytest.raises(RuntimeError, match="already installed"), FaithfulEC2():
        pass


@pytest.mark.parametrize("transport", [IN_PROCESS], indirect=True)
def test_the_server_and_the_in_process_mock_see_one_simulated_ec2(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock, moto_server_url: str
) -> None:
    # Given a pair built in-process and a client that talks HTTP to the server
    sim = start_sim(detach_seconds=1.0)
    pair = build_pair(ec2, sim=sim)
    over_http = boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=moto_server_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )

    # When the interface is detached over HTTP
    over_http.detach_network_interface(AttachmentId=pair.attachment_id)

    # Then the in-process client sees it detaching, and then detached, on the one clock
    assert attachment_status(ec2, pair.interface_id) == "detaching"
    clock.advance(1.0)
    assert interface(over_http, pair.interface_id)["Status"] == "available"
    assert sim.calls["DetachNetworkInterface"] == 1


@pytest.mark.parametrize("transport", [IN_PROCESS], indirect=True)
def test_settle_finishes_changes_in_flight_but_not_hung_ones(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given one interface detaching slowly and another whose detach hangs
    sim = start_sim(detach_seconds=60.0)
    slow = build_pair(ec2, sim=sim)
    hung = build_pair(ec2, sim=sim)
    sim.hang_detach(hung.interface_id)
    for pair in (slow, hung):
        ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # When the simulator is settled
    sim.settle()

    # Then the slow one is done and the hung one still waits for Force
    assert interface(ec2, slow.interface_id)["Status"] == "available"
    assert attachment_status(ec2, hung.interface_id) == "detaching"


def test_manual_clock_moves_only_forward_and_sleeps_by_advancing() -> None:
    # Given a manual clock
    clock = ManualClock(start=5.0)

    # When code under test sleeps on it
    clock.sleep(2.5)

    # Then time has moved without waiting, and cannot be moved back
    assert clock() == 7.5
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1.0)


def test_token_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    # Given a bucket of 2 tokens refilled at 4 per second, emptied at t=0
    bucket = TokenBucket(rate_per_second=4.0, burst=2, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [True, True, False]

    # When a quarter of a second passes, and then a long time
    # Then one token is back, and never more than the burst
    assert [bucket.take(0.25), bucket.take(0.25)] == [True, False]
    assert [bucket.take(100.0) for _ in range(3)] == [True, True, False]


def test_a_delay_is_in_seconds_or_in_polls_not_both() -> None:
    # Given / When a delay is given both ways, or negative
    # Then it is refused
    with pytest.raises(ValueError, match="not both"):
        Delay(seconds=1.0, polls=2)
    with pytest.raises(ValueError, match="negative"):
        Delay(seconds=-1.0)
    with pytest.raises(ValueError, match="not both"):
        FaithfulEC2(attach_seconds=1.0, attach_polls=1)


def test_unknown_status_values_are_rejected(start_sim: StartSim) -> None:
    # Given a simulator
    sim = start_sim()

    # When a status check is set to something EC2 never reports
    # Then it is refused before any test can rely on it
    with pytest.raises(ValueError, match="status check"):
        sim.set_status("i-0123456789abcdef0", system="broken")  # type: ignore[arg-type]
