"""`eni-failover check --fix-delete-on-termination`: the readiness check's fix, applied."""

from __future__ import annotations

from eni_failover import ec2
from tests.cli.conftest import PAIR, RunningSandbox


def delete_on_termination(sandbox: RunningSandbox) -> bool:
    interface_id = sandbox.sandbox.topology.interface_id
    attachment = ec2.describe_interfaces(sandbox.sandbox.clients.ec2, [interface_id])[
        interface_id
    ].attachment
    assert attachment is not None
    return attachment.delete_on_termination


def set_delete_on_termination(sandbox: RunningSandbox) -> str:
    topology = sandbox.sandbox.topology
    [eni] = sandbox.sandbox.clients.ec2.describe_network_interfaces(
        NetworkInterfaceIds=[topology.interface_id]
    )["NetworkInterfaces"]
    attachment_id = eni["Attachment"]["AttachmentId"]
    sandbox.sandbox.clients.ec2.modify_network_interface_attribute(
        NetworkInterfaceId=topology.interface_id,
        Attachment={"AttachmentId": attachment_id, "DeleteOnTermination": True},
    )
    return attachment_id


def test_check_names_the_flag_and_the_fix_clears_it(sandbox: RunningSandbox) -> None:
    # Given the floating interface's attachment set to delete on termination
    attachment_id = set_delete_on_termination(sandbox)
    interface_id = sandbox.sandbox.topology.interface_id
    try:
        # When the operator checks the pair
        before = sandbox.run("check", PAIR)

        # Then it is NOT READY, with the command that fixes it and the CLI's own offer
        assert before.code == 2
        assert "FAIL  delete on termination" in before.out
        assert (
            f"--network-interface-id {interface_id} --attachment "
            f"AttachmentId={attachment_id},DeleteOnTermination=false"
        ) in before.out
        assert f"eni-failover check {PAIR} --fix-delete-on-termination" in before.out

        # When the operator takes the offer
        fixed = sandbox.run("check", PAIR, "--fix-delete-on-termination")

        # Then the flag is cleared with the operator's credentials, and the check passes
        assert fixed.code == 0, fixed.out + fixed.err
        assert (
            f"Cleared delete-on-termination of {interface_id} (attachment {attachment_id}"
        ) in fixed.out
        assert f"Pair {PAIR}: READY" in fixed.out
        assert delete_on_termination(sandbox) is False
        # And a second run changes nothing and says so
        again = sandbox.run("--json", "check", PAIR, "--fix-delete-on-termination")
        assert again.code == 0
        assert again.json()["cleared"] == []
    finally:
        sandbox.sandbox.clients.ec2.modify_network_interface_attribute(
            NetworkInterfaceId=interface_id,
            Attachment={"AttachmentId": attachment_id, "DeleteOnTermination": False},
        )
