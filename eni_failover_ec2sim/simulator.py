"""FaithfulEC2: moto's EC2 made strict and slow where the failover depends on it.

The public methods control the simulation (latency, hangs, status checks, faults, rate
limits) and observe it (call counts). The underscored methods are the EC2 rules; the
moto seams (_moto_seams) call them, under the simulator's lock, from inside moto's
request handling, so every rejection is a real EC2 error response.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType, TracebackType
from typing import Any, Literal, Self

import botocore.session
from moto.core.utils import utcnow
from moto.ec2.exceptions import (
    EC2ClientError,
    InvalidInstanceIdError,
    InvalidNetworkAttachmentIdError,
    LastEniDetachError,
)

from eni_failover_ec2sim import errors
from eni_failover_ec2sim._moto_seams import MotoSeams
from eni_failover_ec2sim.addressing import AddressRules
from eni_failover_ec2sim.clock import Clock
from eni_failover_ec2sim.lifecycle import (
    Countdown,
    Delay,
    HangMode,
    InterfaceTransition,
    StopTransition,
)
from eni_failover_ec2sim.traffic import CallCallback, CallEvent, Fault, Subscription, TokenBucket

CheckStatus = Literal["ok", "impaired", "initializing", "insufficient-data"]
"""What EC2 reports for a running instance's system, instance or attached-EBS status check."""

_REACHABILITY: dict[str, str] = {
    "ok": "passed",
    "impaired": "failed",
    "initializing": "initializing",
    "insufficient-data": "insufficient-data",
}
_GONE_STATES = frozenset({"shutting-down", "terminated"})
# The filters EC2 indexes: with many interfaces in the account, an unpaginated
# DescribeNetworkInterfaces is served only by ID or with one of these (EC2 API reference).
INDEXED_INTERFACE_FILTERS = frozenset(
    {
        "attachment.instance-id",
        "group-id",
        "mac-address",
        "private-dns-name",
        "private-ip-address",
        "subnet-id",
        "vpc-id",
    }
)
_RUNNING_CODE = 16
# How long DescribeRouteTables and DescribeAddresses go on showing a route's old target
# or an Elastic IP's old association, by default. AWS publishes no figure ("eventually
# consistent"); a short one makes every caller that trusts a write's answer fail.
ROUTE_SECONDS = 0.3
ADDRESS_SECONDS = 0.3
_STOPPING = ("stopping", 64)
_STOPPED = ("stopped", 80)

# Describe calls that count as one poll of the transitions they show.
_INTERFACE_POLLS = frozenset({"DescribeNetworkInterfaces", "DescribeNetworkInterfaceAttribute"})
_INSTANCE_POLLS = frozenset({"DescribeInstances", "DescribeInstanceStatus"})

_installed_lock = threading.Lock()
_installed: FaithfulEC2 | None = None


def installed() -> FaithfulEC2 | None:
    """The simulator installed in this process, if any (one at a time: its patches are
    global)."""
    with _installed_lock:
        return _installed


class _CheckState:
    __slots__ = ("since", "status")

    def __init__(self, status: CheckStatus, since: datetime) -> None:
        self.status = status
        self.since = since


class FaithfulEC2:
    """Installs EC2 rules, latency and faults into moto's EC2 for as long as it is entered.

    Works under `mock_aws()` and through `ThreadedMotoServer` in the same process alike,
    because it patches the classes both share. Only one can be installed at a time.
    """

    def __init__(
        self,
        *,
        attach_seconds: float = 0.0,
        detach_seconds: float = 0.0,
        force_detach_seconds: float = 0.0,
        stop_seconds: float = 0.0,
        os_shutdown_seconds: float = 0.0,
        attach_polls: int | None = None,
        detach_polls: int | None = None,
        force_detach_polls: int | None = None,
        stop_polls: int | None = None,
        force_detach_blocks_device_index: bool = False,
        max_unfiltered_interfaces: int | None = 0,
        terminated_status_not_found: bool = False,
        route_seconds: float = ROUTE_SECONDS,
        route_polls: int | None = None,
        address_seconds: float = ADDRESS_SECONDS,
        address_polls: int | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        """Latencies default to none (moto's timing) and run on `clock`.

        A `*_polls` value measures that latency in describe calls instead: N describes that
        name the interface or instance (or name nothing) show the change in progress.
        force_detach_blocks_device_index: after a forced detach completes, the old instance
        cannot take an interface at that device index until it has been stopped, which AWS
        documents as a possible consequence of Force.
        os_shutdown_seconds: how much longer a stop stays "stopping" while EC2 first
        attempts a graceful OS shutdown, which StopInstances does (even with Force) unless
        SkipOsShutdown is set.
        max_unfiltered_interfaces: with more interfaces than this in the account, an
        unpaginated DescribeNetworkInterfaces that names no NetworkInterfaceIds and uses no
        indexed filter is refused. AWS publishes no number, so by default every account
        with an interface counts as large; None serves such calls always, as moto does.
        terminated_status_not_found: DescribeInstanceStatus that names a terminated
        instance answers InvalidInstanceID.NotFound, as real EC2 has been reported to do
        while DescribeInstances still shows the instance (by default, as moto: shown
        "not-applicable" with IncludeAllInstances).
        route_seconds: after a ReplaceRoute, DescribeRouteTables shows the route's old
        target for this long (route_polls=N instead: for N DescribeRouteTables calls that
        name its table or no table). address_seconds / address_polls: the same for an
        Elastic IP's association after AssociateAddress, in DescribeAddresses.
        """
        if max_unfiltered_interfaces is not None and max_unfiltered_interfaces < 0:
            raise ValueError("max_unfiltered_interfaces must be 0 or more, or None")
        self._attach_delay = Delay(seconds=attach_seconds, polls=attach_polls)
        self._detach_delay = Delay(seconds=detach_seconds, polls=detach_polls)
        self._force_detach_delay = Delay(seconds=force_detach_seconds, polls=force_detach_polls)
        self._stop_delay = Delay(seconds=stop_seconds, polls=stop_polls)
        self._os_shutdown_delay = Delay(
            seconds=stop_seconds + os_shutdown_seconds, polls=stop_polls
        )
        # Whether the stop being served skips the OS shutdown (set by the request seam).
        self._skipping_os_shutdown = False
        self._force_blocks_index = force_detach_blocks_device_index
        self._max_unfiltered_interfaces = max_unfiltered_interfaces
        self._terminated_status_not_found = terminated_status_not_found
        self._addressing = AddressRules(
            route_delay=_delay(route_seconds, route_polls),
            address_delay=_delay(address_seconds, address_polls),
        )
        self._clock = clock
        # Reentrant: moto's backend calls itself (terminate -> delete interface), and seams
        # nest (a request holds the lock while the backend methods it calls take it again).
        self._lock = threading.RLock()
        self._interfaces: dict[str, InterfaceTransition] = {}
        self._stops: dict[str, StopTransition] = {}
        self._hangs: dict[str, HangMode] = {}
        # (instance, network card, device index) a forced detach left unusable.
        self._blocked_indexes: set[tuple[str, int, int]] = set()
        self._network_cards: dict[str, int] = {}
        self._checks: dict[str, dict[str, _CheckState]] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._rate: tuple[float, int, frozenset[str] | None] | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self._calls: Counter[str] = Counter()
        self._throttled: Counter[str] = Counter()
        self._seams: MotoSeams | None = None
        # Availability Zones in a service disruption (disrupt_zone).
        self._disrupted_zones: set[str] = set()
        # What was done to instances, for tests to observe: stops (with Force or not) and
        # security-group replacements (instance, interface, groups), by either call.
        self.stop_requests: list[tuple[str, bool]] = []
        self.group_changes: list[tuple[str, str, tuple[str, ...]]] = []
        # The instances whose stop was asked with SkipOsShutdown.
        self.os_shutdown_skipped: list[str] = []

    # -- installation ----------------------------------------------------------------

    def install(self) -> None:
        global _installed  # noqa: PLW0603 - one simulator per process: the patches are global
        with _installed_lock:
            if _installed is not None:
                raise RuntimeError("a FaithfulEC2 is already installed; exit it first")
            seams = MotoSeams(self)
            seams.install()
            self._seams = seams
            _installed = self

    def uninstall(self) -> None:
        global _installed  # noqa: PLW0603
        with _installed_lock:
            if _installed is not self or self._seams is None:
                return
            self._seams.uninstall()
            self._seams = None
            _installed = None

    def __enter__(self) -> Self:
        self.install()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    # -- controls --------------------------------------------------------------------

    def hang_detach(self, interface_id: str, *, forever: bool = False) -> None:
        """Make the next (or the current) detach of this ENI stay "detaching".

        It completes only after a detach with Force=True, plus the force latency; with
        `forever`, not even then.
        """
        mode = HangMode.FOREVER if forever else HangMode.UNTIL_FORCED
        with self._lock:
            transition = self._interfaces.get(interface_id)
            if transition is not None and transition.phase == "detaching":
                if mode is HangMode.FOREVER or not transition.forced:
                    transition.hang = mode
                    transition.countdown = Countdown.never()
            else:
                self._hangs[interface_id] = mode

    def set_status(
        self,
        instance_id: str,
        *,
        system: CheckStatus | None = None,
        instance: CheckStatus | None = None,
        attached_ebs: CheckStatus | None = None,
    ) -> None:
        """Set what DescribeInstanceStatus reports for a running instance's checks.

        attached_ebs is the AttachedEbsStatus check (moto reports none; the simulator
        reports "ok" for a running instance until told otherwise).
        """
        now = datetime.now(UTC)
        with self._lock:
            checks = self._checks.setdefault(instance_id, {})
            for kind, status in (
                ("system", system),
                ("instance", instance),
                ("attached_ebs", attached_ebs),
            ):
                if status is None:
                    continue
                if status not in _REACHABILITY:
                    raise ValueError(f"unknown status check value {status!r}")
                previous = checks.get(kind)
                if previous is None or previous.status != status:
                    checks[kind] = _CheckState(status, now)

    def disrupt_zone(self, zone: str) -> None:
        """An Availability Zone's service disruption, as the DescribeInstances reference
        describes it: a DescribeInstances or DescribeInstanceStatus that names an instance
        in the zone, or names no instance IDs at all (Filters alone name none), fails; one
        that names only instances in other zones works normally.

        AWS documents that the call fails, not with which code: the simulator answers
        Unavailable with HTTP 503, a server error, which botocore's standard mode retries
        (as it would any answer EC2 gives a zone it cannot reach). DescribeInstanceStatus
        is treated like DescribeInstances: the failover must not rely on it answering.
        """
        with self._lock:
            self._disrupted_zones.add(zone)

    def restore_zone(self, zone: str) -> None:
        """The zone's disruption is over."""
        with self._lock:
            self._disrupted_zones.discard(zone)

    def set_network_cards(self, instance_id: str, count: int) -> None:
        """Give an instance `count` network cards (by default one, as most instance types).

        Each card has its own device indexes; AttachNetworkInterface names the card with
        NetworkCardIndex (default 0), and a card the instance does not have is refused.
        """
        if count < 1:
            raise ValueError("an instance has at least one network card")
        with self._lock:
            self._network_cards[instance_id] = count

    def fail(
        self,
        operation: str,
        code: str = errors.REQUEST_LIMIT_EXCEEDED,
        message: str | None = None,
        *,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `operation` get this EC2 error instead.

        Faults queue: a second `fail` for the same operation applies after the first runs
        out. A call the rate limit throttles does not use one up.
        """
        _check_operation(operation)
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            fault = Fault(code, errors.ec2_error(code, message).message, times)
            self._faults.setdefault(operation, []).append(fault)

    def on(self, operation: str, callback: CallCallback, *, times: int | None = None) -> None:
        """Run `callback` after each successful call of `operation` (the next `times` ones).

        It runs in the thread serving the request, after the change is made and before the
        caller gets the response, without the simulator's lock, so it may call EC2 itself
        (e.g. stop the standby right after the detach). An exception it raises reaches the
        caller in-process, which models a caller that died after its call took effect;
        through the server it becomes an HTTP 500, which botocore retries.
        """
        _check_operation(operation)
        with self._lock:
            self._subscriptions.setdefault(operation, []).append(Subscription(callback, times))

    def rate_limit(
        self,
        *,
        rate_per_second: float,
        burst: int,
        operations: Iterable[str] | None = None,
    ) -> None:
        """Throttle with RequestLimitExceeded: one token bucket per API action, as EC2 does.

        `operations` limits which actions are throttled (default: all). Replaces any
        earlier limit; the buckets start full.
        """
        only = None if operations is None else frozenset(operations)
        for operation in only or ():
            _check_operation(operation)
        with self._lock:
            TokenBucket(rate_per_second=rate_per_second, burst=burst, now=0.0)  # validates
            self._rate = (rate_per_second, burst, only)
            self._buckets.clear()

    def clear_rate_limit(self) -> None:
        with self._lock:
            self._rate = None
            self._buckets.clear()

    def clear_faults(self) -> None:
        """Drop queued faults and callbacks."""
        with self._lock:
            self._faults.clear()
            self._subscriptions.clear()

    def settle(self) -> None:
        """Finish every attach, detach and stop in progress, except hung detaches, and show
        every route replaced and Elastic IP associated.

        For setting up a scene (e.g. the topology builder) without waiting out latencies.
        """
        with self._lock:
            for transition in list(self._interfaces.values()):
                if not transition.countdown.is_never:
                    self._complete_interface(transition)
            for stop in list(self._stops.values()):
                self._complete_stop(stop)
            self._addressing.settle()

    # -- observations ----------------------------------------------------------------

    @property
    def calls(self) -> Counter[str]:
        """Requests received per API action, including those throttled or failed."""
        with self._lock:
            return Counter(self._calls)

    @property
    def throttled(self) -> Counter[str]:
        """Requests the rate limit rejected, per API action."""
        with self._lock:
            return Counter(self._throttled)

    def reset_counts(self) -> None:
        with self._lock:
            self._calls.clear()
            self._throttled.clear()

    # -- request gate (called by the seams for every EC2 request) --------------------

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def _admit(
        self, operation: str, params: Mapping[str, Any], backend: Any
    ) -> EC2ClientError | None:
        """Count the call and decide whether it is served; the rejection if not."""
        now = self._clock()
        self._advance(now)
        self._calls[operation] += 1
        bucket = self._bucket(operation, now)
        if bucket is not None and not bucket.take(now):
            self._throttled[operation] += 1
            return errors.request_limit_exceeded()
        queue = self._faults.get(operation)
        if queue:
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                queue.pop(0)
            return errors.ec2_error(fault.code, fault.message)
        refused = self._refuse_request(operation, params, backend)
        if refused is not None:
            return refused
        self._observe_polls(operation, params)
        return None

    def _refuse_request(
        self, operation: str, params: Mapping[str, Any], backend: Any
    ) -> EC2ClientError | None:
        """EC2's rules on the request itself, before it looks at any resource."""
        if operation == "DescribeNetworkInterfaces":
            return self._refuse_interface_describe(params, backend)
        if operation in _INSTANCE_POLLS and self._disrupted_zones:
            return self._refuse_in_disrupted_zone(params, backend)
        return None

    def _refuse_in_disrupted_zone(
        self, params: Mapping[str, Any], backend: Any
    ) -> EC2ClientError | None:
        """A describe that names an instance in a disrupted zone, or no instance IDs."""
        named = _ids(params, "InstanceIds", "InstanceId")
        if named is None:
            return errors.zone_disrupted()
        for instance_id in named:
            try:
                zone = backend.get_instance(instance_id).availability_zone
            except InvalidInstanceIdError:
                continue  # unknown: moto answers NotFound for it
            if zone in self._disrupted_zones:
                return errors.zone_disrupted()
        return None

    def _refuse_interface_describe(
        self, params: Mapping[str, Any], backend: Any
    ) -> EC2ClientError | None:
        by_id = bool(params.get("NetworkInterfaceIds"))
        paginated = params.get("MaxResults") is not None or bool(params.get("NextToken"))
        if by_id and params.get("MaxResults") is not None:
            # Documented for every describe action (EC2 API reference, Pagination).
            return errors.ids_with_max_results()
        if by_id or paginated or self._max_unfiltered_interfaces is None:
            return None
        filters = {f.get("Name") for f in params.get("Filters") or []}
        if filters & INDEXED_INTERFACE_FILTERS:
            return None
        if len(backend.enis) > self._max_unfiltered_interfaces:
            return errors.unpaginated_interface_describe()
        return None

    def _callbacks_after(self, operation: str) -> list[CallCallback]:
        with self._lock:
            subscriptions = self._subscriptions.get(operation, [])
            due = [subscription.callback for subscription in subscriptions]
            for subscription in subscriptions:
                if subscription.remaining is not None:
                    subscription.remaining -= 1
            subscriptions[:] = [s for s in subscriptions if s.remaining != 0]
            return due

    def _notify(self, operation: str, params: Mapping[str, Any]) -> None:
        event = CallEvent(operation, MappingProxyType(dict(params)))
        for callback in self._callbacks_after(operation):
            callback(event)

    def _bucket(self, operation: str, now: float) -> TokenBucket | None:
        if self._rate is None:
            return None
        rate_per_second, burst, only = self._rate
        if only is not None and operation not in only:
            return None
        bucket = self._buckets.get(operation)
        if bucket is None:
            bucket = TokenBucket(rate_per_second=rate_per_second, burst=burst, now=now)
            self._buckets[operation] = bucket
        return bucket

    def _observe_polls(self, operation: str, params: Mapping[str, Any]) -> None:
        """A describe call shows in-flight transitions once more (for poll-based delays)."""
        self._addressing.observe(operation, params)
        if operation in _INTERFACE_POLLS:
            interface_ids = _ids(
                params, "NetworkInterfaceIds", "NetworkInterfaceId", "network-interface-id"
            )
            for interface_id, transition in self._interfaces.items():
                if interface_ids is None or interface_id in interface_ids:
                    transition.countdown.observe()
        elif operation in _INSTANCE_POLLS:
            instance_ids = _ids(params, "InstanceIds", "InstanceId", "instance-id")
            for transition in self._interfaces.values():
                if instance_ids is None or transition.instance.id in instance_ids:
                    transition.countdown.observe()
            for instance_id, stop in self._stops.items():
                if instance_ids is None or instance_id in instance_ids:
                    stop.countdown.observe()

    def _advance(self, now: float) -> None:
        """Complete every transition whose time (or number of polls) has come."""
        for transition in list(self._interfaces.values()):
            if transition.countdown.ready(now):
                self._complete_interface(transition)
        for stop in list(self._stops.values()):
            if stop.countdown.ready(now):
                self._complete_stop(stop)
        self._addressing.advance(now)

    # -- EC2 rules (called by the seams from moto's backend) -------------------------

    def _attach(
        self,
        backend: Any,
        moto_attach: Callable[..., Any],
        interface_id: str,
        instance_id: str,
        device_index: int | str,
        *,
        network_card_index: int | str = 0,
    ) -> Any:
        with self._lock:
            now = self._clock()
            self._advance(now)
            interface = backend.get_network_interface(interface_id)
            instance = backend.get_instance(instance_id)
            index = int(device_index)
            card = int(network_card_index)
            if interface.instance is not None or interface.id in self._interfaces:
                raise errors.interface_in_use(interface.id)
            if instance.state in _GONE_STATES:
                raise errors.incorrect_instance_state(instance.id)
            if interface.availability_zone != instance.availability_zone:
                raise errors.availability_zone_mismatch(
                    interface.id,
                    interface.availability_zone,
                    instance.id,
                    instance.availability_zone,
                )
            cards = self._network_cards.get(instance.id, 1)
            if not 0 <= card < cards:
                raise errors.no_such_network_card(instance.id, card, cards)
            # A detaching ENI still holds its index, so it is still in instance.nics.
            slot = _slot(card, index)
            if slot in instance.nics or (instance.id, card, index) in self._blocked_indexes:
                raise errors.device_index_in_use(instance.id, index, card)
            # Per attachment in EC2, and false for every attachment AttachNetworkInterface
            # makes (moto keeps the flag on the interface from its creation).
            interface.delete_on_termination = False
            occupant = instance.nics.get(index)
            attachment = moto_attach(backend, interface_id, instance_id, index)
            if card != 0:
                # moto keys an instance's interfaces by device index alone: give this one
                # its card's slot, and card 0's interface at that index its own back.
                del instance.nics[index]
                if occupant is not None:
                    instance.nics[index] = occupant
                instance.nics[slot] = interface
                attachment.network_card_index = card
            countdown = self._attach_delay.start(now)
            if not countdown.ready(now):
                interface.status = "attaching"
                self._interfaces[interface.id] = InterfaceTransition(
                    "attaching", interface, instance, countdown
                )
            return attachment

    def _detach(self, backend: Any, attachment_id: str, force: bool) -> None:
        with self._lock:
            now = self._clock()
            self._advance(now)
            interface = next(
                (eni for eni in backend.enis.values() if eni.attachment_id == attachment_id),
                None,
            )
            if interface is None:
                raise InvalidNetworkAttachmentIdError(attachment_id)
            if self._placement(interface) == (0, 0):  # the primary interface
                raise LastEniDetachError()
            transition = self._interfaces.get(interface.id)
            if transition is not None and transition.phase == "detaching":
                # A repeated detach changes nothing, except that the first Force starts
                # the force countdown; later ones must not restart it.
                if force and not transition.forced:
                    transition.forced = True
                    if transition.hang is not HangMode.FOREVER:
                        transition.countdown = self._force_detach_delay.start(now)
                        self._complete_if_ready(transition, now)
                return
            hang = self._hangs.pop(interface.id, None)
            if hang is HangMode.FOREVER or (hang is HangMode.UNTIL_FORCED and not force):
                countdown = Countdown.never()
            else:
                delay = self._force_detach_delay if force else self._detach_delay
                countdown = delay.start(now)
            transition = InterfaceTransition(
                "detaching", interface, interface.instance, countdown, hang=hang, forced=force
            )
            interface.status = "detaching"
            self._interfaces[interface.id] = transition
            self._complete_if_ready(transition, now)

    def _replace_route(
        self, backend: Any, params: Mapping[str, Any], apply: Callable[[], Any]
    ) -> Any:
        with self._lock:
            now = self._clock()
            self._advance(now)
            return self._addressing.replace_route(backend, params, apply=apply, now=now)

    def _route_state(self, route: Any, moto_state: str) -> str:
        with self._lock:
            return self._addressing.route_state(route, moto_state)

    def _associate_address(self, backend: Any, params: Mapping[str, Any]) -> Any | None:
        with self._lock:
            now = self._clock()
            self._advance(now)
            return self._addressing.associate_address(backend, params, now=now)

    def _shown_addresses(self, addresses: Iterable[Any]) -> list[Any]:
        with self._lock:
            return self._addressing.shown_addresses(addresses)

    def _assign_private_ips(
        self, backend: Any, interface_id: str, private_ips: Iterable[str], *, allow: bool
    ) -> None:
        with self._lock:
            self._addressing.assign_private_ips(backend, interface_id, private_ips, allow=allow)

    def _attachment_status(self, interface_id: str) -> str:
        with self._lock:
            transition = self._interfaces.get(interface_id)
            return "attached" if transition is None else transition.phase

    def _placement(self, interface: Any) -> tuple[int, int] | None:
        """(network card, device index) of an attached interface; None if detached."""
        instance = interface.instance
        if instance is None:
            return None
        for slot, attached in instance.nics.items():
            if attached is interface:
                return slot if isinstance(slot, tuple) else (0, int(slot))
        return None

    def _network_card_index(self, interface: Any) -> int:
        with self._lock:
            placement = self._placement(interface)
            return 0 if placement is None else placement[0]

    def _set_delete_on_termination(
        self, backend: Any, interface_id: str, attachment_id: str | None, value: object
    ) -> None:
        """ModifyNetworkInterfaceAttribute's Attachment.DeleteOnTermination (moto drops it)."""
        with self._lock:
            interface = backend.get_network_interface(interface_id)
            if attachment_id is None or interface.attachment_id != attachment_id:
                raise InvalidNetworkAttachmentIdError(attachment_id or "")
            if value is not None:
                interface.delete_on_termination = value in (True, "true", "True")

    def _release(self, instance: Any, interface: Any) -> None:
        """moto's detach, from the slot the interface really holds."""
        placement = self._placement(interface)
        if placement is not None and placement[0] != 0:
            # moto frees nics[device_index]: point it at this card's slot, not card 0's.
            interface.device_index = _slot(*placement)
        instance.detach_eni(interface)

    def _check_status_lookup(self, named: Iterable[Any]) -> None:
        """DescribeInstanceStatus by ID: a terminated instance may be unknown to it."""
        if not self._terminated_status_not_found:
            return
        terminated = [instance.id for instance in named if instance.state == "terminated"]
        if terminated:
            raise InvalidInstanceIdError(terminated)

    def _check_status(self, instance: Any, kind: str) -> dict[str, Any] | None:
        """The status-check payload for a running instance; None leaves moto's answer."""
        if instance.state_code != _RUNNING_CODE:
            return None
        with self._lock:
            check = self._checks.get(instance.id, {}).get(kind)
        if check is None:
            return None
        detail: dict[str, Any] = {"Name": "reachability", "Status": _REACHABILITY[check.status]}
        if check.status == "impaired":
            detail["ImpairedSince"] = check.since
        return {"Status": check.status, "Details": [detail]}

    def _attached_ebs_status(self, instance: Any) -> dict[str, Any]:
        """AttachedEbsStatus, which moto does not report: as set, else as EC2 shows it."""
        payload = self._check_status(instance, "attached_ebs")
        if payload is not None:
            return payload
        if instance.state_code != _RUNNING_CODE:
            return {"Status": "not-applicable"}
        return {"Status": "ok", "Details": [{"Name": "reachability", "Status": "passed"}]}

    def _stopped(self, instances: Iterable[Any]) -> None:
        """moto has just stopped these instances; show them "stopping" for a while."""
        with self._lock:
            now = self._clock()
            delay = self._stop_delay if self._skipping_os_shutdown else self._os_shutdown_delay
            for instance in instances:
                countdown = delay.start(now)
                if countdown.ready(now):
                    self._after_stop(instance)
                    continue
                instance._state.name, instance._state.code = _STOPPING
                self._stops[instance.id] = StopTransition(instance, countdown)

    def _stop_requested(
        self, instance_ids: Iterable[str], *, force: bool, skip_os_shutdown: bool = False
    ) -> None:
        with self._lock:
            ids = [str(i) for i in instance_ids]
            self.stop_requests += [(i, force) for i in ids]
            if skip_os_shutdown:
                self.os_shutdown_skipped += ids

    def _started(self, instances: Iterable[Any]) -> None:
        """EC2 gives a started instance a new LaunchTime (moto keeps its creation time)."""
        now = utcnow()  # as moto stamps a new instance
        for instance in instances:
            # EC2 shows whole seconds, and a real stop and start takes many: never the same.
            instance.launch_time = max(now, instance.launch_time + timedelta(seconds=1))

    def _interface_groups_changed(
        self, backend: Any, interface_id: str, group_ids: Iterable[str]
    ) -> None:
        """ModifyNetworkInterfaceAttribute Groups: moto applies it; remember it for tests."""
        with self._lock:
            interface = backend.get_network_interface(interface_id)
            instance_id = interface.instance.id if interface.instance is not None else ""
            self.group_changes.append((instance_id, interface_id, tuple(group_ids)))

    def _replace_instance_groups(self, backend: Any, instance_id: str, group_ids: list[str]) -> Any:
        """ModifyInstanceAttribute Groups: EC2 replaces the primary interface's groups, and
        only on an instance with one interface (moto adds them to every interface)."""
        with self._lock:
            instance = backend.get_instance(instance_id)
            if len(instance.nics) > 1:
                raise errors.multiple_interfaces(instance_id)
            groups = [backend.get_security_group_from_id(g) for g in group_ids]
            primary = instance.nics[0]
            primary._group_set = groups
            # moto unions the instance's groups into every interface's: keep them out.
            instance.security_groups = []
            self.group_changes.append((instance_id, primary.id, tuple(group_ids)))
            return instance

    def _check_startable(self, instances: Iterable[Any]) -> None:
        with self._lock:
            self._advance(self._clock())
            for instance in instances:
                if instance.id in self._stops:
                    raise errors.incorrect_instance_state(instance.id)

    def _terminating(self, instance: Any) -> None:
        """EC2 detaches secondary ENIs that are not delete-on-termination; moto keeps them."""
        with self._lock:
            self._stops.pop(instance.id, None)
            self._clear_blocked_indexes(instance.id)
            for transition in list(self._interfaces.values()):
                if transition.instance is instance:
                    self._complete_interface(transition)
            for slot, interface in list(instance.nics.items()):
                if slot != 0 and not interface.delete_on_termination:
                    self._release(instance, interface)

    # -- completions -----------------------------------------------------------------

    def _complete_if_ready(self, transition: InterfaceTransition, now: float) -> None:
        if transition.countdown.ready(now):
            self._complete_interface(transition)

    def _complete_interface(self, transition: InterfaceTransition) -> None:
        interface = transition.interface
        self._interfaces.pop(interface.id, None)
        if transition.phase == "attaching":
            interface.status = "in-use"
            return
        instance = interface.instance
        placement = self._placement(interface)
        if instance is not None:
            self._release(instance, interface)  # moto: index freed, ENI "available"
            if transition.forced and self._force_blocks_index and placement is not None:
                self._blocked_indexes.add((instance.id, *placement))

    def _complete_stop(self, stop: StopTransition) -> None:
        self._stops.pop(stop.instance.id, None)
        stop.instance._state.name, stop.instance._state.code = _STOPPED
        self._after_stop(stop.instance)

    def _after_stop(self, instance: Any) -> None:
        # Once stopped, the hypervisor lets go of interfaces that were stuck detaching
        # (unless told they never finish), and indexes a forced detach blocked free up.
        self._clear_blocked_indexes(instance.id)
        for transition in list(self._interfaces.values()):
            if transition.instance is instance and transition.hang is not HangMode.FOREVER:
                self._complete_interface(transition)

    def _clear_blocked_indexes(self, instance_id: str) -> None:
        self._blocked_indexes = {
            blocked for blocked in self._blocked_indexes if blocked[0] != instance_id
        }


def _ids(
    params: Mapping[str, Any], list_key: str, single_key: str, filter_name: str = ""
) -> set[str] | None:
    """The IDs a describe call names (by ID, or by an ID filter), or None when it names none
    (it shows everything)."""
    listed = list(params.get(list_key) or [])
    for named in params.get("Filters") or []:
        if filter_name and named.get("Name") == filter_name:
            listed += named.get("Values") or []
    single = params.get(single_key)
    ids = {str(value) for value in listed}
    if single:
        ids.add(str(single))
    return ids or None


_operations_cache: frozenset[str] | None = None


def _check_operation(operation: str) -> None:
    """Reject a misspelt action name, which would otherwise silently never match."""
    global _operations_cache  # noqa: PLW0603 - loading the EC2 model once per process
    if _operations_cache is None:
        model = botocore.session.get_session().get_service_model("ec2")
        _operations_cache = frozenset(model.operation_names)
    if operation not in _operations_cache:
        raise ValueError(f"{operation!r} is not an EC2 API action (e.g. 'AttachNetworkInterface')")


def _delay(seconds: float, polls: int | None) -> Delay:
    """A delay in seconds, or in polls when they are given (which replace the seconds)."""
    return Delay(seconds=0.0, polls=polls) if polls is not None else Delay(seconds=seconds)


def _slot(network_card_index: int, device_index: int) -> int | tuple[int, int]:
    """The key of an attachment in moto's Instance.nics: the device index on card 0 (as
    moto keys it), (card, device index) on the others."""
    return device_index if network_card_index == 0 else (network_card_index, device_index)
