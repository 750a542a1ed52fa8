"""The lighter address kinds: routes, Elastic IPs and secondary private IPs.

Each kind is one module with the same small set of verbs (the resource agents of
Pacemaker have one agent per kind of address, each with start, stop and monitor):

- `listed(pair)`: the addresses of this kind the pair lists, as AddressView.address;
- `read(client, pairs, instances)`: what holds each of them now, as EC2 shows it;
- `problems(address, target)`: what about this kind forbids moving it to the target
  (pure; `decide` asks it, and decides everything else itself);
- `move(client, address, target)`: the one idempotent call that moves it;
- `dry_run(client, address, target)`: whether that call would be allowed (readiness).

The move itself (`mover`), its verification and its journal are the same for every kind:
a kind is one call that EC2 may take a moment to show. Whole interfaces are the fourth
kind; their move has states in between (detaching, floating, attaching) and a device
slot, so it stays in `swap`. A new kind (a /28 prefix, a Route 53 record) is a new module
here and a line in KINDS, and touches no other kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from eni_failover import ec2
from eni_failover.config import Pair
from eni_failover.ec2 import DryRunAnswer
from eni_failover.errors import AwsCallFailed
from eni_failover.kinds import elastic_ips, private_ips, routes
from eni_failover.observed import AddressView, InstanceView, PairState

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


class AddressKind(Protocol):
    NAME: str
    LABEL: str  # in words, with the configuration keys that list it
    # Whether an address of this kind may move to an instance in another zone.
    CROSSES_ZONES: bool

    def listed(self, pair: Pair) -> tuple[str, ...]: ...

    def read(
        self,
        client: EC2Client,
        pairs: Sequence[Pair],
        instances: Mapping[str, InstanceView],
    ) -> dict[str, AddressView]: ...

    def problems(self, address: AddressView, target: InstanceView) -> list[str]: ...

    def move(self, client: EC2Client, address: AddressView, target: InstanceView) -> None: ...

    def dry_run(
        self, client: EC2Client, address: AddressView, target: InstanceView
    ) -> DryRunAnswer: ...


# In the order a pair's outcome lists them.
KINDS: tuple[AddressKind, ...] = (routes, elastic_ips, private_ips)
BY_NAME: dict[str, AddressKind] = {k.NAME: k for k in KINDS}


def kind_of(address: AddressView) -> AddressKind:
    return BY_NAME[address.kind]


def read_addresses(
    client: EC2Client, pairs: Sequence[Pair], instances: Mapping[str, InstanceView]
) -> dict[str, tuple[AddressView, ...]]:
    """Every listed address of every pair, by pair name, in the pair's order: one call
    per kind for all the pairs (a kind no pair lists is not asked)."""
    found: dict[str, AddressView] = {}
    for kind in KINDS:
        asking = [p for p in pairs if kind.listed(p)]
        if asking:
            found |= kind.read(client, asking, instances)
    return {
        pair.name: tuple(
            found[f"{kind.NAME} {address}"] for kind in KINDS for address in kind.listed(pair)
        )
        for pair in pairs
    }


def with_addresses(client: EC2Client, pair: Pair, state: PairState) -> PairState:
    """The pair's state with its addresses as EC2 shows them now."""
    if not any(kind.listed(pair) for kind in KINDS):
        return state
    instances = {state.primary.instance_id: state.primary, state.standby.instance_id: state.standby}
    return replace(state, addresses=read_addresses(client, [pair], instances)[pair.name])


def observe_pair(client: EC2Client, pair: Pair, *, now: datetime | None = None) -> PairState:
    """The pair as EC2 shows it: interfaces, instances and their checks, and addresses."""
    return with_addresses(client, pair, ec2.observe_pair(client, pair, now=now))


def observe_pairs(
    client: EC2Client, pairs: Sequence[Pair], *, now: datetime | None = None
) -> ec2.PairsLook:
    """Every pair at once (ec2.observe_pairs), with their addresses: one call per kind for
    all of them. When a kind's call fails, the pairs that list it go unobserved this time
    (with EC2's answer), and the others are not held back."""
    looked = ec2.observe_pairs(client, pairs, now=now)
    listing = [p for p in pairs if p.name in looked.states and any(k.listed(p) for k in KINDS)]
    if not listing:
        return looked
    instances = {
        view.instance_id: view
        for p in listing
        for view in (looked.states[p.name].primary, looked.states[p.name].standby)
    }
    states, unobserved = dict(looked.states), dict(looked.unobserved)
    try:
        addresses = read_addresses(client, listing, instances)
    except AwsCallFailed as error:
        for pair in listing:
            del states[pair.name]
            unobserved[pair.name] = str(error)
        return ec2.PairsLook(states=states, unobserved=unobserved)
    for pair in listing:
        states[pair.name] = replace(states[pair.name], addresses=addresses[pair.name])
    return ec2.PairsLook(states=states, unobserved=unobserved)
