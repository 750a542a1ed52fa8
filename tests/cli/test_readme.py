"""The docs' sample outputs are what the commands print today.

Each `console` block under the README's "Operating it", and every one in docs/operating.md,
is run on the sandbox, command by command, in the order the page shows them, and its output
compared with the page's, allowing for what differs from run to run: IDs (each one kept
distinct, so the primary stays the primary), addresses, MACs, times and durations, the
alignment they change, and the drill's in-between hops (detaching, floating, attaching),
which a poll sees or misses by timing. A line `...` in a sample leaves out lines: what it
shows around them must appear in that order, each run of lines together.
"""

from __future__ import annotations

import io
import re
import shlex
import socket
import sys
from pathlib import Path

import pytest

from eni_failover.pair_record import HOLDER_CLI, LeaseHolder
from eni_failover_cli import deployment
from eni_failover_cli.console import Console
from eni_failover_cli.errors import ExitCode
from eni_failover_cli.main import main
from tests.cli.conftest import RunningSandbox, wait_for
from tests.cli.test_interrupted import gone_pid, interrupt_after_detach

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECTION = "## Operating it"
OPERATING = ROOT / "docs" / "operating.md"
# Commands shown for the reader to type that print nothing, or end the sandbox.
NOT_RUN = ("sandbox up", "sandbox down")
# The sandbox has one pair, demo; a sample of another pair (docs/operating.md's `edge`, of
# routes and an Elastic IP) is not run here.
OTHER_PAIRS = ("edge",)
ELIDED = "..."
# A sample interrupted by Ctrl-C, and who the guide's interrupted run was (user, host).
INTERRUPTED = "^C\n"
GUIDE_RUN = ("alice", "ops")
# A sample of a command run while another, live, CLI run holds the pair: the guide's order
# cannot show it, so tests/cli/test_interrupted.py compares it where it makes one.
LIVE_HOLDER = "while a live run holds the pair"


def sample_commands(path: Path = README, heading: str | None = SECTION) -> list[tuple[str, str]]:
    """(command, the output the page shows) for each `$ eni-failover ...` line, under
    `heading` only if given."""
    section = path.read_text()
    if heading is not None:
        start = section.index(heading)
        end = section.find("\n## ", start + len(heading))
        section = section[start : end if end >= 0 else None]
    samples = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.DOTALL):
        command: str | None = None
        output: list[str] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    samples.append((command, "\n".join(output)))
                command, output = line[2:].partition("#")[0].strip(), []
                if LIVE_HOLDER in line:
                    command = None  # compared where a live run holds the pair (below)
            else:
                output.append(line)
        if command is not None:
            samples.append((command, "\n".join(output)))
    return [
        (command, output)
        for command, output in samples
        if command.startswith("eni-failover ")
        and not any(n in command for n in NOT_RUN)
        and not set(shlex.split(command)) & set(OTHER_PAIRS)
    ]


def normalized(text: str) -> str:
    ids: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        value = match.group(0)
        kind = value.split("-")[0]
        return ids.setdefault(
            value, f"{kind}-<{sum(v.startswith(f'{kind}-') for v in ids.values())}>"
        )

    text = re.sub(r"\b(?:i|eni|rtb|eipalloc|subnet|vpc|sg)-[0-9a-f]{8,17}\b", placeholder, text)
    text = re.sub(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", "<ip>", text)
    text = re.sub(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b", "<mac>", text)
    text = re.sub(
        r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d| UTC)?", "<t>", text
    )
    text = re.sub(r"\d+(?:\.\d+)? ?(ms|s|min|h|days)\b", r"<n> \1", text)
    # The sandbox's file and port, and CloudFormation's hash in a logical ID
    text = re.sub(r"\S+\.json\b", "<file>", text)
    text = re.sub(r"http://<ip>:\d+", "<endpoint>", text)
    text = re.sub(r"\b([A-Z][A-Za-z]+)[0-9A-F]{8}\b", r"\1<hash>", text)
    lines = []
    for line in text.splitlines():
        if re.search(r"\b(detaching|floating|attaching)\b", line) and line.lstrip().startswith(
            ("+", "-")
        ):
            continue  # an in-between hop of the drill's timeline: seen or not, by timing
        lines.append(" ".join(line.split()))
    return "\n".join(line for line in lines if line)


def shows(printed: str, shown: str) -> bool:
    """`shown` is `printed`, IDs and times aside; where `shown` has a line `...`, any lines
    of `printed` may stand, and the runs of lines around it must appear in order."""
    runs = [
        normalized("\n".join(run)).splitlines() for run in _split_on_elisions(shown.splitlines())
    ]
    lines = normalized(printed).splitlines()
    if len(runs) == 1:
        return lines == runs[0]
    at = 0
    for index, run in enumerate(runs):
        if not run:
            continue
        found = _find_run(lines, run, at)
        if found is None or (index == 0 and found != 0):
            return False
        at = found + len(run)
    return not runs[-1] or at == len(lines)


def _split_on_elisions(lines: list[str]) -> list[list[str]]:
    runs: list[list[str]] = [[]]
    for line in lines:
        if line.strip() == ELIDED:
            runs.append([])
        else:
            runs[-1].append(line)
    return runs


def _find_run(lines: list[str], run: list[str], start: int) -> int | None:
    for at in range(start, len(lines) - len(run) + 1):
        if lines[at : at + len(run)] == run:
            return at
    return None


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_as_shown(
    sandbox: RunningSandbox, command: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    """Run `command` on the sandbox as a person at a terminal would, answering y."""
    out = io.StringIO()

    def answer_yes(prompt: str) -> str:
        out.write(f"{prompt}y\n")  # what the terminal shows: the question and the answer
        return "y"

    monkeypatch.setattr("builtins.input", answer_yes)
    monkeypatch.setattr(sys, "stdin", Terminal())
    arguments = shlex.split(command)[1:]
    code = main(
        [f"--sandbox={sandbox.path}", *arguments],
        console=Console(stdout=out, stderr=io.StringIO()),
    )
    return code, out.getvalue()


def test_the_readme_shows_commands_to_compare() -> None:
    commands = [command for command, _ in sample_commands()]
    assert any(c.startswith("eni-failover status") for c in commands)
    assert any(c.startswith("eni-failover drill") for c in commands)
    assert "eni-failover sandbox inbox" in commands


def test_the_readme_samples_are_what_the_commands_print(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fresh pair on the sandbox, and the README's samples in order
    for command, shown in sample_commands():
        # When each command runs as the README shows it
        code, printed = run_as_shown(sandbox, command, monkeypatch)
        # Then it succeeds and prints what the README shows, IDs and times aside
        assert code == 0, f"{command}: exit {code}\n{printed}"
        assert normalized(printed) == normalized(shown), f"$ {command}"


def test_the_operating_guide_shows_commands_to_compare() -> None:
    commands = [command for command, _ in sample_commands(OPERATING, None)]
    for shown in ("status", "check", "drill", "failover", "failback", "pause", "history"):
        assert any(c.startswith(f"eni-failover {shown}") for c in commands), shown
    assert "eni-failover sandbox inbox" in commands


def test_an_elision_stands_for_lines_and_keeps_the_order() -> None:
    printed = "Pair demo\n  a  1\n  b  2\n  c  3\nDead-letter queue: empty"
    assert shows(printed, "Pair demo\n...\n  c  3\n...")
    assert shows(printed, "...\n  b  2\n...")
    assert not shows(printed, "...\n  c  3\n...\n  b  2\n...")
    assert not shows(printed, "Pair demo\n...\n  d  4\n...")
    # Without an elision, every line counts
    assert not shows(printed, "Pair demo\n  a  1")


def test_the_operating_guides_samples_are_what_the_commands_print(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fresh pair on the sandbox, and docs/operating.md's samples in order
    left_behind: dict[str, str] = {}
    for command, sample in sample_commands(OPERATING, None):
        shown = sample.removeprefix(INTERRUPTED)
        if sample.startswith(INTERRUPTED):
            # When the operator presses Ctrl-C where the guide does, right after the detach
            code, printed, left_behind = run_interrupted(sandbox, command)
            # Then it says what it left, as the guide shows
            assert code == ExitCode.INTERRUPTED, f"{command}: exit {code}\n{printed}"
        else:
            # When each command runs as the guide shows it
            code, printed = run_as_shown(sandbox, command, monkeypatch)
            # Then it ends as the guide says
            assert code == expected_exit(shown), f"{command}: exit {code}\n{printed}"
        # And prints what it shows, IDs, times and the interrupted run's host and pid aside
        for real, as_shown in left_behind.items():
            printed = printed.replace(real, as_shown)
        assert shows(printed, shown), f"$ {command}\n{printed}"


def run_interrupted(sandbox: RunningSandbox, command: str) -> tuple[int, str, dict[str, str]]:
    """Run `command` with Ctrl-C right after EC2 takes its detach, as a process that has
    exited by the time the next command looks (the guide's `^C` sample); what it printed
    to the terminal, and the host and pid it ran as, mapped to the guide's."""
    pid = gone_pid()
    user, host = GUIDE_RUN
    holder = LeaseHolder(kind=HOLDER_CLI, host=socket.gethostname(), pid=pid, user=user)
    terminal = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        interrupted = interrupt_after_detach(patch)
        patch.setattr(deployment, "this_process", lambda: holder)
        code = main(
            [f"--sandbox={sandbox.path}", *shlex.split(command)[1:]],
            console=Console(stdout=terminal, stderr=terminal),
        )
    assert interrupted, f"{command}: the move never detached"
    # The guide's next command comes a few seconds later, once EC2 has finished the detach.
    assert wait_for(lambda: sandbox.where() is None), "the interrupted detach never finished"
    shown_as = {
        f"host {socket.gethostname()}": f"host {host}",
        f"process {pid})": "process 7985)",
        # The guide's sandbox is the default one: the command it prints names no file.
        f"--sandbox={sandbox.path} ": "",
    }
    return code, terminal.getvalue(), shown_as


def expected_exit(shown: str) -> int:
    """A refusal the guide shows on purpose ends with exit 1, as the exit codes say."""
    return 1 if ": REFUSED" in shown else 0


def live_holder_sample() -> str:
    """The output docs/operating.md shows for a command run while a live run holds the
    pair (its `$` line is marked with a comment naming LIVE_HOLDER)."""
    [block] = [
        block
        for block in re.findall(r"```console\n(.*?)```", OPERATING.read_text(), flags=re.DOTALL)
        if LIVE_HOLDER in block
    ]
    return "\n".join(line for line in block.splitlines() if not line.startswith("$ "))
