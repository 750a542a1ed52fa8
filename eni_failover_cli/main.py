"""The `eni-failover` command: parse, connect to the stack or the sandbox, run, report.

Every subcommand has --help. The global options (--json, --stack, --region, --sandbox) may
come before or after the subcommand.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import math
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from eni_failover.config import PAIR_NAME_PATTERN
from eni_failover.contract import DEFAULT_STACK_NAME
from eni_failover.errors import FailoverError
from eni_failover_cli import (
    check,
    delete_on_termination,
    drill,
    history,
    move,
    pause,
    sandbox,
    status,
)
from eni_failover_cli.console import Console, default_operator
from eni_failover_cli.deployment import (
    SANDBOX_ENVIRONMENT_VARIABLE,
    Deployment,
    connect_live,
    connect_sandbox,
    sandbox_path,
)
from eni_failover_cli.errors import CliError, ExitCode
from eni_failover_cli.interrupted import Interrupted, move_interrupted
from eni_failover_cli.invoke import FunctionFailed
from eni_failover_emulator.sandbox_file import DEFAULT_SANDBOX_FILE

PROGRAM = "eni-failover"
EXIT_CODES = """exit codes:
  0  done (ready; moved or already in place; paused; resumed)
  1  refused: nothing moved, the reason is shown
  2  not ready: a failover would not succeed now (also: wrong arguments)
  3  failed: a move did not finish, or a drill saw no move in time
  4  could not run: unknown pair, no stack or sandbox, an AWS error
130  interrupted (Ctrl-C): says what it left and the command that finishes it"""

# The subcommands, which tell a sandbox file from a command after `--sandbox`
# (tests/cli/test_sandbox.py compares them with the parser's).
COMMANDS = frozenset(
    {"status", "check", "failover", "failback", "pause", "resume", "history", "drill", "sandbox"}
)

# A command's exit code, its result for --json, and its text; None when it has reported
# already (a foreground sandbox prints its details when it is up, not when it stops).
Outcome = tuple[ExitCode, dict[str, Any] | None, str]
Handler = Callable[[argparse.Namespace, Console], Outcome]
SecondsType = Callable[[str], float]


def main(argv: Sequence[str] | None = None, *, console: Console | None = None) -> int:
    arguments = _bare_sandbox_flag(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(arguments)
    console = console or Console(json_mode=args.json)
    console.json_mode = args.json
    handler: Handler = args.handler
    try:
        code, data, text = handler(args, console)
    except Interrupted as interrupted:
        return _fail(console, interrupted.message, interrupted.exit_code, interrupted.details)
    except CliError as error:
        return _fail(console, error.message, error.exit_code)
    except FunctionFailed as failure:
        return _fail(console, f"the function failed: {failure.error_type}: {failure.message}")
    except FailoverError as error:
        return _fail(console, str(error))
    except ClientError as error:
        details = error.response.get("Error", {})
        return _fail(
            console,
            f"{error.operation_name} failed: {details.get('Code', 'Unknown')}: "
            f"{details.get('Message', '')}",
        )
    except BotoCoreError as error:
        return _fail(console, f"AWS call failed: {error}")
    except KeyboardInterrupt:
        return _fail(console, "interrupted", ExitCode.INTERRUPTED)
    if data is not None:
        try:
            console.result(data, text)
        except BrokenPipeError:  # `eni-failover status | head`: the reader has had enough
            _discard_stdout()
    return int(code)


def _discard_stdout() -> None:
    """What Python's docs advise after EPIPE, so that the exit does not complain again."""
    with contextlib.suppress(OSError, ValueError):  # not a real file (tests)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _fail(
    console: Console,
    message: str,
    code: ExitCode = ExitCode.ERROR,
    details: dict[str, Any] | None = None,
) -> int:
    console.problem(f"{PROGRAM}: {message}")
    if console.json_mode:
        document = {"error": message, "exit_code": int(code), **(details or {})}
        print(json.dumps(document, default=str), file=console.stdout)
    return int(code)


def _bare_sandbox_flag(arguments: list[str]) -> list[str]:
    """`--sandbox` alone means the default file; `--sandbox=FILE` names one.

    An optional value after a space would swallow the subcommand (`--sandbox status`), so
    argparse never sees one: a word after `--sandbox` is taken as its file only when it
    cannot be anything else, namely before the command when a command follows, or a word
    that is no pair name (a file name has a '.' or a '/'); else it is left for the parser
    (the command, or a PAIR) and `--sandbox` means the default file.
    """
    result: list[str] = []
    words = iter(enumerate(arguments))
    for index, argument in words:
        if argument != "--sandbox":
            result.append(argument)
            continue
        following = arguments[index + 1] if index + 1 < len(arguments) else None
        if following is not None and _is_sandbox_file(
            following, arguments[:index], arguments[index + 2 :]
        ):
            result.append(f"--sandbox={following}")
            next(words)
        else:
            result.append("--sandbox=")
    return result


def _is_sandbox_file(word: str, before: list[str], after: list[str]) -> bool:
    if word.startswith("-") or word in COMMANDS:
        return False
    command_before = any(w in COMMANDS for w in before)
    if not command_before and any(w in COMMANDS for w in after):
        return True
    return PAIR_NAME_PATTERN.match(word) is None


# --- the parser ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Operate ENI Failover: see where each floating interface is, check that "
        "a failover would succeed, move it on purpose, pause automation, rehearse.",
        epilog=f"Without --sandbox, the commands use the deployed stack (your AWS credentials "
        f"and region).\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(parser, default=None)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    # No default stack here: a sandbox must tell --stack given from --stack left out.
    parser.set_defaults(json=False, stack=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            parents=[common],
            help=summary,
            description=description,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        return sub

    sub = command(
        "status",
        "where each floating interface and address is, and whether failover is armed",
        "For each pair (or PAIR): the floating interfaces (instance, device index, private "
        "IPs, Elastic IP, MAC), the routes, Elastic IPs and secondary IPs (instance, "
        "interface, state), both instances' state and status checks, the alarm and "
        "rule, whether automatic failover is paused, and the last outcome.",
    )
    sub.add_argument("pair", nargs="?", metavar="PAIR", help="one pair (default: all)")
    sub.set_defaults(handler=_status)

    sub = command(
        "check",
        "would a failover succeed right now? (asks the function)",
        "The function checks, with its own permissions, every precondition of a failover "
        "(one line per address kind) and EC2 DryRun calls of the detach, the attach, "
        "ReplaceRoute and AssociateAddress. Exit 0 if ready, 2 if not; a DryRun that EC2 "
        "answers with neither allowed nor denied, and AssignPrivateIpAddresses (which has no "
        "DryRun), are shown INCONCLUSIVE and leave the pair ready.",
    )
    sub.add_argument("pair", nargs="?", metavar="PAIR", help="one pair (default: all)")
    sub.add_argument(
        "--fix-delete-on-termination",
        action="store_true",
        help="first clear delete-on-termination on the floating interfaces' attachments "
        "(with your credentials: ec2:ModifyNetworkInterfaceAttribute), so that terminating "
        "the primary cannot delete them; then check",
    )
    _add_by(sub)
    sub.set_defaults(handler=_check)

    for action, summary, description in (
        (
            "failover",
            "move the floating interfaces to the standby, on purpose",
            "Ask the function to move PAIR's interfaces to the standby, through the same "
            "lease, checks and notifications as an automatic failover.",
        ),
        (
            "failback",
            "move the floating interfaces back to the repaired primary",
            "Ask the function to move PAIR's interfaces back to the primary, through the "
            "same lease, checks and notifications as a failover.",
        ),
    ):
        sub = command(action, summary, description)
        sub.add_argument("pair", metavar="PAIR")
        sub.add_argument(
            "--force",
            action="store_true",
            help="skip the checks that are safe to skip (the source instance's health); "
            "the outcome names them. Checks about the target are never skipped.",
        )
        sub.add_argument(
            "--dry-run", action="store_true", help="show the plan; change and announce nothing"
        )
        if action == "failover":
            sub.add_argument(
                "--fence",
                action="store_true",
                help="after the move, fence the primary as the pair's `fence` setting says "
                "(stop or isolate); a manual failover never fences without it; refused "
                "(exit 2) on a pair whose fence is none",
            )
        _add_by(sub)
        sub.set_defaults(handler=_move, action=action)

    sub = command(
        "pause",
        "stop automatic failover of a pair (planned work)",
        "Set the pair's pause flag (the function refuses automatic triggers, even ones in "
        "flight, state changes among them), disable the alarm's actions, and announce it on "
        "the notification topic. The state-change rules serve every pair and stay enabled. "
        "Manual failover still works. Running it again changes nothing.",
    )
    sub.add_argument("pair", metavar="PAIR")
    sub.add_argument("--reason", help="why, for the announcement and `status`")
    _add_by(sub)
    sub.set_defaults(handler=_pause)

    sub = command(
        "resume",
        "restart automatic failover of a paused pair",
        "Enable the alarm's actions, clear the pause flag, announce it.",
    )
    sub.add_argument("pair", metavar="PAIR")
    _add_by(sub)
    sub.set_defaults(handler=_resume)

    sub = command(
        "history",
        "what happened to each pair: every outcome and operator action, newest first",
        "Every trigger the function handled and every operator action (failover and failback "
        "requests, pause, resume, drill), newest first: when, the pair, the direction or "
        "action, the outcome, how long the move took, who asked, and what triggered it. The "
        "function writes it as it goes; entries are kept 90 days unless the stack says "
        "otherwise (historyRetentionDays).",
    )
    sub.add_argument("pair", nargs="?", metavar="PAIR", help="one pair (default: all)")
    sub.add_argument(
        "--since",
        type=history.since_argument,
        metavar="WHEN",
        help=f"only entries since then: {history.EXPECT_SINCE}",
    )
    sub.add_argument(
        "--limit",
        type=history.limit_argument,
        default=history.DEFAULT_LIMIT,
        metavar="N",
        help="at most N entries, the newest (default %(default)s)",
    )
    sub.set_defaults(handler=_history)

    _add_drill(command)
    _add_sandbox(command)
    return parser


def _version() -> str:
    """The installed distribution's version (pyproject.toml's, as pip installed it)."""
    try:
        return importlib.metadata.version("eni-failover")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout never installed
        return "(not installed: run `make setup` or `pip install .`)"


def seconds(*, above: float | None = None, at_least: float | None = None) -> SecondsType:
    """An argparse type: a number of seconds in range, or a usage error naming the range
    (argparse adds the option's name) before anything has happened."""
    if above is not None:
        expected = f"a number of seconds greater than {above:g}"
    else:
        expected = f"a number of seconds of at least {at_least or 0:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        too_low = (
            value <= above if above is not None else value < (at_least or 0)
        ) or not math.isfinite(value)
        if too_low:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


def _add_common(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument(
        "--json", action="store_true", default=default, help="one JSON document on stdout"
    )
    parser.add_argument(
        "--stack",
        metavar="NAME",
        default=default,
        help=f"the deployed stack's name (default {DEFAULT_STACK_NAME})",
    )
    parser.add_argument(
        "--region", metavar="REGION", default=default, help="its region (default: your AWS config)"
    )
    parser.add_argument(
        "--sandbox",
        metavar="FILE",
        nargs="?",
        const="",
        default=default,
        help=f"use the local sandbox instead of AWS; --sandbox=FILE (or --sandbox FILE) names "
        f"its file "
        f"(default ${SANDBOX_ENVIRONMENT_VARIABLE}, else {DEFAULT_SANDBOX_FILE})",
    )


def _add_by(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--by",
        metavar="WHO",
        default=None,
        help="who is asking, for the record and the notifications (default: user@host)",
    )


def _add_drill(command: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    sub = command(
        "drill",
        "rehearse a failover through the real alarm, then fail back",
        "Check readiness, open a short drill window, set the pair's alarm to ALARM "
        "(set-alarm-state) so that the alarm, trigger topic, subscription and function are "
        "all exercised, wait for the move and print a timeline of each hop; then offer to "
        "fail back. --local runs the embedded drill of `make demo` instead (no stack needed).",
    )
    sub.add_argument("pair", nargs="?", metavar="PAIR", help="the pair (not with --local)")
    sub.add_argument("--local", action="store_true", help="the embedded emulator drill")
    sub.add_argument("--force", action="store_true", help="drill a pair that is NOT READY")
    sub.add_argument(
        "--timeout",
        type=seconds(above=0),
        default=drill.DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="how long to wait for the move (default %(default)g)",
    )
    sub.add_argument(
        "--window",
        type=seconds(above=0),
        default=drill.DEFAULT_WINDOW_SECONDS,
        metavar="SECONDS",
        help="how long the function treats the alarm as a drill (default %(default)g)",
    )
    choice = sub.add_mutually_exclusive_group()
    choice.add_argument("--yes", action="store_true", help="fail back afterwards without asking")
    choice.add_argument(
        "--no-failback", action="store_true", help="leave the interface on the standby"
    )
    _add_by(sub)
    sub.set_defaults(handler=_drill)


def _add_sandbox(command: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    sub = command(
        "sandbox",
        "a local stand-in for the deployed stack, to try every command",
        "Runs moto on 127.0.0.1 with a faithful EC2 and one pair, the stack's resources "
        "from the synthesized CDK app, and the function's real code for alarm actions and "
        "operator requests.",
    )
    actions = sub.add_subparsers(title="actions", metavar="ACTION", required=True)
    up = actions.add_parser(
        "up",
        parents=[_common_parent()],
        help="start a sandbox (foreground; --background to detach)",
        description="Start a sandbox and write the sandbox file. In the foreground it runs "
        "until Ctrl-C, narrating what the alarm and the function do; --background starts it "
        "in its own process (log next to the sandbox file) and returns once it is up.",
    )
    up.add_argument("--background", action="store_true", help="detach; stop with `down`")
    up.add_argument(
        "--wait",
        type=seconds(above=0),
        default=sandbox.DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help="with --background, how long to wait for it (default %(default)g)",
    )
    up.add_argument("--pair-name", default="demo", metavar="NAME", help="the pair's name")
    for name, what in (
        ("attach", "an attach"),
        ("detach", "a detach"),
        ("force-detach", "a forced detach"),
    ):
        up.add_argument(
            f"--{name}-seconds",
            type=seconds(at_least=0),
            metavar="SECONDS",
            help=f"how long {what} takes in the emulated EC2 (default: as in `make demo`)",
        )
    up.set_defaults(handler=_sandbox_up)
    down = actions.add_parser(
        "down",
        parents=[_common_parent()],
        help="stop the sandbox the sandbox file names",
        description="Stop the sandbox process named in the sandbox file and remove the file.",
    )
    down.add_argument(
        "--wait",
        type=seconds(above=0),
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for it to stop (default %(default)g)",
    )
    down.set_defaults(handler=_sandbox_down)
    inbox = actions.add_parser(
        "inbox",
        parents=[_common_parent()],
        help="what the notification topic sent (the operators' email), since last asked",
        description="Show and take the notifications the sandbox's notification topic "
        "delivered: the next `inbox` shows only newer ones. --peek shows them and leaves "
        "them. Nothing is taken unless all of it was written (a closed pipe takes nothing).",
    )
    inbox.add_argument(
        "--peek",
        action="store_true",
        help="show the notifications without taking them: the next `inbox` shows them again",
    )
    inbox.set_defaults(handler=_sandbox_inbox)


def _common_parent() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, default=argparse.SUPPRESS)
    return common


# --- the commands -------------------------------------------------------------------------


def connect(args: argparse.Namespace) -> Deployment:
    if args.sandbox is not None or os.environ.get(SANDBOX_ENVIRONMENT_VARIABLE):
        # The function's code runs in this process, through the emulator's light modules:
        # moto runs in the sandbox's own process, so a wheel without the extra can use it.
        path = sandbox_path(args.sandbox)
        with sandbox.needs_sandbox_extra("--sandbox", server=False):
            deployment = connect_sandbox(path)
        _refuse_another_stack(args, deployment.outputs.stack_name, path)
        return deployment
    return connect_live(args.stack or DEFAULT_STACK_NAME, args.region)


def _refuse_another_stack(args: argparse.Namespace, running: str, path: Path) -> None:
    """A sandbox runs one stack: --stack naming another is a mistake, not to be ignored."""
    if args.stack is not None and args.stack != running:
        raise CliError(
            f"--stack {args.stack} does not apply: the sandbox in {path} runs the stack "
            f"{running}; leave out --stack, or leave out --sandbox (and unset "
            f"{SANDBOX_ENVIRONMENT_VARIABLE}) to use the deployed stack {args.stack}"
        )


def _by(args: argparse.Namespace) -> str:
    return str(args.by or default_operator())


def _status(args: argparse.Namespace, console: Console) -> Outcome:
    result = status.collect(connect(args), args.pair)
    return ExitCode.OK, result, status.describe(result)


def _check(args: argparse.Namespace, console: Console) -> Outcome:
    deployment = connect(args)
    with console.waiting(f"asking the function to check {_which(args.pair)}"):
        if args.fix_delete_on_termination:
            return delete_on_termination.fix_then_check(deployment, args.pair, by=_by(args))
        return check.run(deployment, args.pair, by=_by(args))


def _which(pair: str | None) -> str:
    return "every pair" if pair is None else f"pair {pair}"


def _move(args: argparse.Namespace, console: Console) -> Outcome:
    deployment = connect(args)
    fence = getattr(args, "fence", False)
    if fence:
        move.refuse_fence_without_mode(deployment, args.pair)
    asking = "to plan" if args.dry_run else "to move the interfaces for"
    try:
        with console.waiting(f"asking the function {asking} the {args.action} of pair {args.pair}"):
            return move.run(
                deployment,
                args.action,
                args.pair,
                by=_by(args),
                force=args.force,
                dry_run=args.dry_run,
                fence=fence,
            )
    except KeyboardInterrupt:
        if args.dry_run:
            raise  # a plan changes nothing: plain "interrupted" says it all
        flags = [f for f, given in (("--force", args.force), ("--fence", fence)) if given]
        finish = " ".join([PROGRAM, *_where_options(args), args.action, args.pair, *flags])
        raise move_interrupted(deployment, args.pair, args.action, finish=finish) from None


def _where_options(args: argparse.Namespace) -> list[str]:
    """The global options that chose where this command ran, for a command to rerun."""
    if args.sandbox is not None:
        return ["--sandbox" if not args.sandbox else f"--sandbox={shlex.quote(args.sandbox)}"]
    if os.environ.get(SANDBOX_ENVIRONMENT_VARIABLE):
        return []  # the same shell still names it
    options = []
    if args.stack != DEFAULT_STACK_NAME:
        options.append(f"--stack {shlex.quote(args.stack)}")
    if args.region:
        options.append(f"--region {shlex.quote(args.region)}")
    return options


def _pause(args: argparse.Namespace, console: Console) -> Outcome:
    return pause.pause(connect(args), args.pair, by=_by(args), reason=args.reason)


def _resume(args: argparse.Namespace, console: Console) -> Outcome:
    return pause.resume(connect(args), args.pair, by=_by(args))


def _history(args: argparse.Namespace, console: Console) -> Outcome:
    return history.run(connect(args), args.pair, since=args.since, limit=args.limit)


def _drill(args: argparse.Namespace, console: Console) -> Outcome:
    if args.local:
        return _local_drill(args, console)
    if args.pair is None:
        raise CliError("drill needs a PAIR (or --local for the embedded demo drill)")
    failback: drill.FailbackChoice = "yes" if args.yes else "no" if args.no_failback else "ask"
    if failback == "ask" and (console.json_mode or not sys.stdin.isatty()):
        console.progress(
            "No terminal to ask at: the drill will not fail back afterwards (--yes makes it)."
        )
    return drill.run(
        connect(args),
        console,
        args.pair,
        by=_by(args),
        force=args.force,
        timeout_seconds=args.timeout,
        window_seconds=args.window,
        failback=failback,
        ask=_asker(console),
        rerun=" ".join([PROGRAM, *_where_options(args)]),
    )


def _asker(console: Console) -> drill.Asker:
    def ask(question: str) -> bool | None:
        # Only a person at a terminal can answer; None tells the drill nobody could.
        if console.json_mode or not sys.stdin.isatty():
            return None
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")

    return ask


def _local_drill(args: argparse.Namespace, console: Console) -> Outcome:
    with sandbox.needs_sandbox_extra("drill --local", synthesizes=True):
        from eni_failover_emulator import drill as embedded  # noqa: PLC0415 - loads moto and the CDK app
        from eni_failover_emulator.template import TemplateError  # noqa: PLC0415

    if args.pair not in (None, embedded.PAIR_NAME):
        raise CliError(f"--local drills the embedded pair {embedded.PAIR_NAME!r}; leave out PAIR")
    narration: list[str] = []

    def write(line: str) -> None:
        narration.append(line)
        console.progress(line)

    try:
        result = embedded.run_drill(write)
    except TemplateError as error:  # the app did not synthesize: say why, in one line
        raise CliError(f"the local drill could not synthesize the app: {error}") from error
    passed = result.moved and result.notification is not None
    data = {
        "moved": result.moved,
        "outcome": result.outcome,
        "notification": result.notification,
        "narration": narration,
    }
    verdict = "Local drill passed." if passed else "Local drill FAILED."
    return (ExitCode.OK if passed else ExitCode.FAILED), data, verdict


def _sandbox_up(args: argparse.Namespace, console: Console) -> Outcome:
    path = sandbox_path(args.sandbox)
    latencies = {
        name: getattr(args, name)
        for name in ("attach_seconds", "detach_seconds", "force_detach_seconds")
        if getattr(args, name) is not None
    }
    # Checked with --background too: what is missing is one line here, not a child's log.
    with sandbox.needs_sandbox_extra("sandbox up", synthesizes=True):
        if args.background:
            forwarded = [f"--pair-name={args.pair_name}"]
            if args.stack is not None:
                forwarded.append(f"--stack={args.stack}")
            forwarded += [f"--{k.replace('_', '-')}={v}" for k, v in latencies.items()]
            return sandbox.up_background(console, path, forwarded, wait_seconds=args.wait)
        from eni_failover_emulator.sandbox import SandboxOptions  # noqa: PLC0415 - loads moto

    stack = {"stack_name": args.stack} if args.stack is not None else {}
    options = SandboxOptions(pair_name=args.pair_name, **stack, **latencies)
    return sandbox.up_foreground(console, path, options)


def _sandbox_down(args: argparse.Namespace, console: Console) -> Outcome:
    return sandbox.down(sandbox_path(args.sandbox), wait_seconds=args.wait)


def _sandbox_inbox(args: argparse.Namespace, console: Console) -> Outcome:
    path = sandbox_path(args.sandbox)
    try:
        return sandbox.inbox(
            console,
            path,
            keep=args.peek,
            check_stack=lambda running: _refuse_another_stack(args, running, path),
        )
    except BrokenPipeError:  # `sandbox inbox | head`: nothing was taken (sandbox.inbox)
        if console.stdout is sys.stdout:
            _discard_stdout()
        return ExitCode.OK, None, ""


if __name__ == "__main__":
    sys.exit(main())
