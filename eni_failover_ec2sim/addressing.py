"""Routes, Elastic IPs and secondary private IPs: EC2's rules for the calls that move them.

moto replaces a route whatever its target's VPC, shows every route "active", answers a
DryRun ReplaceRoute by replacing the route, refuses a reassociation EC2 makes by default,
leaves an Elastic IP on its old interface (and a displaced one on its new), and assigns
any private IP to any interface. EC2 does none of that, and shows route and association
changes only after a while (eventual consistency). FaithfulEC2 owns one AddressRules and
calls it under its lock, from the seams inside moto's request handling, so every refusal
is a real EC2 error response.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from moto.ec2.exceptions import DryRunClientError, ResourceAlreadyAssociatedError
from moto.ec2.utils import generate_route_id

from eni_failover_ec2sim import errors
from eni_failover_ec2sim.lifecycle import AddressChange, Delay, RouteChange

# The attributes of a moto Route that hold its target (one of them is set).
ROUTE_TARGETS = (
    "gateway",
    "nat_gateway",
    "egress_only_igw",
    "transit_gateway",
    "instance",
    "interface",
    "vpc_pcx",
    "carrier_gateway",
    "vpc_endpoint_id",
)
_RUNNING = "running"
_BLACKHOLE = "blackhole"


class AddressRules:
    """EC2's rules and delays for ReplaceRoute, AssociateAddress, AssignPrivateIpAddresses."""

    def __init__(self, *, route_delay: Delay, address_delay: Delay) -> None:
        self._route_delay = route_delay
        self._address_delay = address_delay
        # Changes EC2 has made that its describes do not show yet, by route ID
        # ("rtb-...~destination") and by public IP.
        self._routes: dict[str, RouteChange] = {}
        self._addresses: dict[str, AddressChange] = {}

    # -- ReplaceRoute ----------------------------------------------------------------

    def replace_route(
        self,
        backend: Any,
        params: Mapping[str, Any],
        *,
        apply: Callable[[], Any],
        now: float,
    ) -> Any:
        """Validate as EC2 does (also on DryRun), let moto replace, and delay the view."""
        table = backend.get_route_table(params.get("RouteTableId"))
        ipv4 = params.get("DestinationCidrBlock")
        ipv6 = params.get("DestinationIpv6CidrBlock")
        prefix_list = params.get("DestinationPrefixListId")
        route = table._routes.get(generate_route_id(table.id, ipv4, ipv6, prefix_list))
        if route is None:
            raise errors.route_not_found(str(ipv4 or ipv6 or prefix_list))
        interface_id = params.get("NetworkInterfaceId")
        if interface_id:
            interface = backend.get_network_interface(interface_id)
            if interface.vpc_id != table.vpc_id:
                raise errors.different_networks(table.id, f"network interface {interface.id}")
        instance_id = params.get("InstanceId")
        if instance_id:
            instance = backend.get_instance(instance_id)
            if instance.vpc_id != table.vpc_id:
                raise errors.different_networks(table.id, f"instance {instance.id}")
        if _flag(params.get("DryRun")):
            raise DryRunClientError()
        shown = _route_target(route)
        answer = apply()
        countdown = self._route_delay.start(now)
        if countdown.ready(now):
            self._routes.pop(route.id, None)
            return answer
        target = _route_target(route)
        for name, value in shown.items():
            setattr(route, name, value)
        # A replace of a route whose last replace is not shown yet supersedes it.
        self._routes[route.id] = RouteChange(route, target, countdown)
        return answer

    def route_state(self, route: Any, moto_state: str) -> str:
        """ "blackhole" when the target interface (or instance) cannot take traffic: its
        instance is not running, it is detached, or it no longer exists."""
        interface = route.interface
        if interface is not None:
            if interface.ec2_backend.enis.get(interface.id) is not interface:
                return _BLACKHOLE
            if interface.instance is None or interface.instance.state != _RUNNING:
                return _BLACKHOLE
        elif route.instance is not None and route.instance.state != _RUNNING:
            return _BLACKHOLE
        return moto_state

    # -- AssociateAddress ------------------------------------------------------------

    def associate_address(
        self, backend: Any, params: Mapping[str, Any], *, now: float
    ) -> Any | None:
        """Validate as EC2 does (also on DryRun), associate, and delay DescribeAddresses'
        view. The address associated, or None when the request lacks a parameter (for moto
        to answer MissingParameter)."""
        address = _address(backend, params)
        instance, interface = _association_target(backend, params)
        if address is None or interface is None:
            return None
        private_ip = params.get("PrivateIpAddress")
        if private_ip and private_ip not in _private_ips(interface):
            raise errors.private_ip_not_on_interface(private_ip, interface.id)
        # "Reassociation is automatic, but you can specify false to ensure the operation
        # fails if the Elastic IP address is already associated with another resource"
        # (API reference). moto refuses unless it is true.
        allow = params.get("AllowReassociation")
        reassociating = address.eni is not None and address.eni is not interface
        if reassociating and allow is not None and not _flag(allow):
            raise ResourceAlreadyAssociatedError(address.public_ip)
        if _flag(params.get("DryRun")):
            raise DryRunClientError()
        # "If you associate an Elastic IP address with an instance that has an existing
        # Elastic IP address, the existing address is disassociated from the instance, but
        # remains allocated to your account" (API reference); moto leaves both on it.
        displaced = [
            other for other in backend.addresses if other is not address and other.eni is interface
        ]
        shown = {changed.public_ip: copy.copy(changed) for changed in (address, *displaced)}
        previous = address.eni
        backend.associate_address(
            instance=instance,
            eni=None if instance is not None else interface,
            address=params.get("PublicIp"),
            allocation_id=params.get("AllocationId"),
            reassociate=True,
        )
        for other in displaced:
            other.eni = other.instance = other.association_id = None
        if previous is not None and address.eni is not previous:
            # moto leaves the old interface showing the address; EC2 takes it off, and an
            # instance that gets public IPs at launch gets a new one (as on disassociate).
            previous.public_ip = None
            if previous.instance is not None and previous.instance.state == _RUNNING:
                previous.check_auto_public_ip()
        for public_ip, was in shown.items():
            self._delay_address_view(public_ip, was, now)
        return address

    def _delay_address_view(self, public_ip: str, was: Any, now: float) -> None:
        countdown = self._address_delay.start(now)
        pending = self._addresses.get(public_ip)
        if countdown.ready(now):
            self._addresses.pop(public_ip, None)
        elif pending is not None:
            pending.countdown = countdown  # still showing what it showed before
        else:
            self._addresses[public_ip] = AddressChange(was, countdown)

    def shown_addresses(self, addresses: Iterable[Any]) -> list[Any]:
        """DescribeAddresses' view: an address whose association changed too recently
        appears as it was."""
        shown = []
        for address in addresses:
            pending = self._addresses.get(address.public_ip)
            shown.append(address if pending is None else pending.shown)
        return shown

    # -- AssignPrivateIpAddresses ----------------------------------------------------

    def assign_private_ips(
        self, backend: Any, interface_id: str, private_ips: Iterable[str], *, allow: bool
    ) -> None:
        """EC2's checks on named addresses, then take any reassigned ones off their
        interface (moto would leave them on both)."""
        interface = backend.get_network_interface(interface_id)
        subnet = ipaddress.ip_network(interface.subnet.cidr_block)
        wanted = [str(ip) for ip in private_ips]
        moving: list[tuple[Any, str]] = []
        for private_ip in wanted:
            if not _within(private_ip, subnet):
                raise errors.address_outside_subnet(private_ip, interface.subnet.id)
            if _reserved(private_ip, subnet):
                raise errors.reserved_address(private_ip, interface.subnet.id)
            for other in backend.enis.values():
                if other is interface or private_ip not in _private_ips(other):
                    continue
                if private_ip == other.private_ip_address:
                    raise errors.primary_address(private_ip, other.id)
                if not allow:
                    raise errors.address_already_assigned(private_ip, other.id)
                moving.append((other, private_ip))
        for other, private_ip in moving:
            other.private_ip_addresses[:] = [
                entry
                for entry in other.private_ip_addresses
                if entry.get("PrivateIpAddress") != private_ip
            ]

    # -- time ------------------------------------------------------------------------

    def observe(self, operation: str, params: Mapping[str, Any]) -> None:
        """A describe has shown the pending changes it covers once more."""
        if operation == "DescribeRouteTables":
            tables = _named(params, "RouteTableIds", "route-table-id")
            for change in self._routes.values():
                if tables is None or change.route.route_table.id in tables:
                    change.countdown.observe()
        elif operation == "DescribeAddresses":
            allocations = _named(params, "AllocationIds", "allocation-id")
            public_ips = _named(params, "PublicIps", "public-ip")
            names_none = allocations is None and public_ips is None
            for public_ip, shown in self._addresses.items():
                if (
                    names_none
                    or shown.shown.allocation_id in (allocations or ())
                    or public_ip in (public_ips or ())
                ):
                    shown.countdown.observe()

    def advance(self, now: float) -> None:
        for change in list(self._routes.values()):
            if change.countdown.ready(now):
                self._complete_route(change)
        for public_ip, address_change in list(self._addresses.items()):
            if address_change.countdown.ready(now):
                del self._addresses[public_ip]

    def settle(self) -> None:
        for change in list(self._routes.values()):
            self._complete_route(change)
        self._addresses.clear()

    def _complete_route(self, change: RouteChange) -> None:
        route = change.route
        self._routes.pop(route.id, None)
        if route.route_table._routes.get(route.id) is not route:
            return  # deleted (or deleted and created anew) meanwhile
        for name, value in change.target.items():
            setattr(route, name, value)


def _route_target(route: Any) -> dict[str, Any]:
    return {name: getattr(route, name, None) for name in ROUTE_TARGETS}


def _address(backend: Any, params: Mapping[str, Any]) -> Any:
    """The Elastic IP the request names (NotFound if unknown), or None if it names none."""
    if params.get("AllocationId"):
        return backend.address_by_allocation([params["AllocationId"]])[0]
    if params.get("PublicIp"):
        return backend.address_by_ip([params["PublicIp"]])[0]
    return None


def _association_target(backend: Any, params: Mapping[str, Any]) -> tuple[Any, Any]:
    """The instance the request names (or None) and the interface an association would
    land on (None if it names neither); NotFound if unknown."""
    if params.get("InstanceId"):
        instance = backend.get_instance(params["InstanceId"])
        # "The instance must have exactly one attached network interface" (API reference).
        if len(instance.nics) > 1:
            raise errors.multiple_interfaces(instance.id)
        return instance, instance.nics.get(0)
    if params.get("NetworkInterfaceId"):
        return None, backend.get_network_interface(params["NetworkInterfaceId"])
    return None, None


def _private_ips(interface: Any) -> list[str]:
    return [str(entry.get("PrivateIpAddress")) for entry in interface.private_ip_addresses]


def _within(private_ip: str, subnet: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(private_ip) in subnet
    except ValueError:
        return False


def _reserved(private_ip: str, subnet: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """One of the addresses AWS keeps in every subnet: the first four and the last."""
    offset = int(ipaddress.ip_address(private_ip)) - int(subnet.network_address)
    return offset < 4 or offset == subnet.num_addresses - 1


def _flag(value: object) -> bool:
    return value in (True, "true", "True")


def _named(params: Mapping[str, Any], list_key: str, filter_name: str) -> set[str] | None:
    named = [str(value) for value in params.get(list_key) or []]
    for wanted in params.get("Filters") or []:
        if wanted.get("Name") == filter_name:
            named += [str(value) for value in wanted.get("Values") or []]
    return set(named) or None
