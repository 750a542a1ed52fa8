"""Secondary private IPs: the address is assigned to the serving instance's interface.

The failover reassigns each to the target's primary interface (AssignPrivateIpAddresses,
AllowReassignment). No interface detaches or attaches, so it is the quickest move, but an
address belongs to a subnet: both instances must be in the same one, so never across zones.
The guest must bring the address up itself (ec2-net-utils on Amazon Linux does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from eni_failover import ec2
from eni_failover.config import Pair
from eni_failover.ec2 import DryRunAnswer, Permission
from eni_failover.observed import AddressView, InstanceView

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

NAME = "private-ip"
LABEL = "secondary private IPs (privateIps)"
CROSSES_ZONES = False
# Shown on two interfaces at once: EC2 has not settled a reassignment yet.
REASSIGNING = "reassigning"


def listed(pair: Pair) -> tuple[str, ...]:
    return pair.private_ips


def read(
    client: EC2Client, pairs: Sequence[Pair], instances: Mapping[str, InstanceView]
) -> dict[str, AddressView]:
    """Which interface holds each listed address: the pair's instances' primary interfaces,
    described by ID; an address on neither is looked for in the VPC by a filter."""
    primaries = {
        interface: view.instance_id
        for p in pairs
        for i in (p.primary_instance_id, p.standby_instance_id)
        if (view := instances.get(i)) is not None
        and (interface := view.primary_interface_id) is not None
    }

    def by_id(some: list[str]) -> list[Any]:
        response = ec2.call(
            "DescribeNetworkInterfaces",
            lambda: client.describe_network_interfaces(NetworkInterfaceIds=some),
        )
        return list(response.get("NetworkInterfaces", []))

    holders = _holders(ec2.each_found(list(primaries), by_id, missing=ec2.INTERFACE_NOT_FOUND))
    wanted = list(dict.fromkeys(ip for p in pairs for ip in p.private_ips))
    elsewhere = [ip for ip in wanted if ip not in holders]
    if elsewhere:
        holders |= _holders(_with_addresses(client, elsewhere))
    views = (_view(ip, holders.get(ip)) for ip in wanted)
    return {v.key: v for v in views}


def _with_addresses(client: EC2Client, ips: list[str]) -> list[Any]:
    """The interfaces holding these addresses, wherever they are (rare: an address on
    neither instance, after a termination or a hand-made change)."""
    found: list[Any] = []
    for ip in ips:
        token = ""
        while True:
            response = ec2.call("DescribeNetworkInterfaces", partial(_filtered, client, ip, token))
            found += response.get("NetworkInterfaces", [])
            token = response.get("NextToken") or ""
            if not token:
                break
    return found


def _filtered(client: EC2Client, ip: str, token: str) -> Any:
    # Paginated: in an account with many interfaces EC2 refuses an unpaginated describe
    # unless its filter is one of the few it indexes, and this one is not. One address a
    # call: the rare path, and the answer names exactly the interface that holds it.
    filters: Any = [{"Name": "addresses.private-ip-address", "Values": [ip]}]
    if token:
        return client.describe_network_interfaces(
            Filters=filters, MaxResults=ec2.INTERFACE_PAGE, NextToken=token
        )
    return client.describe_network_interfaces(Filters=filters, MaxResults=ec2.INTERFACE_PAGE)


def _holders(interfaces: list[Any]) -> dict[str, list[Any]]:
    """Address -> the interfaces showing it as a secondary IP (two while EC2 settles a
    reassignment: the move is not done until only the target shows it)."""
    holders: dict[str, list[Any]] = {}
    for raw in interfaces:
        for p in raw.get("PrivateIpAddresses", []):
            if not p.get("Primary") and p.get("PrivateIpAddress"):
                holders.setdefault(p["PrivateIpAddress"], []).append(raw)
    return holders


def _view(ip: str, holders: list[Any] | None) -> AddressView:
    if not holders:
        return AddressView(NAME, ip, exists=True, state="not assigned")
    if len(holders) > 1:
        shown = ", ".join(h["NetworkInterfaceId"] for h in holders)
        return AddressView(NAME, ip, exists=True, state=REASSIGNING, detail=f"shown on {shown}")
    [holder] = holders
    attachment = holder.get("Attachment") or {}
    return AddressView(
        NAME,
        ip,
        exists=True,
        interface_id=holder["NetworkInterfaceId"],
        instance_id=attachment.get("InstanceId"),
        state="assigned",
        subnet_id=holder.get("SubnetId"),
        vpc_id=holder.get("VpcId"),
    )


def problems(address: AddressView, target: InstanceView) -> list[str]:
    """A secondary IP can move only within its subnet."""
    if address.subnet_id and target.subnet_id and address.subnet_id != target.subnet_id:
        return [
            f"{address.address} is in subnet {address.subnet_id} but {target.instance_id}'s "
            f"interface is in {target.subnet_id}; a private IP can move only within its subnet"
        ]
    return []


def _assignment(address: AddressView, target: InstanceView) -> dict[str, Any]:
    return {
        "NetworkInterfaceId": target.primary_interface_id or "",
        "PrivateIpAddresses": [address.address],
        # Take it from the failed primary's interface, which cannot be asked to let go.
        "AllowReassignment": True,
    }


def move(client: EC2Client, address: AddressView, target: InstanceView) -> None:
    ec2.call(
        "AssignPrivateIpAddresses",
        lambda: client.assign_private_ip_addresses(**_assignment(address, target)),
    )


def dry_run(client: EC2Client, address: AddressView, target: InstanceView) -> DryRunAnswer:
    """EC2 has no DryRun for AssignPrivateIpAddresses: the permission is proved only by a
    move (a drill), and the readiness check says so rather than guess."""
    return DryRunAnswer(
        Permission.INCONCLUSIVE,
        "AssignPrivateIpAddresses permission unconfirmed: EC2 offers no DryRun for it; "
        "a drill (`eni-failover drill`) proves it",
    )
