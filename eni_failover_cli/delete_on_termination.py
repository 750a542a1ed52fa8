"""`eni-failover check --fix-delete-on-termination`: keep the floating interfaces alive.

An interface whose attachment is delete-on-termination is deleted with the instance it is
attached to, so a terminated primary would take the floating interface with it and leave
nothing to fail over. The readiness check fails on it; this clears the flag with the
operator's own credentials (ec2:ModifyNetworkInterfaceAttribute), then runs the check.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from eni_failover import ec2
from eni_failover.errors import FailoverError
from eni_failover_cli import check, history
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.errors import CliError, ExitCode


@dataclass(frozen=True)
class Cleared:
    pair: str
    interface_id: str
    attachment_id: str
    instance_id: str


def fix_then_check(
    deployment: Deployment, pair_name: str | None, *, by: str
) -> tuple[ExitCode, dict[str, Any], str]:
    """Clear the flag on every floating interface of the pair (or of every pair), then check."""
    cleared = clear(deployment, pair_name)
    warnings = [
        warning
        for c in cleared
        for warning in history.record_action(
            deployment,
            pair=c.pair,
            action="fix-delete-on-termination",
            outcome="cleared",
            by=by,
            trigger="operator: check --fix-delete-on-termination",
            summary=f"cleared delete-on-termination of {c.interface_id} (attachment "
            f"{c.attachment_id} on {c.instance_id})",
        )
    ]
    code, result, text = check.run(deployment, pair_name, by=by)
    done = [
        f"Cleared delete-on-termination of {c.interface_id} (attachment {c.attachment_id} "
        f"on {c.instance_id}, pair {c.pair})."
        for c in cleared
    ] or ["No floating interface was set to delete on termination; nothing changed."]
    done += [f"Warning: {w}" for w in warnings]
    return code, {**result, "cleared": [asdict(c) for c in cleared]}, "\n".join([*done, "", text])


def clear(deployment: Deployment, pair_name: str | None) -> list[Cleared]:
    cleared: list[Cleared] = []
    for pair in deployment.selected(pair_name):
        try:
            views = ec2.describe_interfaces(deployment.clients.ec2, pair.interface_ids)
            for interface_id in pair.interface_ids:
                attachment = views[interface_id].attachment
                if attachment is None or not attachment.delete_on_termination:
                    continue
                deployment.clients.ec2.modify_network_interface_attribute(
                    NetworkInterfaceId=interface_id,
                    Attachment={
                        "AttachmentId": attachment.attachment_id,
                        "DeleteOnTermination": False,
                    },
                )
                cleared.append(
                    Cleared(
                        pair.name, interface_id, attachment.attachment_id, attachment.instance_id
                    )
                )
        except (ClientError, BotoCoreError, FailoverError) as error:
            done = ", ".join(c.interface_id for c in cleared) or "none"
            raise CliError(
                f"could not clear delete-on-termination of pair {pair.name}'s interfaces: "
                f"{_reason(error)}. Cleared so far: {done}. Your credentials need "
                "ec2:DescribeNetworkInterfaces and ec2:ModifyNetworkInterfaceAttribute."
            ) from error
    return cleared


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Unknown')}: {details.get('Message', '')}".rstrip(": ")
    return str(error)
