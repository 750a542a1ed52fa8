"""Exit codes and the one error type the commands raise for the operator to read."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a script can rely on; each command's --help repeats the ones it uses."""

    OK = 0
    # Nothing moved because the function (or the CLI, for a drill) refused: see the reason.
    REFUSED = 1
    # A readiness check failed: a failover would not succeed now.
    NOT_READY = 2
    # Wrong arguments (argparse's own code): nothing was asked of the function.
    USAGE = 2
    # A move started and did not finish, or a drill saw no move in time: act now.
    FAILED = 3
    # The command could not do its job: bad arguments, unknown pair, no stack or sandbox,
    # an AWS call refused.
    ERROR = 4
    INTERRUPTED = 130


class CliError(Exception):
    """A problem the operator can act on; the message says what is wrong and what to do."""

    def __init__(self, message: str, *, exit_code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
