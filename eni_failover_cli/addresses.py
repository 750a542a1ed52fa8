"""A pair's routes, Elastic IPs and secondary IPs, as EC2 shows them to the operator.

The same reads as the function's (eni_failover.kinds: one describe per kind), with the
operator's credentials; `status` and `drill` show where each address is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eni_failover import kinds
from eni_failover.config import Pair
from eni_failover.observed import AddressView, InstanceView
from eni_failover_cli.outputs import PairOutputs

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

# How `status` names each kind in its rows.
KIND_LABELS = {"route": "route", "elastic-ip": "elastic IP", "private-ip": "private IP"}


def read(
    client: EC2Client, pair: PairOutputs, instances: Mapping[str, InstanceView]
) -> tuple[AddressView, ...]:
    """Every address the pair lists, in its order; `instances`: both of the pair's, so a
    route or an Elastic IP that names only an interface is put on its instance."""
    if not pair.has_addresses:
        return ()
    as_configured = Pair(
        name=pair.name,
        primary_instance_id=pair.primary_instance_id,
        standby_instance_id=pair.standby_instance_id,
        interface_ids=pair.interface_ids,
        route_table_ids=pair.route_table_ids,
        route_cidrs=pair.route_cidrs,
        eip_allocation_ids=pair.eip_allocation_ids,
        private_ips=pair.private_ips,
    )
    return kinds.read_addresses(client, [as_configured], instances)[pair.name]


def as_dict(pair: PairOutputs, view: AddressView) -> dict[str, Any]:
    return {
        "kind": view.kind,
        "address": view.address,
        "exists": view.exists,
        "on_instance": view.instance_id,
        "side": pair.side_of(view.instance_id),
        "on_interface": view.interface_id,
        # route: active | blackhole; elastic-ip: associated | not associated; private-ip:
        # assigned | not assigned | reassigning.
        "state": view.state,
        "detail": view.detail,
        # On an instance of the pair and serving there (a blackhole route serves no one).
        "serving": view.exists
        and view.instance_id is not None
        and pair.side_of(view.instance_id) is not None
        and view.state != "blackhole",
    }


def where(address: dict[str, Any]) -> str:
    """Where an address is, in words (as_dict's form)."""
    if not address["exists"]:
        return f"does not exist ({address['detail']})" if address["detail"] else "does not exist"
    state = address["state"] or "state unknown"
    detail = f"; {address['detail']}" if address["detail"] else ""
    if address["on_instance"] is None:
        on = f"on {address['on_interface']}, no instance" if address["on_interface"] else ""
        return f"{on or 'on no instance'} ({state}){detail}"
    side = address["side"] or "an instance outside the pair,"
    return f"on {side} {address['on_instance']} ({address['on_interface']}; {state}){detail}"
