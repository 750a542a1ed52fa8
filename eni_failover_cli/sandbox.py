"""`eni-failover sandbox up|down|inbox`: a local stand-in for the deployed stack.

`up` runs the emulator's sandbox in the foreground (Ctrl-C stops it) or, with --background, in a
process of its own that outlives the command; either way the sandbox file says where it
is, and `--sandbox` (or ENI_FAILOVER_SANDBOX) makes the other commands use it. `down`
stops the process the file names, after checking it is a sandbox. `inbox` shows what the
notification topic sent, which in AWS would be the operators' email.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eni_failover.outcome import JSON_MARKER
from eni_failover_cli.console import Console
from eni_failover_cli.deployment import ensure_running, process_alive
from eni_failover_cli.errors import CliError, ExitCode
from eni_failover_emulator.endpoint import emulator_clients
from eni_failover_emulator.sandbox_file import SandboxError, SandboxInfo

if TYPE_CHECKING:
    from eni_failover_emulator.sandbox import SandboxOptions

DEFAULT_WAIT_SECONDS = 180.0  # a first start synthesizes the CDK app
# How long `inbox` keeps the messages it read out of other readers' sight while it shows
# them; past it (a reader that stalls for a minute) they simply show again.
INBOX_HOLD_SECONDS = 60

INSTALL_SANDBOX_EXTRA = "pip install 'eni-failover[sandbox]'"
# The sandbox extra's packages (pyproject.toml), each by a module it provides: moto's server
# for the emulator, and the CDK libraries for the app it synthesizes.
SERVER_PACKAGES = {"moto": "moto[server]", "flask": "moto[server]"}
CDK_PACKAGES = {"aws_cdk": "aws-cdk-lib", "constructs": "constructs", "cdk_nag": "cdk-nag"}
# A module of ours that fails to import is a bug to show, not an extra to install.
OWN_PACKAGES = frozenset(
    {
        "eni_failover_cli",
        "eni_failover",
        "eni_failover_cdk",
        "eni_failover_emulator",
        "eni_failover_ec2sim",
    }
)


@contextmanager
def needs_sandbox_extra(
    command: str, *, server: bool = True, synthesizes: bool = False
) -> Iterator[None]:
    """Every import of the emulator's moto-backed modules goes through this.

    Without what the command needs, it ends with one line naming everything missing at
    once (the sandbox extra's packages with the pip command, and Node.js for a command
    that synthesizes the CDK app), not a traceback, and not one thing per attempt. The
    packages are looked up before anything imports them, so that `--background` refuses
    before it starts a process; a module that is missing all the same is caught as it
    fails to import. `server` is False for a command that only talks to a running sandbox
    (`--sandbox`): boto3 and the function's code are enough, moto runs in the sandbox.
    """
    wanted = (SERVER_PACKAGES if server else {}) | (CDK_PACKAGES if synthesizes else {})
    missing = ", ".join(
        sorted({package for module, package in wanted.items() if not _installed(module)})
    )
    no_node = synthesizes and shutil.which("node") is None
    if missing and no_node:
        raise CliError(
            f"`eni-failover {command}` needs two things this machine lacks: the sandbox "
            f"extra (missing {missing}; install it with: {INSTALL_SANDBOX_EXTRA}) and "
            f"{NODE} (the CDK libraries it synthesizes the app with run on it)"
        )
    if missing:
        raise CliError(_extra_missing(command, missing))
    if no_node:
        raise CliError(
            f"`eni-failover {command}` synthesizes the CDK app, and the CDK libraries need "
            f"Node.js: install {NODE}"
        )
    try:
        yield
    except ModuleNotFoundError as error:
        name = error.name or str(error)
        if name.partition(".")[0] in OWN_PACKAGES:
            raise
        raise CliError(_extra_missing(command, name)) from error


# Node.js comes with no pip package: the CDK libraries (jsii) run it.
NODE = "Node.js 20 or later so that `node` is on PATH"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package that cannot be imported
        return False


def _extra_missing(command: str, what: str) -> str:
    return (
        f"`eni-failover {command}` needs the sandbox extra, which is not installed here "
        f"(missing {what}); install it with: {INSTALL_SANDBOX_EXTRA}"
    )


def log_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".json") + ".log")


def up_foreground(
    console: Console, path: Path, options: SandboxOptions
) -> tuple[ExitCode, None, str]:
    """Run the sandbox in this process until Ctrl-C or SIGTERM (`sandbox down`)."""
    with needs_sandbox_extra("sandbox up"):
        from eni_failover_emulator.sandbox import Sandbox  # noqa: PLC0415 - moto and the handler load slowly
        from eni_failover_emulator.template import TemplateError  # noqa: PLC0415

    _refuse_if_running(path)
    started = time.monotonic()

    live: list[Callable[[str], None]] = [_unchanged]

    def narrate(text: str) -> None:
        console.progress(f"[{time.monotonic() - started:7.2f}s] {text}")
        live[0](f"starting the sandbox: {text}")

    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        with contextlib.ExitStack() as running:
            # The live line shows while the sandbox starts (synthesizing takes a while).
            with console.waiting("starting the sandbox: synthesizing the app") as update:
                live[0] = update
                try:
                    sandbox = running.enter_context(Sandbox.start(options, narrate=narrate))
                except (SandboxError, TemplateError) as error:
                    raise CliError(f"the sandbox did not start: {error}") from error
            live[0] = _unchanged
            sandbox.info.write(path)
            try:
                console.result(
                    _summary(sandbox.info, path), describe(sandbox.info, path, background=False)
                )
                while not stopping.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
            finally:
                narrate("stopping")
                _remove_if_ours(path, os.getpid())
    finally:
        signal.signal(signal.SIGTERM, previous)
    return ExitCode.OK, None, ""


def up_background(
    console: Console, path: Path, arguments: list[str], *, wait_seconds: float
) -> tuple[ExitCode, dict[str, Any], str]:
    """Start `sandbox up` in a process of its own and wait until its file says it is up."""
    _refuse_if_running(path)
    log = log_path(path)
    command = [
        sys.executable,
        "-m",
        "eni_failover_cli",
        f"--sandbox={path.resolve()}",
        "sandbox",
        "up",
    ]
    with log.open("w") as output:
        child = subprocess.Popen(  # noqa: S603 - this interpreter, this package
            [*command, *arguments],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in this shell must not stop it
        )
    console.progress(f"starting the sandbox in process {child.pid} (log: {log})")
    started = time.monotonic()
    deadline = started + wait_seconds
    waiting = f"waiting for the sandbox to be up (synthesizing the app; up to {wait_seconds:g} s)"
    with console.waiting(waiting) as update:
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise CliError(
                    f"the sandbox process exited ({child.returncode}) before it was up; its "
                    f"log {log} ends with:\n{_tail(log)}"
                )
            info = _read_quietly(path)
            if info is not None and info.pid == child.pid:
                return ExitCode.OK, _summary(info, path), describe(info, path, background=True)
            time.sleep(0.2)
            update(f"{waiting}: {time.monotonic() - started:.0f} s")
    child.terminate()
    raise CliError(f"the sandbox was not up after {wait_seconds:g} s; its log {log}:\n{_tail(log)}")


def _unchanged(_: str) -> None:
    """No live line to change (the sandbox is up, or there is no terminal)."""


def down(path: Path, *, wait_seconds: float) -> tuple[ExitCode, dict[str, Any], str]:
    info = _read_quietly(path)
    if info is None:
        return ExitCode.OK, {"stopped": None}, f"no sandbox file at {path}; nothing to stop"
    pid = info.pid
    if pid == os.getpid():
        raise CliError(f"the sandbox in {path} runs in this very process; stop it there")
    if not _alive(pid):
        path.unlink(missing_ok=True)
        return ExitCode.OK, {"stopped": None}, f"the sandbox {pid} was not running; removed {path}"
    if not _is_sandbox(pid):
        path.unlink(missing_ok=True)
        raise CliError(
            f"process {pid} named in {path} is not an eni-failover sandbox (the file is stale); "
            "removed the file and stopped nothing"
        )
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            raise CliError(f"sandbox process {pid} did not stop within {wait_seconds:g} s")
        time.sleep(0.1)
    _remove_if_ours(path, pid)
    return ExitCode.OK, {"stopped": pid}, f"sandbox stopped (process {pid})"


def inbox(
    console: Console, path: Path, *, keep: bool, check_stack: Callable[[str], None]
) -> tuple[ExitCode, None, str]:
    """Show what the notification topic delivered to the sandbox's stand-in inbox; take it
    (delete it) only once all of it is written, and not at all with `keep`.

    Each message is held out of sight while this runs, then deleted, or with `keep` (or a
    broken pipe, which raises on) made visible again: what a reader may not have seen is
    never lost.
    """
    from eni_failover_emulator.delivery import hold_all, release, take  # noqa: PLC0415

    try:
        info = SandboxInfo.read(path)
    except SandboxError as error:
        raise CliError(str(error)) from error
    ensure_running(info, path)
    check_stack(info.stack_name)
    sqs = emulator_clients(info.endpoint, info.region).sqs
    held = hold_all(sqs, info.inbox_queue_url, seconds=INBOX_HOLD_SECONDS)
    messages = []
    for body, _ in held:
        envelope = json.loads(body)
        messages.append(
            {
                "subject": envelope.get("Subject"),
                "message": envelope.get("Message", ""),
                "sent_at": envelope.get("Timestamp"),
            }
        )
    if not messages:
        text = "No new notifications."
    else:
        text = "\n\n".join(
            f"--- {m['sent_at']}\nSubject: {m['subject']}\n\n{_without_machine_part(m['message'])}"
            for m in messages
        )
        if keep:
            text += f"\n\n(--peek: kept {len(messages)} in the inbox; `sandbox inbox` takes them)"
    receipts = [receipt for _, receipt in held]
    try:
        console.result({"messages": messages, "kept": keep}, text)
    except BrokenPipeError:
        release(sqs, info.inbox_queue_url, receipts)
        raise
    if keep:
        release(sqs, info.inbox_queue_url, receipts)
    else:
        take(sqs, info.inbox_queue_url, receipts)
    return ExitCode.OK, None, ""


def _without_machine_part(message: str) -> str:
    # An outcome's email ends with its JSON for machines (--json shows it); a person
    # reads the rest.
    return message.split(JSON_MARKER, 1)[0].rstrip()


def describe(info: SandboxInfo, path: Path, *, background: bool) -> str:
    pair = info.pair
    shown = path.resolve()
    return "\n".join(
        [
            f"ENI Failover sandbox is up (process {info.pid}).",
            f"  endpoint      {info.endpoint} (moto server with the faithful EC2)",
            f"  stack         {info.stack_name}, from the installed CDK app (eni_failover_cdk)",
            f"  pair {pair.name:<8} primary {pair.primary_instance_id}, "
            f"standby {pair.standby_instance_id}",
            f"                floating {pair.interface_id} ({', '.join(pair.private_ips)}, "
            f"Elastic IP {pair.public_ip or '-'})",
            f"  sandbox file  {shown}",
            "",
            "Use it from any shell in this directory with --sandbox, or:",
            f"  export ENI_FAILOVER_SANDBOX={shown}",
            "  eni-failover status",
            f"  eni-failover drill {pair.name}",
            "Stop it with `eni-failover sandbox down`"
            + ("." if background else ", or Ctrl-C here."),
        ]
    )


def _summary(info: SandboxInfo, path: Path) -> dict[str, Any]:
    return {"sandbox_file": str(path.resolve()), **info.model_dump(mode="json")}


def _refuse_if_running(path: Path) -> None:
    info = _read_quietly(path)
    if info is not None and info.pid != os.getpid() and _alive(info.pid):
        raise CliError(
            f"a sandbox is already running (process {info.pid}, {info.endpoint}, file {path}); "
            "use it, or stop it first with `eni-failover sandbox down`"
        )


def _read_quietly(path: Path) -> SandboxInfo | None:
    try:
        return SandboxInfo.read(path)
    except SandboxError:
        return None


def _remove_if_ours(path: Path, pid: int) -> None:
    info = _read_quietly(path)
    if info is not None and info.pid == pid:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        # Reap it if it is our own child that has exited, or it lingers as a zombie.
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
    except ChildProcessError:
        pass
    return process_alive(pid)


def _is_sandbox(pid: int) -> bool:
    """Guard against a recycled PID: the process must be running this package."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():  # no /proc (macOS): trust the file
        return True
    arguments = cmdline.read_bytes().split(b"\0")
    return any(b"eni_failover_cli" in a or b"eni-failover" in a for a in arguments)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
