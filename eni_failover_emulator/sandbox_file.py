"""The sandbox file: how other processes find a running sandbox (eni_failover_emulator.sandbox).

Kept apart from the sandbox itself so that reading it imports neither moto nor the handler.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

DEFAULT_SANDBOX_FILE = ".eni-failover-sandbox.json"
SANDBOX_FILE_VERSION: Literal[1] = 1


class SandboxError(RuntimeError):
    """The sandbox cannot start, or its file cannot be used; the message says why."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SandboxFunction(_Model):
    name: str
    environment: dict[str, str]
    timeout_seconds: float


class SandboxPair(_Model):
    name: str
    primary_instance_id: str
    standby_instance_id: str
    interface_id: str
    private_ips: tuple[str, ...]
    public_ip: str | None
    mac_address: str


class SandboxInfo(_Model):
    """What the sandbox file holds: enough for another process to use the sandbox."""

    version: Literal[1] = SANDBOX_FILE_VERSION
    pid: int
    endpoint: str
    region: str
    account_id: str
    stack_name: str
    started_at: datetime
    outputs: dict[str, str]  # as `aws cloudformation describe-stacks` would list them
    function: SandboxFunction
    inbox_queue_url: str  # an SQS subscription of the notification topic: the "inbox"
    pair: SandboxPair

    def write(self, path: Path) -> None:
        """Replace the file in one step, so a reader never sees half of it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=f".{path.name}.", delete=False
        ) as partial:
            partial.write(self.model_dump_json(indent=2) + "\n")
        Path(partial.name).replace(path)

    @classmethod
    def read(cls, path: Path) -> SandboxInfo:
        try:
            text = path.read_text()
        except FileNotFoundError as error:
            raise SandboxError(
                f"no sandbox file at {path}; start a sandbox with `eni-failover sandbox up` "
                "(or `eni-failover sandbox up --background`)"
            ) from error
        except OSError as error:
            raise SandboxError(f"cannot read the sandbox file {path}: {error}") from error
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            raise SandboxError(
                f"{path} is not a sandbox file of this version ({error.error_count()} "
                "problem(s)); stop that sandbox and start a new one"
            ) from error
