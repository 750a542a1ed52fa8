"""Settings every test shares: fake credentials, quiet Powertools, nothing reaches AWS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from eni_failover import ec2
from eni_failover.observability import metrics
from eni_failover_ec2sim import FaithfulEC2
from eni_failover_emulator.deployment import sample_template

FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "eni-failover",
    "POWERTOOLS_SERVICE_NAME": "eni-failover",
    "POWERTOOLS_METRICS_NAMESPACE": "EniFailover",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}


# Before collection: the jsii runtime starts when a test module imports aws_cdk.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# moto's ~1,300 sample AMIs cost a fraction of a second per backend; the tests need none.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


@pytest.fixture(autouse=True)
def _fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in FAKE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    yield
    metrics.clear_metrics()


@pytest.fixture(autouse=True)
def _cold_zone_memory() -> None:
    """Every test starts as a cold sandbox: no instance's zone known, no zone failing (moto
    reuses zone names across tests, and a failing zone is remembered for minutes)."""
    ec2.ZONES.forget()


# Short enough for a quick suite, long enough that every poll loop really polls.
ATTACH_SECONDS = 0.15
DETACH_SECONDS = 0.25
FORCE_DETACH_SECONDS = 0.1


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[FaithfulEC2]:
    """moto's AWS with the faithful EC2 installed, for the integration and fault tests.

    A test can pass more FaithfulEC2 options by parametrizing it indirectly:
    `@pytest.mark.parametrize("sim", [{"terminated_status_not_found": True}], indirect=True)`.
    """
    options: dict[str, Any] = getattr(request, "param", {})
    with (
        mock_aws(),
        FaithfulEC2(
            attach_seconds=ATTACH_SECONDS,
            detach_seconds=DETACH_SECONDS,
            force_detach_seconds=FORCE_DETACH_SECONDS,
            **options,
        ) as simulator,
    ):
        yield simulator


@pytest.fixture(scope="session")
def stack_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The stack as `cdk synth` writes it, cdk-nag included, for the deployments the
    integration and fault tests stand up: synthesized once per run, as it takes seconds."""
    return sample_template(tmp_path_factory.mktemp("stack"))
