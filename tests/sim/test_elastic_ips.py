"""AssociateAddress as EC2 does it, which plain moto does not (see AWS-FACTS, "Zones, routes").

moto refuses a reassociation unless AllowReassociation is true (EC2 reassociates unless
it is false), answers a DryRun before checking that the address is free, accepts any
PrivateIpAddress and an instance with several interfaces, leaves the old interface
showing the address after a reassociation and the target's own address on it, and
shows a change at once. Each test runs in-process and through the HTTP server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from eni_failover_ec2sim import ManualClock, PairTopology, build_pair
from tests.sim.conftest import StartSim
from tests.sim.views import address, error_code, interface, primary_interface_id

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def address_on_primary(ec2: EC2Client, pair: PairTopology) -> tuple[str, str]:
    """An Elastic IP associated with the primary's primary interface and private IP:
    (allocation ID, association ID)."""
    primary = interface(ec2, primary_interface_id(ec2, pair.primary_instance_id))
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    association_id = ec2.associate_address(
        AllocationId=allocation_id,
        NetworkInterfaceId=primary["NetworkInterfaceId"],
        PrivateIpAddress=primary["PrivateIpAddress"],
    )["AssociationId"]
    return allocation_id, association_id


def standby_target(ec2: EC2Client, pair: PairTopology) -> tuple[str, str]:
    """AssociateAddress's target on the standby: its primary interface and private IP."""
    standby = interface(ec2, primary_interface_id(ec2, pair.standby_instance_id))
    return standby["NetworkInterfaceId"], standby["PrivateIpAddress"]


def associate_with_standby(
    ec2: EC2Client, pair: PairTopology, allocation_id: str, **options: bool
) -> str:
    """AssociateAddress as the failover calls it (AllowReassociation, default true, and
    DryRun as given); the new association ID."""
    interface_id, private_ip = standby_target(ec2, pair)
    return ec2.associate_address(
        AllocationId=allocation_id,
        NetworkInterfaceId=interface_id,
        PrivateIpAddress=private_ip,
        AllowReassociation=options.get("allow_reassociation", True),
        DryRun=options.get("dry_run", False),
    )["AssociationId"]


@pytest.mark.parametrize("dry_run", [False, True])
def test_associating_an_associated_address_with_reassociation_false_is_refused(
    ec2: EC2Client, start_sim: StartSim, dry_run: bool
) -> None:
    # Given an Elastic IP on the primary, in one zone, and a standby in another
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", with_eip=False, sim=sim)
    allocation_id, association_id = address_on_primary(ec2, pair)
    sim.settle()

    # When it is associated with the standby with AllowReassociation false (or only tried)
    with pytest.raises(ClientError) as excinfo:
        associate_with_standby(ec2, pair, allocation_id, allow_reassociation=False, dry_run=dry_run)

    # Then EC2 refuses, and the address stays where it was
    assert error_code(excinfo) == "Resource.AlreadyAssociated"
    sim.settle()
    assert address(ec2, allocation_id)["AssociationId"] == association_id


def test_reassociation_is_automatic_when_allow_reassociation_is_not_given(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given an Elastic IP on the primary
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", with_eip=False, sim=sim)
    allocation_id, association_id = address_on_primary(ec2, pair)
    interface_id, private_ip = standby_target(ec2, pair)

    # When it is associated with the standby, AllowReassociation not given
    new_association_id = ec2.associate_address(
        AllocationId=allocation_id, NetworkInterfaceId=interface_id, PrivateIpAddress=private_ip
    )["AssociationId"]

    # Then it moves: "Reassociation is automatic, but you can specify false to ensure the
    # operation fails" (EC2 API reference; moto refuses)
    sim.settle()
    shown = address(ec2, allocation_id)
    assert shown["AssociationId"] == new_association_id != association_id
    assert shown["NetworkInterfaceId"] == interface_id


def test_an_association_takes_the_targets_own_address_off_it(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given the service's Elastic IP on the primary, and the standby with one of its own
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", with_eip=False, sim=sim)
    allocation_id, _ = address_on_primary(ec2, pair)
    interface_id, _ = standby_target(ec2, pair)
    own_allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=own_allocation_id, NetworkInterfaceId=interface_id)

    # When the service's address is associated with the standby's interface and IP
    associate_with_standby(ec2, pair, allocation_id, allow_reassociation=True)

    # Then the standby's own address is disassociated but stays allocated (moto keeps
    # both on the interface), and the interface shows the service's
    sim.settle()
    own = address(ec2, own_allocation_id)
    assert "AssociationId" not in own
    assert own.get("NetworkInterfaceId", "") == ""
    assert interface(ec2, interface_id)["Association"]["AllocationId"] == allocation_id


def test_reassociation_ends_the_old_association_and_takes_the_address_off_the_old_interface(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given an Elastic IP on the primary's interface
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", with_eip=False, sim=sim)
    allocation_id, old_association_id = address_on_primary(ec2, pair)
    interface_id, private_ip = standby_target(ec2, pair)

    # When it is associated with the standby's, allowing reassociation
    new_association_id = associate_with_standby(ec2, pair, allocation_id, allow_reassociation=True)

    # Then it has a new association, and the old one no longer exists
    assert new_association_id != old_association_id
    with pytest.raises(ClientError) as excinfo:
        ec2.disassociate_address(AssociationId=old_association_id)
    assert error_code(excinfo) == "InvalidAssociationID.NotFound"

    # And the primary's interface no longer shows it (moto leaves it there)
    old_interface = interface(ec2, primary_interface_id(ec2, pair.primary_instance_id))
    assert "Association" not in old_interface

    # And, once consistent, DescribeAddresses shows it on the standby's interface and IP
    sim.settle()
    shown = address(ec2, allocation_id)
    assert shown["AssociationId"] == new_association_id
    assert shown["NetworkInterfaceId"] == interface_id
    assert shown["PrivateIpAddress"] == private_ip
    assert shown["InstanceId"] == pair.standby_instance_id


def test_describe_addresses_shows_the_old_association_for_a_while(
    ec2: EC2Client, start_sim: StartSim, clock: ManualClock
) -> None:
    # Given an Elastic IP on the primary, and the simulator's default address delay
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", with_eip=False, sim=sim)
    allocation_id, old_association_id = address_on_primary(ec2, pair)
    sim.settle()

    # When it is reassociated with the standby
    new_association_id = associate_with_standby(ec2, pair, allocation_id, allow_reassociation=True)

    # Then the call has returned, but DescribeAddresses shows the old association a while
    assert address(ec2, allocation_id)["AssociationId"] == old_association_id
    clock.advance(0.29)
    by_instance = ec2.describe_addresses(
        Filters=[{"Name": "instance-id", "Values": [pair.primary_instance_id]}]
    )["Addresses"]
    assert [found["AssociationId"] for found in by_instance] == [old_association_id]

    # And then the new one
    clock.advance(0.01)
    assert address(ec2, allocation_id)["AssociationId"] == new_association_id


def test_an_address_change_is_shown_after_n_describes(ec2: EC2Client, start_sim: StartSim) -> None:
    # Given a delay counted in DescribeAddresses calls
    sim = start_sim(address_polls=2)
    pair = build_pair(ec2, with_eip=False, sim=sim)
    allocation_id, _ = address_on_primary(ec2, pair)
    sim.settle()

    # When the address is reassociated with the standby
    new_association_id = associate_with_standby(ec2, pair, allocation_id, allow_reassociation=True)

    # Then the third describe shows it
    seen = [address(ec2, allocation_id)["AssociationId"] for _ in range(3)]
    assert [shown == new_association_id for shown in seen] == [False, False, True]


def test_dry_run_association_validates_and_changes_nothing(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given an Elastic IP on the primary
    sim = start_sim()
    pair = build_pair(ec2, az="us-east-1a", standby_az="us-east-1b", with_eip=False, sim=sim)
    allocation_id, association_id = address_on_primary(ec2, pair)
    sim.settle()
    interface_id, _ = standby_target(ec2, pair)

    # When the readiness check tries the move with DryRun
    with pytest.raises(ClientError) as allowed:
        associate_with_standby(ec2, pair, allocation_id, allow_reassociation=True, dry_run=True)
    # ... and with a private IP the standby's interface does not have
    with pytest.raises(ClientError) as wrong_ip:
        ec2.associate_address(
            AllocationId=allocation_id,
            AllowReassociation=True,
            DryRun=True,
            NetworkInterfaceId=interface_id,
            PrivateIpAddress="10.0.2.250",
        )

    # Then the first would have succeeded, the second is refused, and nothing moved
    assert error_code(allowed) == "DryRunOperation"
    assert error_code(wrong_ip) == "InvalidParameterValue"
    sim.settle()
    assert address(ec2, allocation_id)["AssociationId"] == association_id


def test_association_by_instance_id_needs_an_instance_with_one_interface(
    ec2: EC2Client, start_sim: StartSim
) -> None:
    # Given a primary with the floating interface as its second interface
    sim = start_sim()
    pair = build_pair(ec2, with_eip=False, sim=sim)
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]

    # When an address is associated with the instance, naming no interface
    with pytest.raises(ClientError) as excinfo:
        ec2.associate_address(AllocationId=allocation_id, InstanceId=pair.primary_instance_id)

    # Then EC2 refuses: "The instance must have exactly one attached network interface"
    assert error_code(excinfo) == "InvalidInstanceID"
    sim.settle()
    assert "AssociationId" not in address(ec2, allocation_id)
