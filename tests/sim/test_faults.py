"""Injected faults, throttling and call counts, as botocore's retry handler sees them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from eni_failover_ec2sim import CallEvent, ManualClock, build_pair
from tests.sim.conftest import IN_PROCESS, MakeClient, StartSim
from tests.sim.views import error_code, instance_state, interface

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

RETRY_BUDGET = {"mode": "standard", "total_max_attempts": 5}


def test_throttling_within_the_retry_budget_is_retried_and_succeeds(
    make_client: MakeClient, start_sim: StartSim, retry_sleeps: list[float]
) -> None:
    # Given a client in standard retry mode with 5 attempts, and 4 throttled attaches ahead
    ec2 = make_client(**RETRY_BUDGET)
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    sim.reset_counts()
    sim.fail("AttachNetworkInterface", "RequestLimitExceeded", "Request limit exceeded.", times=4)

    # When the interface is attached to the standby
    response = ec2.attach_network_interface(
        NetworkInterfaceId=pair.interface_id, InstanceId=pair.standby_instance_id, DeviceIndex=1
    )

    # Then botocore retried with backoff and the fifth attempt attached it
    assert response["ResponseMetadata"]["RetryAttempts"] == 4
    assert len(retry_sleeps) == 4
    assert sim.calls["AttachNetworkInterface"] == 5
    assert interface(ec2, pair.interface_id)["Attachment"]["InstanceId"] == (
        pair.standby_instance_id
    )


def test_throttling_beyond_the_retry_budget_reaches_the_caller(
    make_client: MakeClient, start_sim: StartSim, retry_sleeps: list[float]
) -> None:
    # Given a 5-attempt budget and 6 throttled detaches ahead
    ec2 = make_client(**RETRY_BUDGET)
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    sim.reset_counts()
    sim.fail("DetachNetworkInterface", "RequestLimitExceeded", times=6)

    # When the interface is detached
    with pytest.raises(ClientError) as excinfo:
        ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # Then the caller gets RequestLimitExceeded after 5 attempts, and nothing was detached
    assert error_code(excinfo) == "RequestLimitExceeded"
    # (EC2 throttles with HTTP 503, not the 400 moto gives every error)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert sim.calls["DetachNetworkInterface"] == 5
    assert interface(ec2, pair.interface_id)["Attachment"]["Status"] == "attached"
    # The sixth fault is still queued: the next detach needs one retry
    retried = ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    assert retried["ResponseMetadata"]["RetryAttempts"] == 1


def test_a_non_retryable_fault_is_not_retried(
    make_client: MakeClient, start_sim: StartSim, retry_sleeps: list[float]
) -> None:
    # Given an authorisation failure injected into DescribeInstanceStatus
    ec2 = make_client(**RETRY_BUDGET)
    sim = start_sim()
    sim.fail("DescribeInstanceStatus", "UnauthorizedOperation")

    # When statuses are described
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_instance_status()

    # Then the error comes back at once, with EC2's code
    assert error_code(excinfo) == "UnauthorizedOperation"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert retry_sleeps == []
    assert sim.calls["DescribeInstanceStatus"] == 1


def test_faults_need_a_real_operation_name(start_sim: StartSim) -> None:
    # Given a simulator
    sim = start_sim()

    # When a fault names an action EC2 does not have
    # Then it is refused rather than silently never firing
    with pytest.raises(ValueError, match="not an EC2 API action"):
        sim.fail("AttachInterface", "RequestLimitExceeded")


def test_a_callback_runs_after_a_successful_call_and_can_change_the_scene(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a callback that stops the standby right after the detach succeeds
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    seen: list[CallEvent] = []

    def stop_standby(event: CallEvent) -> None:
        seen.append(event)
        ec2.stop_instances(InstanceIds=[pair.standby_instance_id])

    sim.on("DetachNetworkInterface", stop_standby, times=1)

    # When the interface is detached (twice: the callback was for one call only)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # Then the callback saw the call and the standby is stopped before anything else
    assert [(event.operation, event.params["AttachmentId"]) for event in seen] == [
        ("DetachNetworkInterface", pair.attachment_id)
    ]
    assert instance_state(ec2, pair.standby_instance_id) == "stopped"


def test_a_callback_is_not_run_for_a_failed_call(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given a callback on attach and an attach EC2 will refuse
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    seen: list[CallEvent] = []
    sim.on("AttachNetworkInterface", seen.append)

    # When the attached interface is attached again
    with pytest.raises(ClientError) as refused:
        ec2.attach_network_interface(
            NetworkInterfaceId=pair.interface_id,
            InstanceId=pair.standby_instance_id,
            DeviceIndex=1,
        )

    # Then EC2 refused it as it refuses an interface already in use, and the callback did
    # not run
    assert refused.value.response["Error"]["Code"] == "InvalidNetworkInterface.InUse"
    assert seen == []


class CallerKilled(Exception):
    """The caller's process died right after its request took effect."""


def test_a_raising_callback_kills_the_caller_after_the_change(
    ec2: EC2Client, start_sim: StartSim, transport: str
) -> None:
    if transport != IN_PROCESS:
        pytest.skip("through the server a callback's exception is an HTTP 500, retried")
    # Given a callback that "kills" the caller right after the detach took effect
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)

    def kill(event: CallEvent) -> None:
        raise CallerKilled(event.operation)

    sim.on("DetachNetworkInterface", kill)

    # When the interface is detached
    with pytest.raises(CallerKilled):
        ec2.detach_network_interface(AttachmentId=pair.attachment_id)

    # Then the caller never saw a response, but the detach happened
    assert interface(ec2, pair.interface_id)["Status"] == "available"


def test_rate_limit_throttles_each_action_from_its_own_bucket(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock
) -> None:
    # Given 1 request per second with a burst of 2, for every action
    sim = start_sim()
    pair = build_pair(ec2, sim=sim)
    sim.rate_limit(rate_per_second=1.0, burst=2)

    # When three describes of each kind arrive at the same instant
    def outcome(call: Callable[[], object]) -> str:
        try:
            call()
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "ok"

    def describe_interface() -> object:
        return ec2.describe_network_interfaces(NetworkInterfaceIds=[pair.interface_id])

    def describe_status() -> object:
        return ec2.describe_instance_status(InstanceIds=[pair.primary_instance_id])

    interface_results = [outcome(describe_interface) for _ in range(3)]
    status_results = [outcome(describe_status) for _ in range(3)]

    # Then each action's third is throttled, counted per action, and a second later
    # the bucket has a token again
    assert interface_results == ["ok", "ok", "RequestLimitExceeded"]
    assert status_results == ["ok", "ok", "RequestLimitExceeded"]
    assert sim.throttled == {"DescribeNetworkInterfaces": 1, "DescribeInstanceStatus": 1}
    clock.advance(1.0)
    assert outcome(describe_interface) == "ok"


def test_rate_limit_can_be_limited_to_some_actions(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given a limit on DescribeInstanceStatus only, with a burst of 1
    sim = start_sim()
    sim.rate_limit(rate_per_second=0.5, burst=1, operations=["DescribeInstanceStatus"])

    # When both actions are called twice at once
    for _ in range(2):
        ec2.describe_network_interfaces()
    ec2.describe_instance_status()
    with pytest.raises(ClientError) as throttled:
        ec2.describe_instance_status()

    # Then only the limited action was throttled, as EC2 says it
    assert throttled.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert sim.throttled == {"DescribeInstanceStatus": 1}


def test_calls_are_counted_exactly_from_many_threads(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given a simulator with its counts reset
    sim = start_sim()
    ec2.describe_instances()
    sim.reset_counts()

    # When 8 threads describe instances 10 times each
    barrier = threading.Barrier(8)

    def describe_ten_times() -> None:
        barrier.wait()
        for _ in range(10):
            ec2.describe_instances()

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(describe_ten_times) for _ in range(8)]:
            future.result()

    # Then every call was counted
    assert sim.calls == {"DescribeInstances": 80}


def test_concurrent_attaches_of_one_interface_let_exactly_one_win(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the floating interface detached, and 8 standbys in its AZ
    sim = start_sim(attach_seconds=1.0)
    pair = build_pair(ec2, sim=sim)
    ec2.detach_network_interface(AttachmentId=pair.attachment_id)
    standbys = [
        instance["InstanceId"]
        for instance in ec2.run_instances(
            ImageId="ami-0123456789abcdef0", MinCount=8, MaxCount=8, SubnetId=pair.subnet_id
        )["Instances"]
    ]

    # When all of them race to attach it at once
    barrier = threading.Barrier(len(standbys))

    def attach(instance_id: str) -> str:
        barrier.wait()
        try:
            ec2.attach_network_interface(
                NetworkInterfaceId=pair.interface_id, InstanceId=instance_id, DeviceIndex=1
            )
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "attached"

    with ThreadPoolExecutor(max_workers=len(standbys)) as pool:
        outcomes = list(pool.map(attach, standbys))

    # Then one attach won and every other one was told the interface is in use
    assert Counter(outcomes) == {"attached": 1, "InvalidNetworkInterface.InUse": 7}
