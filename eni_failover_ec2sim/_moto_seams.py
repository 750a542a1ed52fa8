"""Where the simulator plugs into moto 5.2's EC2, and how it unplugs.

Every patch replaces a class attribute, so it applies to the in-process mock and to a
ThreadedMotoServer in the same process alike, and uninstall restores the original
attribute (or removes the override from the subclass). The seams, by class:

- EC2Response.call_action: the gate for every EC2 request. Under the simulator's lock it
  counts the call, throttles or injects a fault, applies EC2's rules on the request
  itself (no unpaginated, unindexed DescribeNetworkInterfaces in a large account), and
  then lets moto serve and serialise it; callbacks run after the lock is released. A
  rejection is raised from inside moto's own action dispatch, so moto turns it into EC2's
  error response and botocore's retry handler sees a real throttling error (with EC2's
  HTTP 503, where moto would say 400).
- EC2Response.detach_network_interface: moto drops the Force parameter; pass it on.
- EC2Response.attach_network_interface: moto drops NetworkCardIndex; pass it on.
- EC2Response.modify_network_interface_attribute: moto drops Attachment
  (DeleteOnTermination); apply it. Record a Groups change (moto applies it).
- EC2Backend.attach_network_interface / detach_network_interface: EC2's attach rules and
  the attaching/detaching latency (moto's own detach runs only when a detach completes).
- EC2Backend.stop_instances / start_instances: "stopping" latency (longer without
  SkipOsShutdown: EC2 first shuts the OS down); no start mid-stop; a start gives a new
  LaunchTime (moto keeps the creation time).
- EC2Backend.describe_instance_status: honour the status-check and AZ filters; with
  terminated_status_not_found, answer NotFound for a terminated instance named by ID.
- Instance.terminate: detach secondary ENIs that are not delete-on-termination.
- Instance.instance_status / system_status: report the checks set with set_status.
- Instance.attached_ebs_status (moto has none): AttachedEbsStatus, as set with set_status.
- NetworkInterface.attachment: Attachment.Status "attaching"/"detaching" in flight, and
  the attachment's NetworkCardIndex (moto says 0 always).
- NetworkInterface.get_filter_value: the "status" and "attachment.status" filters.
- ElasticAddress.instance_id / get_filter_value: an EIP associated with an ENI reports
  the instance the ENI is attached to, as EC2 does (moto reports "").
- EC2Response.replace_route / associate_address: EC2's checks before moto's (moto answers
  DryRun first, or not at all), then the delayed view (addressing module). An association
  is automatic unless AllowReassociation is false (moto: only if it is true), and takes
  the target's existing address off it (moto leaves both).
- EC2Response.assign_private_ip_addresses: EC2's checks on named addresses, and a
  reassigned address leaves its old interface.
- EC2Backend.describe_addresses: an association changed too recently shows as it was.
- Route.state: "blackhole" for a target that cannot take traffic (moto: "active").
- Route.instance_id / network_interface_id / instance_owner_id (added): a route to an
  interface names its instance, one to an instance its primary interface, as EC2 shows.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import camelcase_to_underscores
from moto.ec2.models import EC2Backend
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.instances import Instance
from moto.ec2.models.route_tables import Route
from moto.ec2.responses import EC2Response
from moto.ec2.utils import generic_filter

from eni_failover_ec2sim import errors

if TYPE_CHECKING:
    from eni_failover_ec2sim.simulator import FaithfulEC2

_ABSENT = object()

_STATUS_CHECK_FILTERS: dict[str, Callable[[Any], str | None]] = {
    "instance-status.status": lambda instance: instance.instance_status.get("Status"),
    "instance-status.reachability": lambda instance: _reachability(instance.instance_status),
    "system-status.status": lambda instance: instance.system_status.get("Status"),
    "system-status.reachability": lambda instance: _reachability(instance.system_status),
    "attached-ebs-status.status": lambda instance: instance.attached_ebs_status.get("Status"),
    "attached-ebs-status.reachability": lambda instance: _reachability(
        instance.attached_ebs_status
    ),
    "availability-zone": lambda instance: instance.availability_zone,
}


class _Patch:
    def __init__(self, owner: type, name: str, replacement: Any, *, adds: bool = False) -> None:
        """Replace owner.name; with `adds`, give owner an attribute moto does not have."""
        if adds and hasattr(owner, name):
            raise RuntimeError(
                f"moto changed: {owner.__name__}.{name} exists now; check whether the seam "
                "that adds it is still needed"
            )
        if not adds and not hasattr(owner, name):
            raise RuntimeError(f"moto changed: {owner.__name__}.{name} no longer exists")
        self.owner = owner
        self.name = name
        self.replacement = replacement
        self.saved: Any = _ABSENT

    def apply(self) -> None:
        self.saved = self.owner.__dict__.get(self.name, _ABSENT)
        setattr(self.owner, self.name, self.replacement)

    def revert(self) -> None:
        if self.saved is _ABSENT:
            delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self.saved)


def _original(owner: type, name: str) -> Any:
    """The attribute as moto defines it (inherited or not), before any patch."""
    return inspect.getattr_static(owner, name)


def _reachability(check: Mapping[str, Any]) -> str | None:
    details = check.get("Details") or []
    return next((d["Status"] for d in details if d.get("Name") == "reachability"), None)


class MotoSeams:
    def __init__(self, sim: FaithfulEC2) -> None:
        self._sim = sim
        self._patches = self._build()

    def install(self) -> None:
        applied: list[_Patch] = []
        try:
            for patch in self._patches:
                patch.apply()
                applied.append(patch)
        except BaseException:
            for patch in reversed(applied):
                patch.revert()
            raise

    def uninstall(self) -> None:
        for patch in reversed(self._patches):
            patch.revert()

    def _build(self) -> list[_Patch]:
        return [
            *self._request_gate(),
            *self._interface_rules(),
            *self._instance_rules(),
            *self._elastic_ip_rules(),
            *self._address_rules(),
        ]

    def _request_gate(self) -> list[_Patch]:
        sim = self._sim
        moto_call_action = _original(EC2Response, "call_action")

        def call_action(response: Any) -> Any:
            operation = response._get_action()
            params = dict(response._get_params())
            with sim.lock:
                rejection = sim._admit(operation, params, response.ec2_backend)
                if rejection is not None:

                    def reject() -> None:
                        raise rejection

                    # Shadow the action on this one response object, so the error is
                    # raised where moto catches and serialises service errors.
                    setattr(response, camelcase_to_underscores(operation), reject)
                status, headers, body = moto_call_action(response)
            if rejection is not None:
                status = errors.http_status(rejection.code)
                headers["status"] = status
            elif int(status) < 300:
                sim._notify(operation, params)
            return status, headers, body

        def detach_network_interface(response: Any) -> Any:
            attachment_id = response._get_param("AttachmentId")
            force = bool(response._get_param("Force", False))
            response.error_on_dryrun()
            response.ec2_backend.detach_network_interface(attachment_id, force=force)
            return EmptyResult()

        def attach_network_interface(response: Any) -> Any:
            interface_id = response._get_param("NetworkInterfaceId")
            instance_id = response._get_param("InstanceId")
            device_index = response._get_param("DeviceIndex")
            network_card_index = response._get_param("NetworkCardIndex", 0)
            response.error_on_dryrun()
            attachment = response.ec2_backend.attach_network_interface(
                interface_id, instance_id, device_index, network_card_index=network_card_index
            )
            return ActionResult(
                {
                    "AttachmentId": attachment.attachment_id,
                    "NetworkCardIndex": attachment.network_card_index,
                }
            )

        moto_modify = _original(EC2Response, "modify_network_interface_attribute")

        def modify_network_interface_attribute(response: Any) -> Any:
            change = response._get_param("Attachment")
            if change:
                response.error_on_dryrun()
                sim._set_delete_on_termination(
                    response.ec2_backend,
                    response._get_param("NetworkInterfaceId"),
                    change.get("AttachmentId"),
                    change.get("DeleteOnTermination"),
                )
            answer = moto_modify(response)
            groups = response._get_param("Groups", [])
            if groups and not response._get_param("DryRun"):
                sim._interface_groups_changed(
                    response.ec2_backend, response._get_param("NetworkInterfaceId"), groups
                )
            return answer

        return [
            _Patch(EC2Response, "call_action", call_action),
            _Patch(EC2Response, "detach_network_interface", detach_network_interface),
            _Patch(EC2Response, "attach_network_interface", attach_network_interface),
            _Patch(
                EC2Response,
                "modify_network_interface_attribute",
                modify_network_interface_attribute,
            ),
        ]

    def _interface_rules(self) -> list[_Patch]:
        sim = self._sim
        moto_attach = _original(EC2Backend, "attach_network_interface")
        moto_attachment = _original(NetworkInterface, "attachment")
        moto_filter = _original(NetworkInterface, "get_filter_value")

        def attach_network_interface(
            backend: Any,
            eni_id: str,
            instance_id: str,
            device_index: int,
            network_card_index: int = 0,
        ) -> Any:
            return sim._attach(
                backend,
                moto_attach,
                eni_id,
                instance_id,
                device_index,
                network_card_index=network_card_index,
            )

        def detach_network_interface(backend: Any, attachment_id: str, force: bool = False) -> None:
            sim._detach(backend, attachment_id, force)

        def attachment(interface: Any) -> Any:
            current = moto_attachment.fget(interface)
            if current is not None:
                current.status = sim._attachment_status(interface.id)
                current.network_card_index = sim._network_card_index(interface)
            return current

        def get_filter_value(
            interface: Any, filter_name: str, method_name: str | None = None
        ) -> Any:
            if filter_name == "status":
                return interface.status
            if filter_name == "attachment.status":
                current = interface.attachment
                return current.status if current is not None else None
            if filter_name == "addresses.private-ip-address":
                # EC2 matches any private IPv4 address of the interface, its secondary ones
                # too; moto matches only the primary.
                return [str(p["PrivateIpAddress"]) for p in interface.private_ip_addresses]
            return moto_filter(interface, filter_name, method_name)

        return [
            _Patch(EC2Backend, "attach_network_interface", attach_network_interface),
            _Patch(EC2Backend, "detach_network_interface", detach_network_interface),
            _Patch(NetworkInterface, "attachment", property(attachment)),
            _Patch(NetworkInterface, "get_filter_value", get_filter_value),
        ]

    def _instance_rules(self) -> list[_Patch]:
        sim = self._sim
        moto_stop = _original(EC2Backend, "stop_instances")
        moto_start = _original(EC2Backend, "start_instances")
        moto_describe_status = _original(EC2Backend, "describe_instance_status")
        moto_terminate = _original(Instance, "terminate")
        moto_stop_response = _original(EC2Response, "stop_instances")
        moto_instance_status = _original(Instance, "instance_status")
        moto_system_status = _original(Instance, "system_status")

        def stop_instances(backend: Any, instance_ids: list[str]) -> Any:
            with sim.lock:
                stopped = moto_stop(backend, instance_ids)
                sim._stopped(instance for instance, _previous in stopped)
                return stopped

        def start_instances(backend: Any, instance_ids: list[str]) -> Any:
            with sim.lock:
                instances = backend.get_multi_instances_by_id(instance_ids)
                sim._check_startable(instances)
                started = moto_start(backend, instance_ids)
                sim._started(instances)
                return started

        def describe_instance_status(
            backend: Any, instance_ids: list[str], include_all_instances: bool, filters: Any
        ) -> list[Any]:
            if instance_ids:
                sim._check_status_lookup(backend.get_multi_instances_by_id(instance_ids))
            instances: list[Any] = moto_describe_status(
                backend, instance_ids, include_all_instances, filters
            )
            for wanted in filters or []:
                value_of = _STATUS_CHECK_FILTERS.get(wanted["name"])
                if value_of is not None:
                    instances = [i for i in instances if value_of(i) in wanted["values"]]
            return instances

        def stop_instances_response(response: Any) -> Any:
            # moto ignores Force; EC2 takes it and the sim remembers it.
            force = str(response._get_param("Force", False)).lower() == "true"
            # moto ignores SkipOsShutdown too; without it EC2 first shuts the OS down.
            skip = str(response._get_param("SkipOsShutdown", False)).lower() == "true"
            with sim.lock:
                sim._skipping_os_shutdown = skip
                try:
                    answer = moto_stop_response(response)
                finally:
                    sim._skipping_os_shutdown = False
            if not response._get_param("DryRun"):
                sim._stop_requested(
                    response._get_param("InstanceIds", []), force=force, skip_os_shutdown=skip
                )
            return answer

        def modify_instance_security_groups(
            backend: Any, instance_id: str, new_group_id_list: list[str]
        ) -> Any:
            return sim._replace_instance_groups(backend, instance_id, new_group_id_list)

        def terminate(instance: Any) -> Any:
            with sim.lock:
                sim._terminating(instance)
                return moto_terminate(instance)

        def instance_status(instance: Any) -> dict[str, Any]:
            payload = sim._check_status(instance, "instance")
            return payload if payload is not None else moto_instance_status.fget(instance)

        def system_status(instance: Any) -> dict[str, Any]:
            payload = sim._check_status(instance, "system")
            return payload if payload is not None else moto_system_status.fget(instance)

        def attached_ebs_status(instance: Any) -> dict[str, Any]:
            return sim._attached_ebs_status(instance)

        return [
            _Patch(EC2Backend, "stop_instances", stop_instances),
            _Patch(EC2Response, "stop_instances", stop_instances_response),
            _Patch(EC2Backend, "modify_instance_security_groups", modify_instance_security_groups),
            _Patch(EC2Backend, "start_instances", start_instances),
            _Patch(EC2Backend, "describe_instance_status", describe_instance_status),
            _Patch(Instance, "terminate", terminate),
            _Patch(Instance, "instance_status", property(instance_status)),
            _Patch(Instance, "system_status", property(system_status)),
            _Patch(Instance, "attached_ebs_status", property(attached_ebs_status), adds=True),
        ]

    def _elastic_ip_rules(self) -> list[_Patch]:
        moto_filter = _original(ElasticAddress, "get_filter_value")

        def attached_instance_id(address: Any) -> str | None:
            if address.instance is not None:
                return str(address.instance.id)
            if address.eni is not None and address.eni.instance is not None:
                return str(address.eni.instance.id)
            return None

        def instance_id(address: Any) -> str:
            return attached_instance_id(address) or ""

        def get_filter_value(address: Any, filter_name: str, method_name: str | None = None) -> Any:
            if filter_name == "instance-id":
                return attached_instance_id(address)
            return moto_filter(address, filter_name, method_name)

        return [
            _Patch(ElasticAddress, "instance_id", property(instance_id)),
            _Patch(ElasticAddress, "get_filter_value", get_filter_value),
        ]

    def _address_rules(self) -> list[_Patch]:
        sim = self._sim
        moto_replace_route = _original(EC2Response, "replace_route")
        moto_associate = _original(EC2Response, "associate_address")
        moto_assign = _original(EC2Response, "assign_private_ip_addresses")
        moto_describe_addresses = _original(EC2Backend, "describe_addresses")
        moto_route_state = _original(Route, "state")

        def replace_route(response: Any) -> Any:
            return sim._replace_route(
                response.ec2_backend, response._get_params(), lambda: moto_replace_route(response)
            )

        def associate_address(response: Any) -> Any:
            address = sim._associate_address(response.ec2_backend, response._get_params())
            if address is None:  # a parameter missing: moto says which
                return moto_associate(response)
            return ActionResult({"AssociationId": address.association_id})

        def assign_private_ip_addresses(response: Any) -> Any:
            private_ips = response._get_param("PrivateIpAddresses", [])
            allow = str(response._get_param("AllowReassignment", False)).lower() == "true"
            with sim.lock:
                if private_ips:
                    sim._assign_private_ips(
                        response.ec2_backend,
                        response._get_param("NetworkInterfaceId"),
                        private_ips,
                        allow=allow,
                    )
                return moto_assign(response)

        def describe_addresses(
            backend: Any,
            allocation_ids: list[str] | None = None,
            public_ips: list[str] | None = None,
            filters: Any = None,
        ) -> list[Any]:
            found = moto_describe_addresses(backend, allocation_ids, public_ips, None)
            shown = sim._shown_addresses(found)
            # Filters apply to what is shown, as moto applies them to what it holds.
            return list(generic_filter(filters, shown)) if filters else shown

        def route_state(route: Any) -> str:
            return sim._route_state(route, moto_route_state.fget(route))

        def route_instance_id(route: Any) -> str | None:
            instance = _route_instance(route)
            return None if instance is None else str(instance.id)

        def route_instance_owner_id(route: Any) -> str | None:
            instance = _route_instance(route)
            return None if instance is None else str(instance.owner_id)

        def route_network_interface_id(route: Any) -> str | None:
            if route.interface is not None:
                return str(route.interface.id)
            primary = route.instance.nics.get(0) if route.instance is not None else None
            return None if primary is None else str(primary.id)

        return [
            _Patch(EC2Response, "replace_route", replace_route),
            _Patch(EC2Response, "associate_address", associate_address),
            _Patch(EC2Response, "assign_private_ip_addresses", assign_private_ip_addresses),
            _Patch(EC2Backend, "describe_addresses", describe_addresses),
            _Patch(Route, "state", property(route_state)),
            _Patch(Route, "instance_id", property(route_instance_id)),
            _Patch(Route, "network_interface_id", property(route_network_interface_id)),
            _Patch(Route, "instance_owner_id", property(route_instance_owner_id), adds=True),
        ]


def _route_instance(route: Any) -> Any:
    """The instance a route's traffic goes to: its target instance, or the instance its
    target interface is attached to (EC2 shows both IDs; moto only the one it was given)."""
    if route.instance is not None:
        return route.instance
    return route.interface.instance if route.interface is not None else None
