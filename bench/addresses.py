"""Address kinds: from the trigger to a route, an Elastic IP or a secondary IP usable on the
standby, against each kind's floor; and a wave of pairs across zones failing at once.

Each run deploys the real function (LocalDeployment: idempotency, the lease, the decision,
the move, the verification, the notification) for a fresh pair of one kind and invokes it
with the SNS event of the pair's status-check alarm, the primary's instance check impaired.
Routes and Elastic IPs cross zones, so their pairs have the primary in us-east-1a and the
standby in us-east-1b; a secondary IP moves only within its subnet, so its pair shares one.

"Usable" is the physical moment, read off the simulator as section 1 reads the attach: when
EC2 accepted the move's call (ReplaceRoute, AssociateAddress, AssignPrivateIpAddresses)
plus the delay the simulator gives its describe (DescribeRouteTables, DescribeAddresses)
before it shows the new target. The floor is what no implementation could beat: one call
(a round trip at the median measured in the same run) plus that describe delay. The
function's own moments are reported too: the describe that verified the move, and the
handler's return (outcome published, lease released).

The wave: `scale_pairs` pairs (50 in `make bench`) of one deployment, each a /32 route and
an Elastic IP with its standby in the other zone, fail at once; one invocation per alarm
runs concurrently, each in its own sandbox (a thread with its own clients), under EC2's
request buckets (bench.scale's, plus the address calls'). Reported: the last pair's
addresses usable on its standby, the EC2 calls made, and how many EC2 throttled.

The simulator's describe delays are its own defaults, whatever the installed ec2sim models
(`delays()` reads them off FaithfulEC2): a version without them moves at moto's speed, and
the report says which it ran with.
"""

from __future__ import annotations

import inspect
import ipaddress
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bench.lab import CallCounter, Lab, alarm_event, clear_function_metrics, median, require
from bench.scale import EC2_REQUEST_BUCKETS, LAMBDA_RETRIES, TieredRateEC2
from bench.settings import BenchSettings
from eni_failover.config import Pair
from eni_failover.errors import FailoverError
from eni_failover.outcome import JSON_MARKER
from eni_failover_ec2sim import CallEvent, FaithfulEC2
from eni_failover_ec2sim.topology import AddressPairTopology, build_address_pair
from eni_failover_emulator.deployment import FakeLambdaContext

PRIMARY_ZONE = "us-east-1a"
STANDBY_ZONE = "us-east-1b"
OVERLAY_IP = "10.9.0.10/32"
# Where a secondary IP is looked for in the pair's subnet: clear of the addresses EC2
# reserves (the first four), and of those moto picks at random (free_address).
SECONDARY_IP_FROM = 100
LAMBDA_TIMEOUT_SECONDS = 60.0
# The move's one call, by kind.
CALLS = {
    "route": "ReplaceRoute",
    "elastic-ip": "AssociateAddress",
    "private-ip": "AssignPrivateIpAddresses",
}
# The address calls' request buckets (rate per second, size), beside bench.scale's: the
# moves are mutating actions; the describes name IDs and no filter, so they are counted
# against the smaller unfiltered bucket to be safe, as DescribeInstanceStatus is there.
ADDRESS_REQUEST_BUCKETS: Mapping[str, tuple[float, int]] = {
    "ReplaceRoute": (5.0, 50),
    "AssociateAddress": (5.0, 50),
    "AssignPrivateIpAddresses": (5.0, 50),
    "DescribeRouteTables": (10.0, 50),
    "DescribeAddresses": (10.0, 50),
}


@dataclass(frozen=True)
class Kind:
    key: str  # as the outcome names it (eni_failover.kinds)
    title: str  # the report line starts "<title> moved:"
    crosses_zones: bool


KINDS = (
    Kind("route", "Route", crosses_zones=True),
    Kind("elastic-ip", "Elastic IP", crosses_zones=True),
    Kind("private-ip", "Secondary IP", crosses_zones=False),
)


@dataclass(frozen=True)
class Delays:
    """How long the simulator's describes show an address's old place after its move."""

    route: float
    address: float
    modelled: bool  # False: this ec2sim models none (moto's describes show a change at once)

    def of(self, kind: str) -> float:
        # AssignPrivateIpAddresses' describe has no modelled delay in any version.
        return {"route": self.route, "elastic-ip": self.address}.get(kind, 0.0)

    def simulator_arguments(self) -> dict[str, Any]:
        if not self.modelled:
            return {}
        return {"route_seconds": self.route, "address_seconds": self.address}

    def describe(self) -> str:
        if not self.modelled:
            return (
                "none: the installed ec2sim models no describe delay for routes or Elastic IPs, "
                "so DescribeRouteTables and DescribeAddresses show a move at once (moto)"
            )
        return (
            f"DescribeRouteTables shows a replaced route's old target for {self.route:g} s, "
            f"DescribeAddresses an Elastic IP's old association for {self.address:g} s "
            "(ec2sim's defaults)"
        )


def delays() -> Delays:
    """The describe delays FaithfulEC2 applies by default, if it models any."""
    parameters = inspect.signature(FaithfulEC2.__init__).parameters
    route, address = parameters.get("route_seconds"), parameters.get("address_seconds")
    if route is None or address is None:
        return Delays(0.0, 0.0, modelled=False)
    return Delays(float(route.default), float(address.default), modelled=True)


@dataclass(frozen=True)
class AddressRun:
    """One run; every time is seconds after the handler received the trigger."""

    floor: float
    accepted: float  # EC2 accepted the move's call
    usable: float  # accepted + the describe delay: the address serves on the standby
    verified: float  # the function's describe showed it there
    returned: float

    @property
    def overshoot(self) -> float:
        return self.usable - self.floor


@dataclass(frozen=True)
class KindResult:
    kind: Kind
    runs: tuple[AddressRun, ...]
    # Why the kind was not measured (the simulator cannot show its move), or None.
    skipped: str | None = None

    def values(self, pick: Callable[[AddressRun], float]) -> list[float]:
        return [pick(run) for run in self.runs]


@dataclass(frozen=True)
class AddressWave:
    pairs: int
    usable: tuple[float, ...]  # per pair: its last address usable on its standby
    returned: tuple[float, ...]
    calls: Counter[str]  # what the function asked of EC2 (botocore's attempts apart)
    attempts: Counter[str]
    ec2_requests: Counter[str]  # what reached EC2, throttled or not
    throttled: Counter[str]
    lambda_retries: int
    # What operators were told of each invocation that gave up before its retry moved it.
    failures: tuple[str, ...] = ()

    @property
    def last(self) -> float:
        return max(self.usable)


@dataclass(frozen=True)
class AddressResult:
    delays: Delays
    round_trip: float
    kinds: tuple[KindResult, ...]
    alone: AddressWave
    wave: AddressWave
    started_at: datetime
    seconds: float
    load: tuple[float, float]

    def kind(self, key: str) -> KindResult:
        return next(k for k in self.kinds if k.kind.key == key)


def run_addresses(
    lab: Lab, settings: BenchSettings, progress: Callable[[str], None]
) -> AddressResult:
    started_at, started, load_before = datetime.now(UTC), time.monotonic(), os.getloadavg()[0]
    found = delays()
    round_trip = _round_trip(lab, settings)
    progress(
        f"addresses: describe delays {found.describe()}; round trip {round_trip * 1000:.1f} ms"
    )
    kinds = []
    for kind in KINDS:
        skipped = cannot_show(lab, kind, found)
        runs: list[AddressRun] = []
        if skipped is None:
            for number in range(settings.runs):
                run = _one_run(
                    lab, settings, kind, number=number, found=found, round_trip=round_trip
                )
                progress(
                    f"{kind.title} run {number + 1}/{settings.runs}: usable {run.usable:.2f} s "
                    f"after the trigger (floor {run.floor:.2f} s)"
                )
                runs.append(run)
        else:
            progress(f"{kind.title}: not measured: {skipped}")
        kinds.append(KindResult(kind, tuple(runs), skipped))
    alone = _wave(lab, settings, 1, found)
    wave = _wave(lab, settings, settings.scale_pairs, found)
    progress(
        f"address wave: {wave.pairs} pairs across zones, the last usable on its standby "
        f"{wave.last:.2f} s after the triggers (one alone {alone.last:.2f} s); "
        f"{sum(wave.throttled.values())} requests throttled"
    )
    return AddressResult(
        delays=found,
        round_trip=round_trip,
        kinds=tuple(kinds),
        alone=alone,
        wave=wave,
        started_at=started_at,
        seconds=time.monotonic() - started,
        load=(load_before, os.getloadavg()[0]),
    )


def _round_trip(lab: Lab, settings: BenchSettings) -> float:
    """The median DescribeNetworkInterfaces round trip, as section 1 measures it."""
    lab.fresh_account()
    topology, _ = lab.new_pair("address-rtt")
    with FaithfulEC2():
        lab.round_trips(topology.interface_id, 5)  # connection set up, caches warm
        return median(lab.round_trips(topology.interface_id, settings.rtt_samples))


def cannot_show(lab: Lab, kind: Kind, found: Delays) -> str | None:
    """Why the simulator cannot show this kind's move done, or None when it can.

    A secondary IP's move is done when only the standby's interface shows it; moto leaves a
    reassigned IP on the old interface too, so on a simulator that does not take it off,
    the move never verifies (the function waits out its deadline and says so)."""
    if kind.key != "private-ip":
        return None
    lab.fresh_account()
    ec2 = lab.harness.ec2
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    with FaithfulEC2(**found.simulator_arguments()):
        old, new = (
            ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
            for _ in range(2)
        )
        ip = free_address(lab, subnet)  # named: moto may pick a reserved address (see build)
        ec2.assign_private_ip_addresses(NetworkInterfaceId=old, PrivateIpAddresses=[ip])
        ec2.assign_private_ip_addresses(
            NetworkInterfaceId=new, PrivateIpAddresses=[ip], AllowReassignment=True
        )
        if ip in _secondary_ips(lab, old):
            return (
                "the installed ec2sim leaves a reassigned secondary IP on its old interface "
                "too (moto's behaviour), so the move could never be verified; it is measured "
                "once ec2sim takes the address off the old interface, as EC2 does"
            )
    return None


def free_address(lab: Lab, subnet_id: str) -> str:
    """An address of the subnet that no interface holds, from SECONDARY_IP_FROM up.

    A fixed one is not enough: moto gives each interface a random address of the subnet,
    and one run in a few hundred drew the fixed one as an instance's primary IP, which EC2
    (and ec2sim) refuse to reassign."""
    ec2 = lab.harness.ec2
    [subnet] = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    held = {
        address["PrivateIpAddress"]
        for page in ec2.get_paginator("describe_network_interfaces").paginate(
            Filters=[{"Name": "subnet-id", "Values": [subnet_id]}]
        )
        for interface in page["NetworkInterfaces"]
        for address in interface.get("PrivateIpAddresses", [])
    }
    hosts = list(ipaddress.ip_network(subnet["CidrBlock"]).hosts())
    return next(str(a) for a in hosts[SECONDARY_IP_FROM - 1 :] if str(a) not in held)


def _secondary_ips(lab: Lab, interface_id: str) -> list[str]:
    [raw] = lab.harness.ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])[
        "NetworkInterfaces"
    ]
    return [p["PrivateIpAddress"] for p in raw["PrivateIpAddresses"] if not p.get("Primary")]


def build(lab: Lab, kind: str | None, name: str) -> tuple[AddressPairTopology, Pair]:
    """A pair of one kind (None: a route and an Elastic IP, across zones)."""
    shapes: dict[str | None, dict[str, Any]] = {
        "route": {"route_tables": 1, "elastic_ips": 0},
        "elastic-ip": {"route_tables": 0, "route_cidrs": (), "elastic_ips": 1},
        "private-ip": {
            "route_tables": 0,
            "route_cidrs": (),
            "elastic_ips": 0,
            "standby_az": PRIMARY_ZONE,
        },
        None: {"route_tables": 1, "elastic_ips": 1},
    }
    shape = shapes[kind]
    topology = build_address_pair(
        lab.harness.ec2,
        name=name,
        az=PRIMARY_ZONE,
        **{"standby_az": STANDBY_ZONE, "route_cidrs": (OVERLAY_IP,), **shape},
    )
    if kind == "private-ip":
        # Named, not counted: moto may pick one of the subnet's reserved addresses (its
        # first four), which EC2 never assigns and a strict simulator refuses to move.
        ip = free_address(lab, topology.subnet_id)
        lab.harness.ec2.assign_private_ip_addresses(
            NetworkInterfaceId=topology.primary_interface_id, PrivateIpAddresses=[ip]
        )
        topology = replace(topology, private_ips=(ip,))
    pair = Pair(
        name=name,
        primary_instance_id=topology.primary_instance_id,
        standby_instance_id=topology.standby_instance_id,
        route_table_ids=topology.route_table_ids,
        route_cidrs=topology.route_cidrs if topology.route_table_ids else (),
        eip_allocation_ids=topology.allocation_ids,
        private_ips=topology.private_ips,
        alarm_name=f"{name}-status",
    )
    return topology, pair


class Accepted:
    """When EC2 accepted each address call, by the address it moved (the simulator calls
    back after a call succeeded, before the caller has its answer)."""

    def __init__(self, sim: FaithfulEC2) -> None:
        self.at: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        for operation in CALLS.values():
            sim.on(operation, self._seen)

    def _seen(self, event: CallEvent) -> None:
        key = _address_of(event)
        with self._lock:
            self.at.setdefault(key, []).append(time.monotonic())


def _address_of(event: CallEvent) -> str:
    params = event.params
    if event.operation == "ReplaceRoute":
        return f"{params['RouteTableId']} {params.get('DestinationCidrBlock')}"
    if event.operation == "AssociateAddress":
        return str(params["AllocationId"])
    return _first(params.get("PrivateIpAddress") or params.get("PrivateIpAddresses"))


def _first(value: Any) -> str:
    """The first private IP of the call, however moto parsed the list."""
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return _first(value[0]) if value else ""
    return str(value or "")


def _keys(topology: AddressPairTopology, pair: Pair) -> dict[str, str]:
    """Each address of the pair, as _address_of names it -> its kind."""
    keys = {f"{table} {cidr}": "route" for table, cidr in pair.routes}
    keys |= dict.fromkeys(topology.allocation_ids, "elastic-ip")
    keys |= dict.fromkeys(topology.private_ips, "private-ip")
    return keys


def _one_run(
    lab: Lab,
    settings: BenchSettings,
    kind: Kind,
    *,
    number: int,
    found: Delays,
    round_trip: float,
) -> AddressRun:
    lab.fresh_account()
    topology, pair = build(lab, kind.key, f"{kind.key}-{number + 1}")
    deployment = lab.deployment((pair,), settings.tuning)
    with FaithfulEC2(**found.simulator_arguments()) as sim:
        accepted = Accepted(sim)
        sim.set_status(pair.primary_instance_id, instance="impaired")
        event = alarm_event(pair)
        received, started = datetime.now(UTC), time.monotonic()
        report = deployment.invoke(
            event, FakeLambdaContext(remaining_seconds=LAMBDA_TIMEOUT_SECONDS)
        )
        returned = time.monotonic() - started
        sim.settle()
    [outcome] = report["outcomes"]
    require(outcome["outcome"] == "swapped", f"{pair.name}: {outcome['summary']}")
    require_on_standby(lab, topology, pair)
    [key] = _keys(topology, pair)
    at = accepted.at.get(key, [])
    require(len(at) == 1, f"{pair.name}: {key} was moved {len(at)} times")
    verified = next(s["at"] for s in outcome["steps"] if s["step"] == "verified")
    clear_function_metrics()
    return AddressRun(
        floor=round_trip + found.of(kind.key),
        accepted=at[0] - started,
        usable=at[0] - started + found.of(kind.key),
        verified=(datetime.fromisoformat(verified) - received).total_seconds(),
        returned=returned,
    )


def require_on_standby(lab: Lab, topology: AddressPairTopology, pair: Pair) -> None:
    """Every address of the pair where EC2 shows it: on the standby's primary interface."""
    ec2, standby = lab.harness.ec2, topology.standby_interface_id
    if pair.route_table_ids:
        tables = ec2.describe_route_tables(RouteTableIds=list(pair.route_table_ids))
        for table in tables["RouteTables"]:
            for route in table["Routes"]:
                if route.get("DestinationCidrBlock") in pair.route_cidrs:
                    require(
                        route.get("NetworkInterfaceId") == standby,
                        f"{pair.name}: route in {table['RouteTableId']} targets "
                        f"{route.get('NetworkInterfaceId')}, not the standby",
                    )
    if topology.allocation_ids:
        found = ec2.describe_addresses(AllocationIds=list(topology.allocation_ids))
        for address in found["Addresses"]:
            require(
                address.get("NetworkInterfaceId") == standby,
                f"{pair.name}: Elastic IP {address['PublicIp']} is on "
                f"{address.get('NetworkInterfaceId')}, not the standby",
            )
    if topology.private_ips:
        require(
            set(_secondary_ips(lab, standby)) == set(topology.private_ips),
            f"{pair.name}: the secondary IPs are not on the standby",
        )


def _wave(lab: Lab, settings: BenchSettings, count: int, found: Delays) -> AddressWave:
    """`count` pairs, each a route and an Elastic IP across zones, failing at once."""
    lab.fresh_account()
    fleet = [build(lab, None, f"wave-{count}-{n + 1}") for n in range(count)]
    pairs = tuple(pair for _, pair in fleet)
    counter = CallCounter()
    sandboxes = [lab.deployment(pairs, settings.tuning, counter) for _ in range(count)]
    events = [alarm_event(pair) for pair in pairs]
    returned = [0.0] * count
    retries = [0] * count
    problems: list[str] = []
    start_line = threading.Barrier(count + 1)
    started = 0.0

    def invocation(index: int) -> None:
        start_line.wait()
        for attempt in range(LAMBDA_RETRIES + 1):
            try:
                context = FakeLambdaContext(remaining_seconds=LAMBDA_TIMEOUT_SECONDS)
                sandboxes[index].invoke(events[index], context)
                break
            except FailoverError as error:
                if attempt == LAMBDA_RETRIES:
                    problems.append(f"{pairs[index].name}: gave up after Lambda's retries: {error}")
                    break
                retries[index] += 1
                time.sleep(1.0)
        returned[index] = time.monotonic() - started

    buckets = {**EC2_REQUEST_BUCKETS, **ADDRESS_REQUEST_BUCKETS}
    with TieredRateEC2(buckets=buckets, **found.simulator_arguments()) as sim:
        accepted = Accepted(sim)
        for _, pair in fleet:
            sim.set_status(pair.primary_instance_id, instance="impaired")
        threads = [threading.Thread(target=invocation, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        start_line.wait()
        for thread in threads:
            thread.join()
        throttled, requests = sim.throttled, sim.calls
        sim.settle()
    require(not problems, "address wave: " + "; ".join(problems))
    usable = []
    for topology, pair in fleet:
        require_on_standby(lab, topology, pair)
        moments = []
        for key, kind in _keys(topology, pair).items():
            at = accepted.at.get(key, [])
            require(len(at) == 1, f"address wave: {key} was moved {len(at)} times")
            moments.append(at[0] - started + found.of(kind))
        usable.append(max(moments))
    failures = _told(sandboxes[0].notifications(), pairs)
    clear_function_metrics()
    return AddressWave(
        pairs=count,
        usable=tuple(usable),
        returned=tuple(returned),
        calls=counter.calls(),
        attempts=counter.attempts(),
        ec2_requests=requests,
        throttled=throttled,
        lambda_retries=sum(retries),
        failures=failures,
    )


def _told(notifications: list[dict[str, Any]], pairs: tuple[Pair, ...]) -> tuple[str, ...]:
    """Every pair told "swapped" exactly once; what operators were told when an invocation
    gave up first (Lambda's retry then finished the move), EC2's error for each."""
    outcomes = Counter(
        (n["attributes"].get("pair"), n["attributes"].get("outcome")) for n in notifications
    )
    for pair in pairs:
        told = outcomes[(pair.name, "swapped")]
        require(told == 1, f"address wave: {pair.name} was told 'swapped' {told} times")
    return tuple(
        str(json.loads(n["message"].split(JSON_MARKER, 1)[1]).get("error"))
        for n in notifications
        if n["attributes"].get("outcome") == "failed"
    )
