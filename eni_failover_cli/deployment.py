"""Where the commands act: the deployed stack in AWS, or a sandbox on this machine.

Both give the same three things: the stack's outputs, the operator's own AWS clients (to
look at EC2, the alarm, the rule and the pair record, and to pause), and the failover
function to invoke. Only how the outputs are found and how the function runs differ, and
those two live-only paths are kept thin: `stack_outputs` and `invoke.DeployedFunction`.
"""

from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from eni_failover import pair_record
from eni_failover.clients import AwsClients
from eni_failover.contract import PAIRS_REQUEST
from eni_failover.pair_record import HOLDER_CLI, LeaseHolder, PairRecords
from eni_failover_cli.console import login_name
from eni_failover_cli.errors import CliError
from eni_failover_cli.invoke import DeployedFunction, Function, LocalFunctionRunner
from eni_failover_cli.outputs import PairOutputs, StackOutputs, pair_named, parse_pairs
from eni_failover_emulator.endpoint import emulator_clients
from eni_failover_emulator.sandbox_file import DEFAULT_SANDBOX_FILE, SandboxError, SandboxInfo

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

SANDBOX_ENVIRONMENT_VARIABLE = "ENI_FAILOVER_SANDBOX"
# Lambda's longest timeout: a synchronous invoke waits for the whole move, never less.
INVOKE_READ_TIMEOUT_SECONDS = 900


@dataclass
class Deployment:
    outputs: StackOutputs
    clients: AwsClients
    function: Function
    # Said in output so that nobody mistakes a sandbox for production, or the reverse.
    where: str
    # The function's code runs in this process (the sandbox), not in Lambda: Ctrl-C stops
    # a move it makes, where a deployed function's move goes on (interrupted.py).
    runs_locally: bool = False

    @property
    def records(self) -> PairRecords:
        return PairRecords(self.clients.dynamodb, self.outputs.state_table_name)

    @functools.cached_property
    def _listed(self) -> dict[str, Any]:
        """The function's list of its pairs, asked once per command."""
        return self.function.invoke(PAIRS_REQUEST)

    @property
    def pairs(self) -> tuple[PairOutputs, ...]:
        """Every pair the function protects, configured or discovered by tags."""
        return parse_pairs(self.outputs.stack_name, self._listed)

    @property
    def tag_problems(self) -> list[str]:
        """Tagged pairs the function will not act on, one line each."""
        return [str(problem) for problem in self._listed.get("tag_problems", [])]

    def pair(self, name: str) -> PairOutputs:
        """The named pair, or an error that lists the known ones."""
        return pair_named(self.outputs.stack_name, self.pairs, name)[0]

    def selected(self, name: str | None) -> tuple[PairOutputs, ...]:
        """One pair by name, or every pair."""
        return pair_named(self.outputs.stack_name, self.pairs, name)


def stack_outputs(client: CloudFormationClient, stack_name: str) -> dict[str, str]:
    """The stack's outputs by key (DescribeStacks)."""
    try:
        response = client.describe_stacks(StackName=stack_name)
    except ClientError as error:
        details = error.response.get("Error", {})
        message = details.get("Message", "")
        if details.get("Code") == "ValidationError" and "does not exist" in message:
            raise CliError(
                f"stack {stack_name} not found in {client.meta.region_name}: deploy it "
                "(`npx cdk deploy`), or pass --stack NAME / --region REGION, or use a "
                "sandbox (--sandbox)"
            ) from error
        raise CliError(
            f"could not read stack {stack_name}: {details.get('Code', 'Unknown')}: {message}"
        ) from error
    stacks = response.get("Stacks", [])
    if not stacks:
        raise CliError(f"stack {stack_name} not found in {client.meta.region_name}")
    return {
        str(o["OutputKey"]): str(o.get("OutputValue", ""))
        for o in stacks[0].get("Outputs", [])
        if "OutputKey" in o
    }


def connect_live(stack_name: str, region: str | None) -> Deployment:
    """The deployed stack, with the operator's credentials from the usual places."""
    try:
        session = boto3.Session(region_name=region)
        if session.region_name is None:
            raise NoRegionError
        outputs = StackOutputs.parse(
            stack_name, stack_outputs(session.client("cloudformation"), stack_name)
        )
        invoke_config = Config(
            read_timeout=INVOKE_READ_TIMEOUT_SECONDS,
            # Never repeat a move request because a response was slow.
            retries={"mode": "standard", "total_max_attempts": 1},
        )
        function = DeployedFunction(
            session.client("lambda", config=invoke_config), outputs.function_name
        )
        return Deployment(
            outputs=outputs,
            clients=AwsClients(session),
            function=function,
            where=f"stack {stack_name} in {session.region_name}",
        )
    except NoRegionError as error:
        raise CliError(
            "no AWS region: pass --region, or set AWS_DEFAULT_REGION, or give your profile "
            "a region (`region = ...` in ~/.aws/config, under the profile AWS_PROFILE names, "
            "else [default]; `aws configure set region REGION` writes it)"
            # The AWS CLI v2 and the SDKs of other languages read AWS_REGION; boto3 does not.
            + (
                "; AWS_REGION is set, but boto3 does not read it"
                if os.environ.get("AWS_REGION")
                else ""
            )
        ) from error
    except NoCredentialsError as error:
        raise CliError(
            "no AWS credentials found (set AWS_PROFILE or run `aws sso login`); to try the "
            "commands without AWS, start a sandbox: `eni-failover sandbox up`"
        ) from error
    except BotoCoreError as error:
        raise CliError(f"cannot reach AWS: {error}") from error


def sandbox_path(explicit: str | None) -> Path:
    """--sandbox FILE, else $ENI_FAILOVER_SANDBOX, else the default file in this directory."""
    return Path(explicit or os.environ.get(SANDBOX_ENVIRONMENT_VARIABLE) or DEFAULT_SANDBOX_FILE)


def connect_sandbox(path: Path) -> Deployment:
    """The sandbox that wrote `path`; the function's code runs in this process."""
    # Not at the top: the function's code (Powertools, pydantic models) loads slowly, and
    # the live commands never need it.
    from eni_failover_emulator.function import LocalFunction  # noqa: PLC0415

    try:
        info = SandboxInfo.read(path)
    except SandboxError as error:
        raise CliError(str(error)) from error
    ensure_running(info, path)
    function = LocalFunction(
        info.function.environment,
        name=info.function.name,
        timeout_seconds=info.function.timeout_seconds,
        endpoint_url=info.endpoint,
        region=info.region,
        local_run=this_process(),
    )
    return Deployment(
        outputs=StackOutputs.parse(info.stack_name, info.outputs),
        clients=sandbox_clients(info.endpoint, info.region),
        function=LocalFunctionRunner(function),
        where=f"sandbox {path} ({info.endpoint})",
        runs_locally=True,
    )


@functools.lru_cache(maxsize=4)
def sandbox_clients(endpoint: str, region: str) -> AwsClients:
    """Clients on the sandbox's endpoint with fake credentials.

    Kept for the process: a new session loads botocore's endpoint data (~0.4 s), which adds
    up when one process runs many commands (the tests, a script calling main()).
    """
    return emulator_clients(endpoint, region)


def ensure_running(info: SandboxInfo, path: Path) -> None:
    if not process_alive(info.pid):
        raise CliError(
            f"the sandbox in {path} is not running (process {info.pid} is gone); start it "
            "again with `eni-failover sandbox up`"
        )


def process_alive(pid: int) -> bool:
    return pair_record.process_alive(pid)


def this_process() -> LeaseHolder:
    """This CLI process, as the pair leases its local runs take name it: who finds a pair
    busy is told whose run holds it, and a rerun on this host takes over the lease of a run
    whose process is gone (Ctrl-C, a kill) instead of waiting for it to expire."""
    return LeaseHolder(
        kind=HOLDER_CLI,
        host=socket.gethostname(),
        pid=os.getpid(),
        user=login_name(),
    )
