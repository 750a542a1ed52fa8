"""Fixtures for the simulator's own tests: fake credentials, both transports, a manual clock.

Every EC2 test runs twice: in-process under mock_aws, and over HTTP through a
ThreadedMotoServer on 127.0.0.1 (the way a second process or the demo reaches moto).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import boto3
import botocore.endpoint
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.server import ThreadedMotoServer

from eni_failover_ec2sim import FaithfulEC2, ManualClock

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

REGION = "us-east-1"
IN_PROCESS = "in-process"
SERVER = "server"

StartSim = Callable[..., FaithfulEC2]
MakeClient = Callable[..., "EC2Client"]


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, so nothing can reach a real account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # The pair uses a made-up image ID; moto's ~1300 sample AMIs cost 0.3 s per test.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@pytest.fixture(scope="session")
def moto_server_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=[IN_PROCESS, SERVER])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    if name == SERVER:
        monkeypatch.setenv("AWS_ENDPOINT_URL", request.getfixturevalue("moto_server_url"))
    return name


@pytest.fixture(scope="session")
def client_cache() -> dict[tuple[str, str], EC2Client]:
    """Building an EC2 client takes botocore about 0.4 s; moto state does not live in it."""
    return {}


@pytest.fixture
def make_client(
    transport: str, client_cache: dict[tuple[str, str], EC2Client]
) -> Iterator[MakeClient]:
    """EC2 clients on fresh moto state; without retries unless a test asks for them."""
    with mock_aws():

        def make(**retries: Any) -> EC2Client:
            settings = {"mode": "standard", "total_max_attempts": 1, **retries}
            key = (transport, repr(sorted(settings.items())))
            if key not in client_cache:
                config = Config(retries=settings)  # type: ignore[arg-type]
                client_cache[key] = boto3.client("ec2", region_name=REGION, config=config)
            return client_cache[key]

        yield make


@pytest.fixture
def ec2(make_client: MakeClient) -> EC2Client:
    return make_client()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1000.0)


@pytest.fixture
def start_sim(clock: ManualClock) -> Iterator[StartSim]:
    """Install a simulator (on the manual clock unless told otherwise) until the test ends."""
    with ExitStack() as stack:

        def start(**options: Any) -> FaithfulEC2:
            options.setdefault("clock", clock)
            return stack.enter_context(FaithfulEC2(**options))

        yield start


@pytest.fixture
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry backoff, recorded instead of slept (only botocore's sleep)."""
    slept: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=slept.append))
    return slept
