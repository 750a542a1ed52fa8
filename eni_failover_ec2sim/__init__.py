"""ec2sim: moto's EC2, made to behave like EC2 where ENI failover depends on it.

Test support only (tests, `make demo`, benchmarks); never shipped in the Lambda. moto
applies ENI changes instantly and accepts attaches EC2 refuses; FaithfulEC2 patches
moto's EC2 classes while installed so that, in-process under `mock_aws()` and through a
`ThreadedMotoServer` in the same process alike:

Rules (each a real EC2 error response, HTTP 400, with EC2's code):
- attach of an ENI that is attached, attaching or detaching: InvalidNetworkInterface.InUse
- attach to an instance in another AZ than the ENI's subnet: InvalidParameterCombination
- attach at a device index the instance already uses on that network card (also while
  that interface is attaching or detaching): InvalidParameterValue. Each network card has
  its own device indexes; AttachNetworkInterface's NetworkCardIndex (default 0) is kept per
  attachment and reported in DescribeNetworkInterfaces and DescribeInstances, and a card
  the instance lacks (set_network_cards; default one card) is InvalidParameterValue too
- attach to a shutting-down or terminated instance: IncorrectInstanceState (a stopped
  instance is fine: warm attach)
- detach of the primary interface (card 0, device index 0): OperationNotPermitted
- terminate leaves a secondary ENI that is not delete-on-termination "available", and
  deletes one that is (as moto does). DeleteOnTermination is per attachment: false for
  every AttachNetworkInterface, set with ModifyNetworkInterfaceAttribute's Attachment
- an EIP associated with the ENI stays on it when it moves, and DescribeAddresses names
  the instance the ENI is attached to
- DescribeNetworkInterfaces that is not paginated (MaxResults/NextToken), names no
  NetworkInterfaceIds and uses no indexed filter (attachment.instance-id, group-id,
  mac-address, private-dns-name, private-ip-address, subnet-id, vpc-id), in an account
  with more than `max_unfiltered_interfaces` interfaces (default 0: every account is
  large): UnsupportedOperation (AWS documents the failure, not its code: a model);
  NetworkInterfaceIds with MaxResults: InvalidParameterCombination. By ID, an unknown ID
  fails the whole call with InvalidNetworkInterfaceID.NotFound (moto does that itself)
- with `terminated_status_not_found=True`, DescribeInstanceStatus naming a terminated
  instance: InvalidInstanceID.NotFound (reported of real EC2 while DescribeInstances
  still shows the instance; by default it is "not-applicable", as in moto)
- disrupt_zone(zone): DescribeInstances and DescribeInstanceStatus that name an instance
  in the zone, or name no instance IDs (Filters alone name none), fail with Unavailable
  (HTTP 503, which botocore retries); those naming only other zones' instances work
  (EC2 API reference, DescribeInstances; the code is a model, AWS names none). Routes,
  Elastic IPs and secondary IPs are regional: their calls and describes keep working
- ReplaceRoute (also with DryRun, which then answers DryRunOperation and changes
  nothing; moto replaced the route): a destination the table has no route to is
  InvalidParameterValue "There is no route defined for ..." (what EC2 answers, and moto;
  not InvalidRoute.NotFound, which is DeleteRoute's), a target interface or instance in
  another VPC is InvalidParameterValue "... belong to different networks"
- DescribeRouteTables: a route whose target interface is detached, deleted, or attached
  to an instance that is not running (or whose target instance is not running) is
  "blackhole" (moto: always "active"); a route to an interface names its instance too
  (InstanceId, InstanceOwnerId), and one to an instance its primary interface
- AssociateAddress (also with DryRun, validated before DryRunOperation): an address
  associated elsewhere, with AllowReassociation false: Resource.AlreadyAssociated (not
  given, the address moves: "Reassociation is automatic"; moto refuses); a
  PrivateIpAddress the interface lacks: InvalidParameterValue; InstanceId of an instance
  with more than one interface: InvalidInstanceID. A reassociation ends the old
  association ID (moto too) and takes the address off the old interface (moto leaves it);
  an address already on the target is disassociated, still allocated (moto keeps both)
- AssignPrivateIpAddresses with PrivateIpAddresses (it has no DryRun parameter): an
  address outside the interface's subnet, one the subnet reserves (its first four and its
  last), or another interface's primary address, is InvalidParameterValue; one assigned
  to another interface is InvalidParameterValue unless AllowReassignment, which moves it
  (moto leaves it on both)

Latency: Attachment.Status goes "attaching" -> "attached" and "detaching" -> gone (ENI
Status "attaching" -> "in-use", "detaching" -> "available"), with the attachment ID
stable; DescribeNetworkInterfaces and DescribeInstances agree. StopInstances can pass
through "stopping". After a ReplaceRoute, DescribeRouteTables shows the route's old target
for `route_seconds` (default 0.3); after an AssociateAddress, DescribeAddresses shows the
address's old association for `address_seconds` (default 0.3), while the change itself is
made (the old association ID is gone at once). Delays are seconds of an injectable clock,
or describe polls.

API::

    from moto import mock_aws
    from eni_failover_ec2sim import FaithfulEC2, ManualClock, build_pair

    clock = ManualClock()
    with mock_aws(), FaithfulEC2(
        attach_seconds=1.0,            # or attach_polls=N: N describes show "attaching"
        detach_seconds=2.0,            # or detach_polls=N
        force_detach_seconds=0.5,      # or force_detach_polls=N
        stop_seconds=0.0,              # or stop_polls=N
        force_detach_blocks_device_index=False,
        max_unfiltered_interfaces=0,   # None: serve unindexed describes of all ENIs
        terminated_status_not_found=False,
        route_seconds=0.3,             # or route_polls=N: N DescribeRouteTables show the old
        address_seconds=0.3,           # or address_polls=N: N DescribeAddresses show the old
        clock=clock,                   # default time.monotonic
    ) as sim:
        pair = build_pair(ec2, az="us-east-1a", standby_az=None, with_eip=True, sim=sim)
        sim.hang_detach(eni_id)                  # "detaching" until a Force=True detach
        sim.hang_detach(eni_id, forever=True)    # ... and even after it
        sim.set_status(instance_id, system="impaired", instance="ok", attached_ebs="ok")
        sim.set_network_cards(instance_id, 2)    # cards 0 and 1 (NetworkCardIndex)
        sim.disrupt_zone("us-east-1b"); sim.restore_zone("us-east-1b")
        sim.fail("AttachNetworkInterface", "RequestLimitExceeded", times=3)
        sim.on("DetachNetworkInterface", callback, times=1)  # callback(CallEvent) after success
        sim.rate_limit(rate_per_second=5.0, burst=10, operations=None)  # bucket per action
        sim.calls, sim.throttled               # Counter by API action (copies)
        sim.reset_counts(); sim.clear_faults(); sim.clear_rate_limit()
        sim.settle()                             # finish all in-flight, non-hung changes
                                                 # (and show every route and association)
        clock.advance(1.0)                       # or give code under test clock.sleep

Status checks set with set_status are what DescribeInstanceStatus reports for a running
instance (AttachedEbsStatus too, which moto leaves out: "ok" until set), and its
instance-status.* / system-status.* / attached-ebs-status.* / availability-zone filters
apply.
Stopped and terminated instances appear only with IncludeAllInstances, "not-applicable".

Seams patched in moto (see eni_failover_ec2sim._moto_seams for the list and the reasons):
EC2Response.call_action, .detach_network_interface, .attach_network_interface,
.modify_network_interface_attribute, .replace_route, .associate_address and
.assign_private_ip_addresses; EC2Backend.attach_network_interface,
.detach_network_interface, .stop_instances, .start_instances, .describe_instance_status,
.describe_addresses; Instance.terminate, .instance_status, .system_status,
.attached_ebs_status (added); NetworkInterface.attachment, .get_filter_value;
ElasticAddress.instance_id, .get_filter_value; Route.state, .instance_id,
.network_interface_id, .instance_owner_id (added).
"""

from eni_failover_ec2sim.clock import Clock, ManualClock
from eni_failover_ec2sim.simulator import CheckStatus, FaithfulEC2
from eni_failover_ec2sim.topology import PairTopology, build_pair
from eni_failover_ec2sim.traffic import CallEvent

__all__ = [
    "CallEvent",
    "CheckStatus",
    "Clock",
    "FaithfulEC2",
    "ManualClock",
    "PairTopology",
    "build_pair",
]
