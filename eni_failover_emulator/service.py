"""A service on the loopback that stands for what an instance serves, and can be broken.

The prober probes a pair's private addresses; in the emulator each address is mapped to one
of these listeners (a port on 127.0.0.1), so the real probe code meets real sockets: a
healthy answer, a refused connection, a hang, a slow answer or an HTTP error.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


class Behaviour(StrEnum):
    HEALTHY = "healthy"  # answers at once (HTTP 200 for an HTTP request)
    DOWN = "down"  # the port is closed: connection refused
    HANGING = "hanging"  # accepts and never answers
    SLOW = "slow"  # answers after `slow_seconds`
    ERROR = "error"  # answers HTTP 503
    LOSSY = "lossy"  # healthy behind a lossy network: each connection drawn from `Loss`


@dataclass(frozen=True)
class Loss:
    """A network that loses some probes and delays others, drawn per connection.

    A lost probe is accepted and never answered (to the prober, a SYN dropped on the way
    and an answer that never comes back look the same: nothing before its timeout), as
    HANGING; a slow one is answered after `slow_seconds`, which a soak sets just inside the
    prober's timeout; the rest are answered at once. The draws come from a generator seeded
    with `seed`, in the order the connections arrive, so a run is reproducible.
    """

    lost: float
    slow: float
    slow_seconds: float
    seed: str = "0"

    def __post_init__(self) -> None:
        if min(self.lost, self.slow) < 0 or self.lost + self.slow > 1:
            raise ValueError(f"shares must be 0 to 1 and add up to at most 1: {self}")


class ServiceListener:
    """One TCP port on 127.0.0.1 whose behaviour a test or the demo changes at will."""

    def __init__(self, *, slow_seconds: float = 2.0) -> None:
        self.slow_seconds = slow_seconds
        self.behaviour = Behaviour.HEALTHY
        # Off while its instance is not running: nothing listens, whatever the behaviour.
        self.powered = True
        self.loss: Loss | None = None
        # What each connection got while LOSSY: HANGING (lost), SLOW or HEALTHY.
        self.served: Counter[Behaviour] = Counter()
        self._draws = random.Random()  # noqa: S311 - reproducible loss, not security
        self._server: socket.socket | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.port = 0
        self._open()

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def set(self, behaviour: Behaviour) -> None:
        """Change what the service does from the next connection on."""
        if behaviour is Behaviour.LOSSY:
            raise ValueError("a lossy network needs its shares: use set_lossy")
        with self._lock:
            self.behaviour = behaviour
            if behaviour is Behaviour.DOWN:
                self._close()
            elif self._server is None and self.powered:
                self._open()

    def set_lossy(self, loss: Loss) -> None:
        """Answer from behind a lossy network from the next connection on, counting afresh."""
        with self._lock:
            self.loss = loss
            self.served = Counter()
            self._draws = random.Random(loss.seed)  # noqa: S311 - reproducible, not security
            self.behaviour = Behaviour.LOSSY
            if self._server is None and self.powered:
                self._open()

    def power(self, on: bool) -> None:
        """Stop the service with its instance (nothing listens) and start it with it again.

        The behaviour set on it stays: a fault a test or the demo made (a hung or erroring
        service) is the service's own, like a broken configuration, and outlives a restart.
        """
        with self._lock:
            if on == self.powered:
                return
            self.powered = on
            if not on:
                self._close()
            elif self.behaviour is not Behaviour.DOWN and self._server is None:
                self._open()

    def close(self) -> None:
        self._stopping.set()
        with self._lock:
            self._close()

    def _draw(self) -> tuple[Behaviour, float]:
        """This connection's fate: the behaviour and how long a slow answer waits."""
        with self._lock:
            behaviour, loss = self.behaviour, self.loss
            if behaviour is not Behaviour.LOSSY or loss is None:
                return behaviour, self.slow_seconds
            draw = self._draws.random()
            if draw < loss.lost:
                fate = Behaviour.HANGING
            elif draw < loss.lost + loss.slow:
                fate = Behaviour.SLOW
            else:
                fate = Behaviour.HEALTHY
            self.served[fate] += 1
            return fate, loss.slow_seconds

    def _open(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # The same port again after DOWN: the mapping from private IP to port must hold.
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        server.settimeout(0.1)
        self.port = server.getsockname()[1]
        self._server = server
        self._thread = threading.Thread(
            target=self._serve, args=(server,), name=f"service-{self.port}", daemon=True
        )
        self._thread.start()

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            # shutdown, not only close: it stops the listening at once, even while the
            # accepting thread is blocked on the socket.
            with suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()

    def _serve(self, server: socket.socket) -> None:
        while not self._stopping.is_set() and self._server is server:
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            behaviour, slow_seconds = self._draw()
            threading.Thread(
                target=self._answer, args=(connection, behaviour, slow_seconds), daemon=True
            ).start()

    def _answer(self, connection: socket.socket, behaviour: Behaviour, slow_seconds: float) -> None:
        with connection:
            connection.settimeout(5.0)
            if behaviour is Behaviour.HANGING:
                self._stopping.wait(30.0)
                return
            if behaviour is Behaviour.SLOW:
                time.sleep(slow_seconds)
            try:
                request = connection.recv(4096)
            except OSError:
                return
            if not request:
                return  # a TCP probe: connect and close
            status = "503 Service Unavailable" if behaviour is Behaviour.ERROR else "200 OK"
            body = b"ok\n" if behaviour is not Behaviour.ERROR else b"unavailable\n"
            head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            try:
                connection.sendall(head.encode() + body)
            except OSError:
                return


@contextmanager
def service_listener(*, slow_seconds: float = 2.0) -> Iterator[ServiceListener]:
    listener = ServiceListener(slow_seconds=slow_seconds)
    try:
        yield listener
    finally:
        listener.close()


class PairServices:
    """The service of each instance of a pair, reachable as the prober would reach it.

    `resolve` is what the prober gets in the emulator: an instance's own private IP goes to
    that instance's listener, and a pair's address goes to whichever instance holds it now,
    as the VPC would route it: the floating interface's private IP to the instance the
    interface is attached to; an overlay IP (the host of a /32 route in a listed route
    table) to the instance whose interface the route points at; an Elastic IP to the
    instance it is associated with; a secondary IP to the instance whose interface alone
    holds it. An address of no instance of the pair reaches nothing (a closed port).

    A listener is its instance's service: it stops when the instance is not running (a
    stopped primary answers no probe, even through the floating interface it still holds)
    and starts again when the instance runs again, as a service started at boot does; each
    resolve looks at both instances' states first. The failures EC2 does not see, which the
    prober is for, a test or the demo makes by setting a listener's behaviour.
    """

    def __init__(
        self,
        ec2: EC2Client,
        *,
        primary_instance_id: str,
        standby_instance_id: str,
        interface_id: str | None = None,
        route_table_ids: Sequence[str] = (),
        allocation_ids: Sequence[str] = (),
        private_ips: Sequence[str] = (),
        slow_seconds: float = 2.0,
    ) -> None:
        self._ec2 = ec2
        self._interface_id = interface_id
        self._route_table_ids = list(route_table_ids)
        self._allocation_ids = list(allocation_ids)
        self._private_ips = set(private_ips)
        self.primary = ServiceListener(slow_seconds=slow_seconds)
        self.standby = ServiceListener(slow_seconds=slow_seconds)
        self._by_instance = {primary_instance_id: self.primary, standby_instance_id: self.standby}
        reservations = ec2.describe_instances(InstanceIds=list(self._by_instance))["Reservations"]
        self._own = {
            str(i["PrivateIpAddress"]): self._by_instance[i["InstanceId"]]
            for r in reservations
            for i in r["Instances"]
            if "PrivateIpAddress" in i
        }

    def resolve(self, address: str, port: int) -> tuple[str, int]:
        self._follow_instances()
        own = self._own.get(address)
        if own is not None:
            return own.address
        try:
            holder = self._holder(address)
        except ClientError:
            holder = None  # a resource is gone: nothing answers
        listener = self._by_instance.get(str(holder))
        if listener is None:
            # Nothing answers an address no instance of the pair holds: a closed port.
            return "127.0.0.1", _closed_port()
        return listener.address

    def _follow_instances(self) -> None:
        """Each service runs while its instance does (EC2's state "running")."""
        try:
            reservations = self._ec2.describe_instances(InstanceIds=list(self._by_instance))
        except ClientError:
            return  # an instance is gone (terminated long ago): keep what was known
        for reservation in reservations["Reservations"]:
            for instance in reservation["Instances"]:
                running = instance.get("State", {}).get("Name") == "running"
                self._by_instance[instance["InstanceId"]].power(running)

    def _holder(self, address: str) -> str | None:
        """The instance the VPC delivers `address` to now, if any."""
        if self._interface_id is not None:
            [interface] = self._ec2.describe_network_interfaces(
                NetworkInterfaceIds=[self._interface_id]
            )["NetworkInterfaces"]
            if address in {p["PrivateIpAddress"] for p in interface.get("PrivateIpAddresses", [])}:
                return (interface.get("Attachment") or {}).get("InstanceId")
        if self._route_table_ids:
            routed = self._routed_to(address)
            if routed is not None:
                return self._instance_of(routed)
        if self._allocation_ids:
            for found in self._ec2.describe_addresses(AllocationIds=self._allocation_ids)[
                "Addresses"
            ]:
                if found.get("PublicIp") == address:
                    return found.get("InstanceId") or self._instance_of(
                        found.get("NetworkInterfaceId")
                    )
        if address in self._private_ips:
            # The pair's instances' interfaces (an indexed filter: served in a large account).
            interfaces = self._ec2.describe_network_interfaces(
                Filters=[{"Name": "attachment.instance-id", "Values": list(self._by_instance)}]
            )["NetworkInterfaces"]
            holders = [
                n
                for n in interfaces
                if address in {p["PrivateIpAddress"] for p in n.get("PrivateIpAddresses", [])}
            ]
            # Shown on two interfaces while EC2 settles a reassignment: neither for sure.
            if len(holders) == 1:
                return (holders[0].get("Attachment") or {}).get("InstanceId")
        return None

    def _routed_to(self, address: str) -> str | None:
        """The interface a listed table's route for this host (a /32) points at."""
        tables = self._ec2.describe_route_tables(RouteTableIds=self._route_table_ids)
        for table in tables["RouteTables"]:
            for route in table.get("Routes", []):
                if route.get("DestinationCidrBlock") == f"{address}/32":
                    interface = route.get("NetworkInterfaceId")
                    return str(interface) if interface else None
        return None

    def _instance_of(self, interface_id: str | None) -> str | None:
        if not interface_id:
            return None
        [interface] = self._ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])[
            "NetworkInterfaces"
        ]
        return (interface.get("Attachment") or {}).get("InstanceId")

    def close(self) -> None:
        self.primary.close()
        self.standby.close()


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
