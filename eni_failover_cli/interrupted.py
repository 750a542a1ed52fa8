"""What a command stopped by Ctrl-C left behind, and the command that finishes it.

Against the sandbox the CLI runs the function's code in its own process: Ctrl-C stops the
move where it was (an interface may be attached to nothing), and the run's lease stays
behind until a rerun on this host, once this process has exited, takes it over and resumes
from the journal (eni_failover.pair_record.provably_gone). Against AWS the deployed function
makes the move: Lambda does not stop an invocation whose caller went away, so the move goes
on and only the CLI stopped waiting. Either way the operator is told where each interface
and address is now, who holds the pair's lease, and what to run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from eni_failover import ec2
from eni_failover.errors import FailoverError
from eni_failover.pair_record import HOLDER_CLI, Lease
from eni_failover_cli import addresses, status
from eni_failover_cli.console import columns
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.errors import CliError, ExitCode
from eni_failover_cli.outputs import PairOutputs

# Where a move in each direction takes the interfaces and addresses.
TARGET_SIDE = {"failover": "standby", "failback": "primary"}


class Interrupted(CliError):
    """Ctrl-C: the message says what was left; `details` is the same for --json."""

    def __init__(self, message: str, details: dict[str, Any], *, left: Left | None = None) -> None:
        super().__init__(message, exit_code=ExitCode.INTERRUPTED)
        self.details = details
        self.left = left


@dataclass
class Left:
    """Where a pair's interfaces and addresses are, as EC2 shows them just after Ctrl-C."""

    pair: PairOutputs
    interfaces: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    lease: Lease | None = None
    # Why where they are is not known (the look failed, or was interrupted too).
    unknown: str | None = None

    @property
    def unserved(self) -> list[str]:
        """The interfaces attached to nothing or detaching, and the addresses on no
        instance: what serves no one now."""
        return [
            i["interface_id"]
            for i in self.interfaces
            if i["attached_to"] is None or i["attachment_status"] == "detaching"
        ] + [a["address"] for a in self.addresses if not a["serving"]]

    def sides(self) -> set[str | None]:
        return {i["side"] for i in self.interfaces} | {a["side"] for a in self.addresses}

    def rows(self) -> list[str]:
        if self.unknown is not None:
            return [f"  unknown: {self.unknown}; `eni-failover status {self.pair.name}` shows it"]
        rows = [
            ("interface", i["interface_id"], status.interface_where(i)) for i in self.interfaces
        ]
        rows += [
            (addresses.KIND_LABELS[a["kind"]], a["address"], addresses.where(a))
            for a in self.addresses
        ]
        return columns(rows, indent=2)

    def lines(self) -> list[str]:
        """One line per interface and address, for the history."""
        found = [f"{i['interface_id']}: {status.interface_where(i)}" for i in self.interfaces]
        found += [f"{a['kind']} {a['address']}: {addresses.where(a)}" for a in self.addresses]
        return found if self.unknown is None else [f"unknown: {self.unknown}"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "interfaces": self.interfaces,
            "addresses": self.addresses,
            "unserved": self.unserved if self.unknown is None else None,
            "lease": status.lease_document(self.lease) if self.lease else None,
            "unknown": self.unknown,
        }


def look(deployment: Deployment, pair: PairOutputs) -> Left:
    """Where everything is now, with the operator's own credentials. A failed look, or a
    second Ctrl-C during it, is said as unknown: the first interruption is still reported."""
    left = Left(pair)
    try:
        clients = deployment.clients
        if pair.interface_ids:
            views = ec2.describe_interfaces(clients.ec2, pair.interface_ids)
            left.interfaces = [status.interface_view(pair, views[i]) for i in pair.interface_ids]
        if pair.has_addresses:
            instances = ec2.describe_instances(
                clients.ec2, (pair.primary_instance_id, pair.standby_instance_id)
            )
            left.addresses = [
                addresses.as_dict(pair, a) for a in addresses.read(clients.ec2, pair, instances)
            ]
        lease = deployment.records.read(pair.name).lease
        left.lease = lease if lease is not None and not lease.expired(datetime.now(UTC)) else None
    except KeyboardInterrupt:
        left.unknown = "the look at EC2 was interrupted too"
    except (FailoverError, ClientError, BotoCoreError) as error:
        left.unknown = f"EC2 could not be read: {error}"
    return left


def progress(left: Left, action: str) -> str:
    """How far the move got, judged from where everything is."""
    if left.unknown is not None:
        return "how far it got is unknown"
    target = TARGET_SIDE[action]
    unserved = left.unserved
    if unserved:
        return f"mid-move, {', '.join(unserved)} serving no one"
    sides = left.sides()
    if sides == {target}:
        return f"with everything on the {target} already"
    if target not in sides:
        return "before anything had moved"
    return f"mid-move, part on the {target} and part not"


def move_interrupted(
    deployment: Deployment,
    pair_name: str,
    action: str,
    *,
    finish: str,
    goes_on: bool | None = None,
    what: str | None = None,
) -> Interrupted:
    """What Ctrl-C during a failover or failback left, for the operator. `finish`: the
    command that finishes the move; `goes_on`: the move runs elsewhere (the deployed
    function, or the sandbox's stand-in for it) and was not stopped (by default: unless
    this process ran it); `what`: the command interrupted, when not the move itself."""
    pair = deployment.pair(pair_name)
    left = look(deployment, pair)
    goes_on = not deployment.runs_locally if goes_on is None else goes_on
    move = f"the {action} of pair {pair.name}"
    if not goes_on:
        head = (
            f"interrupted: {what or move} was cut short. It ran in this process (the "
            f"sandbox), so it stopped where it was: {progress(left, action)}."
        )
        lease = (
            f"Its lease, held by {left.lease.describe()}, is taken over by the command below "
            "as soon as this process has exited."
            if left.lease is not None and left.lease.holder.kind == HOLDER_CLI
            else None
        )
        then = "To finish the move, run:"
    else:
        head = (
            f"interrupted: {what + '. The CLI' if what else 'the CLI'} stopped waiting, but "
            f"{move} goes on: the function makes the move, and it does not stop when its "
            "caller goes away. Its outcome goes to the notification topic and "
            f"`eni-failover history`. It was {progress(left, action)} just now."
        )
        lease = f"The pair's lease: {left.lease.describe()}." if left.lease is not None else None
        then = (
            f"`eni-failover status {pair.name}` shows when it has ended; if it ended short "
            f"of the {TARGET_SIDE[action]}, this finishes it:"
        )
    lines = [head, "Where each interface and address is now:", *left.rows()]
    if lease:
        lines.append(lease)
    lines += [then, f"  {finish}"]
    details = {
        "interrupted": True,
        "pair": pair.name,
        "move": action,
        "move_goes_on": goes_on,
        "left": left.as_dict(),
        "finish": finish,
    }
    return Interrupted("\n".join(lines), details, left=left)


def command(
    program: str, global_options: Sequence[str], action: str, pair: str, *flags: str
) -> str:
    """The command line that finishes a move, with the options that chose where it runs."""
    return " ".join([program, *global_options, action, pair, *flags])
