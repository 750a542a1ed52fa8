"""The EC2 errors the simulator raises, with EC2's codes and wording.

They are moto's EC2ClientError, raised inside moto's request handling, so moto serialises
them as EC2's XML error body and botocore parses them (and, for throttling, retries them)
exactly as it would a response from AWS. moto always answers HTTP 400; EC2 answers
throttling and server-side faults with 5xx (RequestLimitExceeded is a 503), so the
request gate corrects the status of the errors it injects.
"""

from __future__ import annotations

from moto.ec2.exceptions import EC2ClientError

REQUEST_LIMIT_EXCEEDED = "RequestLimitExceeded"

DEFAULT_MESSAGES = {
    REQUEST_LIMIT_EXCEEDED: "Request limit exceeded.",
    "InternalError": "An internal error has occurred.",
    "Unavailable": "The server is overloaded and can't handle the request.",
    "UnauthorizedOperation": "You are not authorized to perform this operation.",
}


# HTTP status EC2 uses for the codes that are not client errors.
HTTP_STATUS = {
    REQUEST_LIMIT_EXCEEDED: 503,
    "InternalError": 500,
    "Unavailable": 503,
}


def http_status(code: str) -> int:
    return HTTP_STATUS.get(code, 400)


def ec2_error(code: str, message: str | None = None) -> EC2ClientError:
    return EC2ClientError(code, message or DEFAULT_MESSAGES.get(code, f"Simulated {code}."))


def request_limit_exceeded() -> EC2ClientError:
    return ec2_error(REQUEST_LIMIT_EXCEEDED)


def zone_disrupted() -> EC2ClientError:
    # AWS documents that a describe touching a disrupted zone fails, not its code or
    # wording: a server error (HTTP 503 through HTTP_STATUS) is the plausible model.
    return ec2_error(
        "Unavailable", "The service is unavailable in an Availability Zone. Try again later."
    )


def interface_in_use(interface_id: str) -> EC2ClientError:
    return EC2ClientError("InvalidNetworkInterface.InUse", f"Interface: [{interface_id}] in use.")


def availability_zone_mismatch(
    interface_id: str, interface_az: str, instance_id: str, instance_az: str
) -> EC2ClientError:
    return EC2ClientError(
        "InvalidParameterCombination",
        "You may not attach a network interface to an instance if they are not in the same "
        f"availability zone (network interface {interface_id} is in {interface_az}, "
        f"instance {instance_id} is in {instance_az}).",
    )


def device_index_in_use(
    instance_id: str, device_index: int, network_card_index: int = 0
) -> EC2ClientError:
    card = f" on network card '{network_card_index}'" if network_card_index else ""
    return EC2ClientError(
        "InvalidParameterValue",
        f"Instance '{instance_id}' already has an interface attached at device index "
        f"'{device_index}'{card}.",
    )


def no_such_network_card(
    instance_id: str, network_card_index: int, network_cards: int
) -> EC2ClientError:
    # EC2's code for a card index the instance type lacks; the wording is the simulator's.
    return EC2ClientError(
        "InvalidParameterValue",
        f"Network card index '{network_card_index}' is not valid for instance "
        f"'{instance_id}': its instance type has {network_cards} network card(s).",
    )


def incorrect_instance_state(instance_id: str) -> EC2ClientError:
    return EC2ClientError(
        "IncorrectInstanceState",
        f"The instance '{instance_id}' is not in a valid state for this operation.",
    )


def multiple_interfaces(instance_id: str) -> EC2ClientError:
    # ModifyInstanceAttribute's Groups apply to "the instance", which EC2 accepts only when
    # one interface makes that unambiguous.
    return EC2ClientError(
        "InvalidInstanceID",
        f"There are multiple interfaces attached to instance '{instance_id}'. Please specify "
        "an interface ID for the operation instead.",
    )


def unpaginated_interface_describe() -> EC2ClientError:
    # AWS documents that this call "fails" in an account with many interfaces, not with
    # which code; this one is a plausible model, and the failover relies on no code at all.
    return EC2ClientError(
        "UnsupportedOperation",
        "This account has too many network interfaces to describe without pagination: use "
        "MaxResults and NextToken, NetworkInterfaceIds, or an indexed filter "
        "(attachment.instance-id, group-id, mac-address, private-dns-name, "
        "private-ip-address, subnet-id or vpc-id).",
    )


def ids_with_max_results() -> EC2ClientError:
    return EC2ClientError(
        "InvalidParameterCombination",
        "The parameter NetworkInterfaceIds cannot be used with the parameter maxResults",
    )


def route_not_found(cidr: str) -> EC2ClientError:
    # ReplaceRoute on a destination the table has no route for. AWS's own answer, checked
    # against EC2 by moto's maintainers (moto PR 6425): InvalidParameterValue with this
    # wording, not the InvalidRoute.NotFound that DeleteRoute answers.
    return EC2ClientError(
        "InvalidParameterValue",
        f"There is no route defined for '{cidr}' in the route table. Use CreateRoute instead.",
    )


def different_networks(route_table_id: str, target: str) -> EC2ClientError:
    # EC2's wording for a route target outside the table's VPC (as it answers for a
    # gateway); `target` names it, e.g. "network interface eni-...".
    return EC2ClientError(
        "InvalidParameterValue",
        f"route table {route_table_id} and {target} belong to different networks",
    )


def private_ip_not_on_interface(private_ip: str, interface_id: str) -> EC2ClientError:
    # AssociateAddress's PrivateIpAddress must be one of the interface's own addresses;
    # EC2's code, the simulator's wording.
    return EC2ClientError(
        "InvalidParameterValue",
        f"The private IP address {private_ip} is not assigned to network interface {interface_id}.",
    )


def address_outside_subnet(private_ip: str, subnet_id: str) -> EC2ClientError:
    return EC2ClientError(
        "InvalidParameterValue",
        f"Address {private_ip} does not fall within the subnet's address range ({subnet_id}).",
    )


def reserved_address(private_ip: str, subnet_id: str) -> EC2ClientError:
    # AWS reserves a subnet's first four addresses and its last (VPC User Guide).
    return EC2ClientError(
        "InvalidParameterValue",
        f"Address {private_ip} is in subnet's reserved address range ({subnet_id}).",
    )


def address_already_assigned(private_ip: str, interface_id: str) -> EC2ClientError:
    # AWS documents that an address in use needs AllowReassignment, not the error without
    # it: InvalidParameterValue is what EC2 has been reported to answer; the wording is ours.
    return EC2ClientError(
        "InvalidParameterValue",
        f"Address {private_ip} is already assigned to network interface {interface_id}; "
        "set AllowReassignment to move it.",
    )


def primary_address(private_ip: str, interface_id: str) -> EC2ClientError:
    # An interface's primary private IP stays with it for its lifetime; only secondary
    # addresses can be reassigned. EC2's code, the simulator's wording.
    return EC2ClientError(
        "InvalidParameterValue",
        f"Address {private_ip} is the primary private IP address of network interface "
        f"{interface_id} and cannot be reassigned.",
    )
