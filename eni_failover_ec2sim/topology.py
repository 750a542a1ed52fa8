"""A failover pair built through the EC2 API, for tests, `make demo` and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eni_failover_ec2sim.simulator import installed

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import TagSpecificationTypeDef

    from eni_failover_ec2sim.simulator import FaithfulEC2

FLOATING_DEVICE_INDEX = 1
# moto accepts any image ID unless AMI validation is switched on; this one is never real.
DEFAULT_IMAGE_ID = "ami-0123456789abcdef0"


@dataclass(frozen=True)
class PairTopology:
    vpc_id: str
    subnet_id: str
    """The primary's subnet, which is also the floating interface's."""
    standby_subnet_id: str
    """The same as subnet_id unless the standby was put in another AZ."""
    primary_instance_id: str
    standby_instance_id: str
    interface_id: str
    """The floating secondary ENI, attached to the primary at `device_index`."""
    attachment_id: str
    mac_address: str
    private_ips: tuple[str, ...]
    allocation_id: str | None
    public_ip: str | None
    device_index: int = FLOATING_DEVICE_INDEX
    network_card_index: int = 0


def _launch(ec2: EC2Client, subnet_id: str, name: str, image_id: str) -> Any:
    """One t3.micro in the subnet, named: the instance as RunInstances describes it."""
    tags: list[TagSpecificationTypeDef] = [
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}
    ]
    return ec2.run_instances(
        ImageId=image_id,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet_id,
        TagSpecifications=tags,
    )["Instances"][0]


def build_pair(
    ec2: EC2Client,
    *,
    az: str = "us-east-1a",
    standby_az: str | None = None,
    with_eip: bool = True,
    secondary_private_ips: int = 0,
    name: str = "pair",
    image_id: str = DEFAULT_IMAGE_ID,
    sim: FaithfulEC2 | None = None,
    network_cards: int = 1,
    network_card_index: int = 0,
) -> PairTopology:
    """Create a VPC, a subnet, a primary and a standby instance, and the floating ENI.

    The ENI is created in the primary's subnet (delete-on-termination false, as the
    failover requires) and attached to the primary at device index 1, with an Elastic IP
    associated by NetworkInterfaceId when `with_eip`. `standby_az` puts the standby in
    its own subnet in another AZ, for negative tests. Pass the installed simulator as
    `sim` to have the attach finish at once instead of waiting out its latency.
    `network_cards` gives both instances that many network cards (needs `sim`), and the
    floating interface is attached on card `network_card_index`.
    """
    if network_cards != 1 and sim is None:
        raise ValueError("network cards are the simulator's: pass sim")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone=az)[
        "Subnet"
    ]["SubnetId"]
    standby_subnet_id = subnet_id
    if standby_az is not None and standby_az != az:
        standby_subnet_id = ec2.create_subnet(
            VpcId=vpc_id, CidrBlock="10.0.2.0/24", AvailabilityZone=standby_az
        )["Subnet"]["SubnetId"]

    primary_instance_id = _launch(ec2, subnet_id, name, image_id)["InstanceId"]
    standby_instance_id = _launch(ec2, standby_subnet_id, name, image_id)["InstanceId"]
    if sim is not None and network_cards != 1:
        for instance_id in (primary_instance_id, standby_instance_id):
            sim.set_network_cards(instance_id, network_cards)

    interface = ec2.create_network_interface(
        SubnetId=subnet_id,
        Description=f"{name} floating interface",
        SecondaryPrivateIpAddressCount=secondary_private_ips,
    )["NetworkInterface"]
    interface_id = interface["NetworkInterfaceId"]
    attachment_id = ec2.attach_network_interface(
        NetworkInterfaceId=interface_id,
        InstanceId=primary_instance_id,
        DeviceIndex=FLOATING_DEVICE_INDEX,
        NetworkCardIndex=network_card_index,
    )["AttachmentId"]
    if sim is not None:
        sim.settle()

    allocation_id = public_ip = None
    if with_eip:
        address = ec2.allocate_address(Domain="vpc")
        allocation_id, public_ip = address["AllocationId"], address["PublicIp"]
        ec2.associate_address(AllocationId=allocation_id, NetworkInterfaceId=interface_id)
        if sim is not None:
            sim.settle()  # DescribeAddresses shows the association only after a while

    return PairTopology(
        vpc_id=vpc_id,
        subnet_id=subnet_id,
        standby_subnet_id=standby_subnet_id,
        primary_instance_id=primary_instance_id,
        standby_instance_id=standby_instance_id,
        interface_id=interface_id,
        attachment_id=attachment_id,
        mac_address=interface["MacAddress"],
        private_ips=tuple(ip["PrivateIpAddress"] for ip in interface["PrivateIpAddresses"]),
        allocation_id=allocation_id,
        public_ip=public_ip,
        network_card_index=network_card_index,
    )


@dataclass(frozen=True)
class AddressPairTopology:
    """A pair whose service address is routes, Elastic IPs and secondary IPs, not an
    interface: the instances may be in different zones (`standby_az`)."""

    vpc_id: str
    subnet_id: str
    standby_subnet_id: str
    primary_instance_id: str
    standby_instance_id: str
    # Each instance's primary interface (device index 0): what the addresses go to.
    primary_interface_id: str
    standby_interface_id: str
    route_table_ids: tuple[str, ...]
    route_cidrs: tuple[str, ...]
    allocation_ids: tuple[str, ...]
    public_ips: tuple[str, ...]
    private_ips: tuple[str, ...]


def build_address_pair(
    ec2: EC2Client,
    *,
    az: str = "us-east-1a",
    standby_az: str = "us-east-1b",
    route_tables: int = 2,
    route_cidrs: tuple[str, ...] = ("10.9.0.10/32",),
    elastic_ips: int = 1,
    secondary_private_ips: int = 0,
    name: str = "pair",
    image_id: str = DEFAULT_IMAGE_ID,
    vpc_cidr: str = "10.0.0.0/16",
) -> AddressPairTopology:
    """A VPC with a primary in `az` and a standby in `standby_az` (the same subnet when the
    zones are equal), and the primary holding every address: in each of `route_tables`
    route tables a route to each of `route_cidrs` (an overlay IP by default) targets its
    primary interface, `elastic_ips` Elastic IPs are associated with it, and
    `secondary_private_ips` secondary IPs are assigned to its primary interface. Source and
    destination checking is off on both primary interfaces, as routed traffic needs. The
    simulator installed in this process, if any, is settled: everything shows at once."""
    vpc_id = ec2.create_vpc(CidrBlock=vpc_cidr)["Vpc"]["VpcId"]
    base = vpc_cidr.split(".")[:2]
    subnet_id = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock=f"{base[0]}.{base[1]}.1.0/24", AvailabilityZone=az
    )["Subnet"]["SubnetId"]
    standby_subnet_id = subnet_id
    if standby_az != az:
        standby_subnet_id = ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"{base[0]}.{base[1]}.2.0/24", AvailabilityZone=standby_az
        )["Subnet"]["SubnetId"]

    def launch(subnet: str) -> tuple[str, str]:
        instance = _launch(ec2, subnet, name, image_id)
        interface_id = instance["NetworkInterfaces"][0]["NetworkInterfaceId"]
        ec2.modify_network_interface_attribute(
            NetworkInterfaceId=interface_id, SourceDestCheck={"Value": False}
        )
        return instance["InstanceId"], interface_id

    primary_instance_id, primary_interface_id = launch(subnet_id)
    standby_instance_id, standby_interface_id = launch(standby_subnet_id)

    table_ids = []
    for _ in range(route_tables):
        table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        for cidr in route_cidrs:
            destination = (
                {"DestinationIpv6CidrBlock": cidr}
                if ":" in cidr
                else {"DestinationCidrBlock": cidr}
            )
            ec2.create_route(
                RouteTableId=table_id,
                NetworkInterfaceId=primary_interface_id,
                **destination,  # type: ignore[arg-type]
            )
        table_ids.append(table_id)

    allocation_ids, public_ips = [], []
    for _ in range(elastic_ips):
        address = ec2.allocate_address(Domain="vpc")
        ec2.associate_address(
            AllocationId=address["AllocationId"], NetworkInterfaceId=primary_interface_id
        )
        allocation_ids.append(address["AllocationId"])
        public_ips.append(address["PublicIp"])

    private_ips: tuple[str, ...] = ()
    if secondary_private_ips:
        # Named, from .100 up: moto picks any address of the subnet, the reserved first four
        # and last included, which EC2 (and ec2sim) would never hand out.
        private_ips = tuple(
            f"{base[0]}.{base[1]}.1.{100 + i}" for i in range(secondary_private_ips)
        )
        ec2.assign_private_ip_addresses(
            NetworkInterfaceId=primary_interface_id, PrivateIpAddresses=list(private_ips)
        )

    # The simulator shows new routes and associations only after a while, as EC2 does: a
    # scene starts once they show.
    simulator = installed()
    if simulator is not None:
        simulator.settle()
    return AddressPairTopology(
        vpc_id=vpc_id,
        subnet_id=subnet_id,
        standby_subnet_id=standby_subnet_id,
        primary_instance_id=primary_instance_id,
        standby_instance_id=standby_instance_id,
        primary_interface_id=primary_interface_id,
        standby_interface_id=standby_interface_id,
        route_table_ids=tuple(table_ids),
        route_cidrs=route_cidrs,
        allocation_ids=tuple(allocation_ids),
        public_ips=tuple(public_ips),
        private_ips=private_ips,
    )
