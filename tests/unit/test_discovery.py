"""Pairs declared by tags: the pure judgement, the EC2 reading (on moto) and the cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from eni_failover.config import Pair
from eni_failover.discovery import (
    MAX_FLOATING_INTERFACES,
    PAIR_TAG,
    PROBE_TAG,
    ROLE_TAG,
    Discovery,
    DiscoveryCache,
    TaggedInstance,
    TaggedInterface,
    TaggedResources,
    discover,
    discover_from_ec2,
    read_tagged,
)
from eni_failover.errors import AwsCallFailed
from eni_failover_ec2sim import FaithfulEC2
from tests.support import FakeClock

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

PRIMARY = "i-0123456789abcdef0"
STANDBY = "i-0fedcba9876543210"
OTHER = "i-0aaaaaaaaaaaaaaa0"
ENI = "eni-0123456789abcdef0"
ENI_2 = "eni-0123456789abcdef1"
ZONE = "us-east-1a"


def instance(
    instance_id: str,
    role: str | None,
    *,
    pair: str = "web",
    az: str = ZONE,
    probe: str | None = None,
) -> TaggedInstance:
    return TaggedInstance(
        instance_id=instance_id,
        pair=pair,
        role=role,
        availability_zone=az,
        state="running",
        probe=probe,
    )


def interface(
    interface_id: str,
    role: str | None = "floating",
    *,
    pair: str = "web",
    az: str = ZONE,
    probe: str | None = None,
) -> TaggedInterface:
    return TaggedInterface(
        interface_id=interface_id, pair=pair, role=role, availability_zone=az, probe=probe
    )


def tagged(*resources: TaggedInstance | TaggedInterface) -> TaggedResources:
    return TaggedResources(
        instances=tuple(r for r in resources if isinstance(r, TaggedInstance)),
        interfaces=tuple(r for r in resources if isinstance(r, TaggedInterface)),
    )


def web(*extra: TaggedInstance | TaggedInterface) -> TaggedResources:
    """A well-formed pair "web" with one floating interface, plus `extra`."""
    return tagged(
        instance(PRIMARY, "primary"), instance(STANDBY, "standby"), interface(ENI), *extra
    )


def lines(discovery: Discovery) -> list[str]:
    return [str(problem) for problem in discovery.problems]


# --- The pure judgement -------------------------------------------------------------------


def test_a_good_pair_with_two_floating_interfaces_is_discovered() -> None:
    # Given a primary, a standby and two floating interfaces, all in one zone
    resources = web(interface(ENI_2))

    # When the tags are judged
    discovery = discover(resources)

    # Then the pair is found as the failover knows pairs, with nothing to report
    assert discovery.pairs == (
        Pair(
            name="web",
            primary_instance_id=PRIMARY,
            standby_instance_id=STANDBY,
            interface_ids=(ENI, ENI_2),
        ),
    )
    assert discovery.problems == ()
    assert discovery.pair_of_instance(STANDBY) == discovery.pair_named("web")
    assert discovery.pair_of_interface(ENI_2) == discovery.pair_named("web")


def test_pairs_come_sorted_by_name_whatever_order_ec2_gives() -> None:
    # Given two pairs, "web" listed before "db"
    db = (
        instance("i-0000000000000000a", "primary", pair="db"),
        instance("i-0000000000000000b", "standby", pair="db"),
        interface("eni-0000000000000000a", pair="db"),
    )
    resources = web(*db)

    # When judged
    discovery = discover(resources)

    # Then both are found, "db" first
    assert [p.name for p in discovery.pairs] == ["db", "web"]


def test_two_primaries_make_no_pair() -> None:
    # Given two instances tagged primary
    discovery = discover(web(instance(OTHER, "primary")))

    # Then the pair is not acted on, and the problem names both instances and the fix
    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert problem.subject == "pair web"
    assert f"2 instances are tagged primary ({PRIMARY}, {OTHER})" in str(problem)
    assert "a pair has exactly one" in str(problem)
    assert f"keep {ROLE_TAG}=primary on one" in str(problem)
    assert problem.pairs == ("web",)


def test_two_standbys_make_no_pair() -> None:
    discovery = discover(web(instance(OTHER, "standby")))

    assert discovery.pairs == ()
    assert lines(discovery) == [
        f"pair web: 2 instances are tagged standby ({OTHER}, {STANDBY}); a pair has exactly "
        f"one; keep {ROLE_TAG}=standby on one and remove the eni-failover:* tags from the others"
    ]


def test_no_primary_says_which_tags_to_add() -> None:
    # Given a standby and an interface, but no primary
    discovery = discover(tagged(instance(STANDBY, "standby"), interface(ENI)))

    # Then the fix is the exact pair of tags to put on the primary
    assert discovery.pairs == ()
    assert lines(discovery) == [
        f"pair web: no instance is tagged primary; tag the primary instance {PAIR_TAG}=web "
        f"and {ROLE_TAG}=primary"
    ]


def test_no_standby_makes_no_pair() -> None:
    discovery = discover(tagged(instance(PRIMARY, "primary"), interface(ENI)))

    assert discovery.pairs == ()
    assert [p.what for p in discovery.problems] == ["no instance is tagged standby"]


def test_no_floating_interface_makes_no_pair() -> None:
    discovery = discover(tagged(instance(PRIMARY, "primary"), instance(STANDBY, "standby")))

    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert "no network interface is tagged floating" in problem.what
    assert f"{ROLE_TAG}=floating" in problem.fix


def test_an_interface_in_another_zone_than_both_instances() -> None:
    # Given a floating interface in us-east-1b, the instances in us-east-1a
    discovery = discover(
        tagged(
            instance(PRIMARY, "primary"),
            instance(STANDBY, "standby"),
            interface(ENI, az="us-east-1b"),
        )
    )

    # Then it could attach to neither: no pair, and the zones are named
    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert problem.subject == f"interface {ENI}"
    assert "is in us-east-1b" in problem.what
    assert f"the primary {PRIMARY} is in us-east-1a" in problem.what
    assert f"the standby {STANDBY} is in us-east-1a" in problem.what
    assert "only to an instance in its own Availability Zone" in problem.what
    assert problem.fix == "float an interface created in a subnet of us-east-1a instead"


def test_a_standby_in_another_zone_than_the_floating_interface() -> None:
    # Given the standby alone in us-east-1b
    discovery = discover(
        tagged(
            instance(PRIMARY, "primary"),
            instance(STANDBY, "standby", az="us-east-1b"),
            interface(ENI),
        )
    )

    # Then a failover could never attach the interface to it
    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert f"the standby {STANDBY} is in us-east-1b" in problem.what
    assert "primary" not in problem.what.split("but")[1]
    assert problem.fix == "use a standby in us-east-1a, the interface's zone"


def test_one_resource_listed_in_two_pairs_spoils_both() -> None:
    # Given an interface that the input shows in pairs "web" and "db" (EC2 gives a resource
    # one value per key, so only a repeated entry does this; it is still never guessed at)
    db = (
        instance("i-0000000000000000a", "primary", pair="db"),
        instance("i-0000000000000000b", "standby", pair="db"),
        interface(ENI_2, pair="db"),
    )
    discovery = discover(web(*db, interface(ENI, pair="db")))

    # Then neither pair is acted on, and the problem names the interface and both pairs
    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert str(problem).startswith(
        f"interface {ENI}: is tagged into pairs db, web: one resource, two pairs; "
    )
    assert problem.pairs == ("db", "web")


def test_one_instance_as_primary_and_standby_is_never_guessed_at() -> None:
    # Given the input shows the primary also as the standby (one resource, two roles)
    discovery = discover(web(instance(PRIMARY, "standby")))

    # Then no pair: a failover onto the instance that failed would move nothing
    assert discovery.pairs == ()
    assert any(
        str(p).startswith(f"instance {PRIMARY}: has roles primary, standby in pair web")
        for p in discovery.problems
    )


def test_an_instance_a_configured_pair_already_uses() -> None:
    # Given the stack configures pair "db" with the tagged primary as its standby
    configured = Pair(
        name="db", primary_instance_id=OTHER, standby_instance_id=PRIMARY, interface_ids=(ENI_2,)
    )

    # When the tags are judged with the configured pairs
    discovery = discover(web(), configured=[configured])

    # Then the tagged pair is not acted on, and the message says who has the instance
    assert discovery.pairs == ()
    assert lines(discovery) == [
        f"instance {PRIMARY}: is tagged into pair web, but configured pair db already uses it "
        "as its standby: one resource, two pairs; remove its eni-failover:* tags, or take "
        "pair db out of the stack's pairs"
    ]


def test_an_interface_a_configured_pair_already_floats() -> None:
    configured = Pair(
        name="db",
        primary_instance_id=OTHER,
        standby_instance_id="i-0bbbbbbbbbbbbbbb0",
        interface_ids=(ENI,),
    )

    discovery = discover(web(), configured=[configured])

    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert problem.subject == f"interface {ENI}"
    assert "configured pair db already uses it as its floating interface" in problem.what


def test_a_tagged_pair_named_like_a_configured_one() -> None:
    # Given a configured pair "web" on other resources
    configured = Pair(
        name="web",
        primary_instance_id=OTHER,
        standby_instance_id="i-0bbbbbbbbbbbbbbb0",
        interface_ids=("eni-0bbbbbbbbbbbbbbb0",),
    )

    # When a tagged pair takes the same name
    discovery = discover(web(), configured=[configured])

    # Then the tagged one is not returned (the configured pair stays the stack's)
    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert str(problem).startswith(
        "pair web: is both a configured pair (the stack's pairs) and a tagged pair; "
        f"rename the tagged pair ({PAIR_TAG} on "
    )


def test_a_missing_role_tag() -> None:
    # Given a second interface tagged into the pair but with no role
    discovery = discover(web(interface(ENI_2, None)))

    # Then the whole pair waits: moving only some of its interfaces would be a guess
    assert discovery.pairs == ()
    assert lines(discovery) == [
        f"interface {ENI_2}: is tagged {PAIR_TAG}=web but has no {ROLE_TAG} tag; "
        f"tag it {ROLE_TAG}=floating"
    ]


def test_an_unknown_role_value() -> None:
    discovery = discover(web(instance(OTHER, "Standby")))

    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert problem.subject == f"instance {OTHER}"
    assert "'Standby', which is none of primary, standby, floating" in problem.what
    assert problem.fix == f"tag it {ROLE_TAG}=primary or standby"


def test_an_instance_tagged_floating() -> None:
    discovery = discover(web(instance(OTHER, "floating")))

    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert "instances do not float: interfaces do" in problem.what
    assert problem.fix.startswith(f"tag it {ROLE_TAG}=primary or standby")


def test_an_interface_tagged_primary() -> None:
    # Given the user tagged the interface as the primary, not the instance
    discovery = discover(
        tagged(interface(ENI, "primary"), instance(STANDBY, "standby"), interface(ENI_2))
    )

    # Then both mistakes are reported: the interface's role, and the missing primary
    assert discovery.pairs == ()
    assert lines(discovery) == [
        f"interface {ENI}: is tagged {ROLE_TAG}=primary, but a network interface is never the "
        f"primary or the standby: it floats between them; tag it {ROLE_TAG}=floating, and tag "
        f"the instance {ROLE_TAG}=primary",
        f"pair web: no instance is tagged primary; tag the primary instance {PAIR_TAG}=web "
        f"and {ROLE_TAG}=primary",
    ]


def test_a_pair_name_that_is_not_one() -> None:
    # Given resources tagged with a name that has a space
    resources = tagged(
        instance(PRIMARY, "primary", pair="web server"),
        instance(STANDBY, "standby", pair="web server"),
        interface(ENI, pair="web server"),
    )

    discovery = discover(resources)

    # Then no pair, and the problem lists the resources to retag and the expected form
    assert discovery.pairs == ()
    assert lines(discovery) == [
        f"pair 'web server': {PAIR_TAG}='web server' on {PRIMARY}, {STANDBY}, {ENI} is not a "
        "pair name: letters, digits and '-', at most 40 characters; retag those resources "
        f"{PAIR_TAG}=<a valid pair name>"
    ]


def test_more_floating_interfaces_than_a_pair_may_float() -> None:
    # Given one interface more than the limit, as when a whole subnet was tagged
    many = [interface(f"eni-{n:017x}") for n in range(MAX_FLOATING_INTERFACES + 1)]
    discovery = discover(tagged(instance(PRIMARY, "primary"), instance(STANDBY, "standby"), *many))

    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert problem.what == (
        f"{MAX_FLOATING_INTERFACES + 1} interfaces are tagged floating, more than the "
        f"{MAX_FLOATING_INTERFACES} one pair may float"
    )


def test_one_malformed_pair_leaves_the_others_alone() -> None:
    # Given a good pair "web" and a pair "db" without a standby
    db = (instance("i-0000000000000000a", "primary", pair="db"), interface(ENI_2, pair="db"))

    discovery = discover(web(*db))

    # Then "web" is still discovered, and only "db" is reported
    assert [p.name for p in discovery.pairs] == ["web"]
    assert [p.subject for p in discovery.problems] == ["pair db"]
    assert discovery.problems_of("web") == ()


def test_problems_are_one_line_each_and_sorted() -> None:
    # Given several problems across pairs and resources, in EC2's arbitrary order
    resources = tagged(
        interface(ENI_2, "standby", pair="zeta"),
        instance(OTHER, None, pair="alpha"),
        instance(PRIMARY, "primary"),
    )

    discovery = discover(resources)
    again = discover(
        TaggedResources(
            instances=tuple(reversed(resources.instances)),
            interfaces=tuple(reversed(resources.interfaces)),
        )
    )

    # Then the order is the same whatever the input's, and no problem spans two lines
    assert discovery == again
    subjects = [p.subject for p in discovery.problems]
    assert subjects == sorted(subjects)
    assert all("\n" not in line for line in lines(discovery))


# --- The probe tag -----------------------------------------------------------------------

# What a stack with probePorts=80,8080 opens (443 is open for the AWS APIs anyway).
OPEN_PORTS = frozenset({80, 443, 8080})


def probed_web(probe: str, *extra: TaggedInstance | TaggedInterface) -> TaggedResources:
    """Pair "web" whose primary carries `probe` as its probe tag."""
    return tagged(
        instance(PRIMARY, "primary", probe=probe),
        instance(STANDBY, "standby"),
        interface(ENI),
        *extra,
    )


def test_a_probe_tag_on_the_primary_is_the_pairs_probe() -> None:
    # Given the primary tagged with an HTTP probe on a port the prober may reach
    resources = probed_web("http://:8080/health")

    # When the tags are judged
    discovery = discover(resources, probe_ports=OPEN_PORTS)

    # Then the pair carries the probe, as a configured pair with that probe would
    [pair] = discovery.pairs
    assert pair.probe == "http://:8080/health"
    assert pair.probe_spec is not None
    assert pair.probe_spec.port == 8080
    assert discovery.problems == ()


def test_a_pair_without_a_probe_tag_is_not_probed() -> None:
    discovery = discover(web(), probe_ports=OPEN_PORTS)

    [pair] = discovery.pairs
    assert pair.probe is None


def test_an_invalid_probe_tag_is_a_problem_naming_the_value_and_the_forms() -> None:
    # Given a probe tag that is none of the probe forms
    discovery = discover(probed_web("ping 8080"), probe_ports=OPEN_PORTS)

    # Then the pair is not acted on, and the problem names the pair, the value and the forms
    assert discovery.pairs == ()
    [problem] = discovery.problems
    assert problem.subject == "pair web"
    assert problem.pairs == ("web",)
    assert f"{PROBE_TAG} on its primary {PRIMARY}: 'ping 8080' is not a probe" in str(problem)
    assert "'tcp:PORT', 'http://:PORT/PATH' or 'https://:PORT/PATH'" in str(problem)


def test_a_probe_tag_with_a_port_out_of_range_is_a_problem() -> None:
    discovery = discover(probed_web("tcp:70000"), probe_ports=OPEN_PORTS)

    assert discovery.pairs == ()
    assert "'tcp:70000' has port 70000; a port is 1 to 65535" in lines(discovery)[0]


@pytest.mark.parametrize(
    ("resources", "subject"),
    [
        (
            tagged(
                instance(PRIMARY, "primary"),
                instance(STANDBY, "standby", probe="tcp:80"),
                interface(ENI),
            ),
            f"instance {STANDBY}",
        ),
        (
            tagged(
                instance(PRIMARY, "primary"),
                instance(STANDBY, "standby"),
                interface(ENI, probe="tcp:80"),
            ),
            f"interface {ENI}",
        ),
    ],
    ids=["on the standby", "on the floating interface"],
)
def test_a_probe_tag_anywhere_but_the_primary_says_where_it_belongs(
    resources: TaggedResources, subject: str
) -> None:
    # Given the probe tag on the standby (or the floating interface) instead of the primary
    discovery = discover(resources, probe_ports=OPEN_PORTS)

    # Then the pair is not acted on, and the problem says the tag belongs on the primary
    assert discovery.pairs == ()
    assert lines(discovery) == [
        f"{subject}: has {PROBE_TAG}='tcp:80', but only the primary instance of a pair carries "
        f"its probe; move {PROBE_TAG} to the instance tagged {ROLE_TAG}=primary in pair web, "
        "and remove it here"
    ]


def test_a_probe_on_a_port_the_prober_cannot_reach_is_a_problem_not_a_silent_drop() -> None:
    # Given a probe on 8443, which the prober's security group does not open
    discovery = discover(probed_web("https://:8443/health"), probe_ports=OPEN_PORTS)

    # Then the pair is not acted on, and the operator is told to add the port and deploy
    assert discovery.pairs == ()
    assert lines(discovery) == [
        f"pair web: {PROBE_TAG} on its primary {PRIMARY} is 'https://:8443/health': port 8443 "
        "is not in probePorts (80, 443, 8080): the prober's security group would drop it; "
        "add it to probePorts and deploy"
    ]


def test_a_probe_tag_in_a_stack_without_a_prober_is_a_problem() -> None:
    # Given a stack with no prober (no probePorts, no configured probe)
    discovery = discover(probed_web("tcp:80"), probe_ports=frozenset())

    # Then nothing would probe the pair, and the operator is told how to get a prober
    assert discovery.pairs == ()
    [line] = lines(discovery)
    assert "this stack runs no prober, so nothing would probe it" in line
    assert "deploy with probePorts=80 and the prober's vpcId and probeSubnetIds" in line


# --- Reading EC2 (moto, with the faithful simulator's describe rules) ---------------------


def pair_tags(pair: str, role: str, kind: str) -> list[Any]:
    tags = [{"Key": PAIR_TAG, "Value": pair}, {"Key": ROLE_TAG, "Value": role}]
    return [{"ResourceType": kind, "Tags": tags}]


@dataclass
class Network:
    ec2: EC2Client
    subnet_id: str

    def launch(self, pair: str | None = None, role: str = "primary") -> str:
        tags = pair_tags(pair, role, "instance") if pair else []
        return self.ec2.run_instances(
            ImageId="ami-0123456789abcdef0",
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            SubnetId=self.subnet_id,
            TagSpecifications=tags,
        )["Instances"][0]["InstanceId"]

    def interface(self, pair: str | None = None) -> str:
        tags = pair_tags(pair, "floating", "network-interface") if pair else []
        return self.ec2.create_network_interface(SubnetId=self.subnet_id, TagSpecifications=tags)[
            "NetworkInterface"
        ]["NetworkInterfaceId"]

    def tagged_pair(self, name: str) -> tuple[str, str, str]:
        return self.launch(name, "primary"), self.launch(name, "standby"), self.interface(name)


@pytest.fixture
def network(sim: FaithfulEC2) -> Network:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone=ZONE)[
        "Subnet"
    ]["SubnetId"]
    return Network(ec2=ec2, subnet_id=subnet_id)


@dataclass
class PagedInterfaces:
    """moto 5.2 answers DescribeNetworkInterfaces in one page whatever MaxResults says;
    this cuts its answer into MaxResults-sized pages with a NextToken, as EC2 does, and
    records what each request asked for."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def install(self, ec2: EC2Client) -> None:
        operation = "ec2.DescribeNetworkInterfaces"
        ec2.meta.events.register(f"provide-client-params.{operation}", self._asked)
        ec2.meta.events.register(f"after-call.{operation}", self._page)

    def _asked(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(dict(params))

    def _page(self, parsed: dict[str, Any], **_: Any) -> None:
        asked = self.requests[-1]
        start = int(asked.get("NextToken") or 0)
        end = start + int(asked.get("MaxResults") or 1000)
        everything = parsed.get("NetworkInterfaces", [])
        parsed["NetworkInterfaces"] = everything[start:end]
        parsed.pop("NextToken", None)
        if end < len(everything):
            parsed["NextToken"] = str(end)


def test_a_tagged_pair_is_read_from_ec2(network: Network) -> None:
    # Given a pair tagged at launch, and an untagged instance and interface beside it
    primary, standby, floating = network.tagged_pair("web")
    network.launch()
    network.interface()

    # When discovered from EC2
    discovery = discover_from_ec2(network.ec2)

    # Then the pair is the tagged resources, and the untagged ones are not in it
    assert discovery.problems == ()
    assert discovery.pairs == (
        Pair(
            name="web",
            primary_instance_id=primary,
            standby_instance_id=standby,
            interface_ids=(floating,),
        ),
    )


def test_reading_is_filtered_on_the_tag_and_follows_every_page(
    network: Network, sim: FaithfulEC2
) -> None:
    # Given 6 tagged pairs (12 instances, 6 interfaces) and a page size of 5
    names = [f"pair-{n}" for n in range(6)]
    for name in names:
        network.tagged_pair(name)
    paging = PagedInterfaces()
    paging.install(network.ec2)
    sim.reset_counts()

    # When the tagged resources are read
    resources = read_tagged(network.ec2, page_size=5)

    # Then every page was read (3 of instances, 2 of interfaces), each call filtered on the
    # pair tag and paginated, and every pair is found
    assert len(resources.instances) == 12
    assert len(resources.interfaces) == 6
    assert sim.calls["DescribeInstances"] == 3
    assert sim.calls["DescribeNetworkInterfaces"] == 2
    assert [r.get("NextToken") for r in paging.requests] == [None, "5"]
    assert all(
        r["Filters"] == [{"Name": "tag-key", "Values": [PAIR_TAG]}] and r["MaxResults"] == 5
        for r in paging.requests
    )
    assert [p.name for p in discover(resources).pairs] == names


def test_a_terminated_primary_is_still_discovered(network: Network) -> None:
    # Given a tagged pair whose primary was terminated (the interface survives it)
    primary, standby, floating = network.tagged_pair("web")
    network.ec2.terminate_instances(InstanceIds=[primary])

    # When discovered
    resources = read_tagged(network.ec2)
    discovery = discover(resources)

    # Then the pair is still known, so its failover can still happen
    [pair] = discovery.pairs
    assert (pair.primary_instance_id, pair.standby_instance_id) == (primary, standby)
    assert pair.interface_ids == (floating,)
    assert {i.instance_id: i.state for i in resources.instances}[primary] == "terminated"


def test_an_ec2_refusal_is_the_projects_error(network: Network, sim: FaithfulEC2) -> None:
    # Given EC2 refuses the describe
    network.tagged_pair("web")
    sim.fail("DescribeInstances", "UnauthorizedOperation", times=1)

    # Then the caller gets AwsCallFailed naming the call and EC2's code
    with pytest.raises(AwsCallFailed, match="DescribeInstances failed: UnauthorizedOperation"):
        read_tagged(network.ec2)


def test_a_page_size_ec2_would_refuse_is_refused_here(network: Network) -> None:
    with pytest.raises(ValueError, match="page_size must be 5 to 1000"):
        read_tagged(network.ec2, page_size=1)


# --- The cache ----------------------------------------------------------------------------

WEB = Pair(
    name="web", primary_instance_id=PRIMARY, standby_instance_id=STANDBY, interface_ids=(ENI,)
)
DB = Pair(
    name="db",
    primary_instance_id=OTHER,
    standby_instance_id="i-0bbbbbbbbbbbbbbb0",
    interface_ids=(ENI_2,),
)
THROTTLED = AwsCallFailed("DescribeInstances", "RequestLimitExceeded", "Request limit exceeded.")


@dataclass
class FakeEC2Tags:
    """What the tags say, answer after answer; an exception is raised instead."""

    answers: list[Discovery | AwsCallFailed]
    loads: int = 0

    def __call__(self) -> Discovery:
        answer = self.answers[min(self.loads, len(self.answers) - 1)]
        self.loads += 1
        if isinstance(answer, AwsCallFailed):
            raise answer
        return answer


def test_the_cache_reuses_a_discovery_until_the_ttl() -> None:
    # Given a cache whose first read finds "web", and the tags later adding "db"
    clock = FakeClock()
    tags = FakeEC2Tags([Discovery(pairs=(WEB,)), Discovery(pairs=(DB, WEB))])
    cache = DiscoveryCache(tags, clock=clock, ttl_seconds=60)

    # When asked within the TTL
    first = cache.current()
    clock.sleep(59)
    within = cache.current()

    # Then EC2 was read once
    assert tags.loads == 1
    assert within.discovery.pairs == (WEB,)
    assert first.read_at == within.read_at

    # When asked after the TTL
    clock.sleep(1)
    after = cache.current()

    # Then it was read again and sees the new pair
    assert tags.loads == 2
    assert after.discovery.pair_named("db") == DB
    assert after.read_at == first.read_at + timedelta(seconds=60)
    assert not after.stale


def test_a_stranger_refreshes_at_once_but_not_more_than_once_per_interval() -> None:
    # Given a cache read at 0 s, before "db" was tagged
    clock = FakeClock()
    tags = FakeEC2Tags([Discovery(pairs=(WEB,)), Discovery(pairs=(DB, WEB))])
    cache = DiscoveryCache(tags, clock=clock, ttl_seconds=60, min_refresh_interval_seconds=5)
    cache.current()

    # When, 2 s later, a trigger names db's primary
    clock.sleep(2)
    too_soon = cache.about(instance_id=OTHER)

    # Then it is not read again yet (a burst of strangers costs one read per interval)
    assert tags.loads == 1
    assert too_soon.discovery.pair_of_instance(OTHER) is None

    # When the same trigger comes 5 s after the last read
    clock.sleep(3)
    found = cache.about(instance_id=OTHER)

    # Then the pair tagged a moment ago is found, long before the TTL
    assert tags.loads == 2
    assert found.discovery.pair_of_instance(OTHER) == DB

    # And something known costs nothing
    clock.sleep(10)
    cache.about(pair_name="web", interface_id=ENI)
    assert tags.loads == 2


def test_a_failed_refresh_keeps_the_last_good_discovery_and_says_so() -> None:
    # Given a good first read, then EC2 throttling every refresh
    clock = FakeClock()
    tags = FakeEC2Tags([Discovery(pairs=(WEB,)), THROTTLED])
    cache = DiscoveryCache(tags, clock=clock, ttl_seconds=60, min_refresh_interval_seconds=5)
    good = cache.current()

    # When the TTL runs out and the refresh fails
    clock.sleep(61)
    served = cache.current()

    # Then the last good pairs are served, marked stale with EC2's reason and their age
    assert served.discovery.pairs == (WEB,)
    assert served.stale
    assert served.refresh_failed is THROTTLED
    assert served.read_at == good.read_at
    note = served.note()
    assert note is not None
    assert good.read_at.isoformat() in note
    assert "RequestLimitExceeded" in note

    # And the failing refresh is not retried on every call, only once per interval
    cache.current()
    cache.about(instance_id="i-0ccccccccccccccc0")
    assert tags.loads == 2
    clock.sleep(5)
    cache.current()
    assert tags.loads == 3


def test_a_refresh_that_works_again_clears_the_failure() -> None:
    clock = FakeClock()
    tags = FakeEC2Tags([Discovery(pairs=(WEB,)), THROTTLED, Discovery(pairs=(DB, WEB))])
    cache = DiscoveryCache(tags, clock=clock)
    cache.current()
    clock.sleep(61)
    assert cache.current().stale

    clock.sleep(5)
    recovered = cache.current()

    assert not recovered.stale
    assert recovered.note() is None
    assert recovered.discovery.pair_named("db") == DB


def test_the_first_discovery_failing_raises() -> None:
    # Given EC2 failing from the start: there is no last good discovery to serve
    cache = DiscoveryCache(FakeEC2Tags([THROTTLED]), clock=FakeClock())

    # Then the caller gets the error
    with pytest.raises(AwsCallFailed, match="RequestLimitExceeded"):
        cache.current()


def test_the_cache_reads_ec2_with_the_configured_pairs(network: Network) -> None:
    # Given a tagged pair whose standby a configured pair already uses
    primary, standby, _ = network.tagged_pair("web")
    configured = Pair(
        name="db",
        primary_instance_id="i-0bbbbbbbbbbbbbbb0",
        standby_instance_id=standby,
        interface_ids=("eni-0bbbbbbbbbbbbbbb0",),
    )
    cache = DiscoveryCache.from_ec2(network.ec2, configured=[configured], clock=FakeClock())

    # When the cache is asked about the tagged primary
    cached = cache.about(instance_id=primary)

    # Then the conflict is reported and no pair is acted on
    assert cached.discovery.pairs == ()
    assert [p.subject for p in cached.discovery.problems] == [f"instance {standby}"]


def test_the_probe_tag_is_read_from_ec2_with_the_ports_the_prober_reaches(
    network: Network,
) -> None:
    # Given a tagged pair whose primary is tagged with a probe on port 80
    primary, _, _ = network.tagged_pair("web")
    network.ec2.create_tags(Resources=[primary], Tags=[{"Key": PROBE_TAG, "Value": "tcp:80"}])
    cache = DiscoveryCache.from_ec2(network.ec2, probe_ports={80, 443}, clock=FakeClock())

    # When discovered
    [pair] = cache.current().discovery.pairs

    # Then the pair is probed on port 80
    assert (pair.name, pair.probe) == ("web", "tcp:80")
