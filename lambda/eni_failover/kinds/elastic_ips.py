"""Elastic IPs: the public address is associated with the serving instance.

The failover associates each with the target's primary interface and primary private IP
(AssociateAddress, AllowReassociation): an Elastic IP belongs to the Region, so it crosses
zones. The old association ID stops existing, and DescribeAddresses shows the new one only
after a moment (the mover waits for it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eni_failover import ec2
from eni_failover.config import Pair
from eni_failover.ec2 import DryRunAnswer
from eni_failover.observed import AddressView, InstanceView, interface_owners

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

NAME = "elastic-ip"
LABEL = "Elastic IPs (eipAllocationIds)"
CROSSES_ZONES = True
ALLOCATION_NOT_FOUND = "InvalidAllocationID.NotFound"
ALLOCATION_IDS = 100


def listed(pair: Pair) -> tuple[str, ...]:
    return pair.eip_allocation_ids


def read(
    client: EC2Client, pairs: Sequence[Pair], instances: Mapping[str, InstanceView]
) -> dict[str, AddressView]:
    """Each listed Elastic IP as DescribeAddresses shows it: one call for all of them."""
    ids = list(dict.fromkeys(a for p in pairs for a in p.eip_allocation_ids))

    def by_id(some: list[str]) -> list[Any]:
        response = ec2.call(
            "DescribeAddresses", lambda: client.describe_addresses(AllocationIds=some)
        )
        return list(response.get("Addresses", []))

    raw = ec2.found_by_id(
        ids, by_id, key="AllocationId", missing=ALLOCATION_NOT_FOUND, per_call=ALLOCATION_IDS
    )
    owner = interface_owners(instances.values())
    views = (_view(a, raw.get(a), owner) for a in ids)
    return {v.key: v for v in views}


def _view(allocation_id: str, raw: Any, owner: Mapping[str, str]) -> AddressView:
    if raw is None:
        return AddressView(
            NAME, allocation_id, exists=False, detail="no such allocation in this account"
        )
    interface = raw.get("NetworkInterfaceId")
    associated = bool(raw.get("AssociationId"))
    return AddressView(
        NAME,
        allocation_id,
        exists=True,
        interface_id=interface,
        instance_id=raw.get("InstanceId") or owner.get(interface or ""),
        state="associated" if associated else "not associated",
        detail=raw.get("PublicIp"),
    )


def problems(address: AddressView, target: InstanceView) -> list[str]:
    if target.private_ip is None:
        return [f"{target.instance_id} shows no primary private IP to associate {address.key} with"]
    return []


def _association(address: AddressView, target: InstanceView) -> dict[str, Any]:
    return {
        "AllocationId": address.address,
        "NetworkInterfaceId": target.primary_interface_id or "",
        "PrivateIpAddress": target.private_ip or "",
        # Take it from the failed primary, which cannot be asked to let go.
        "AllowReassociation": True,
    }


def move(client: EC2Client, address: AddressView, target: InstanceView) -> None:
    ec2.call("AssociateAddress", lambda: client.associate_address(**_association(address, target)))


def dry_run(client: EC2Client, address: AddressView, target: InstanceView) -> DryRunAnswer:
    return ec2.dry_run(
        "AssociateAddress",
        lambda: client.associate_address(DryRun=True, **_association(address, target)),
    )
