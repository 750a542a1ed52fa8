"""Interface endpoints that keep the prober's route to AWS off the pairs it watches.

A Lambda function in a VPC reaches AWS APIs only through the VPC's routes. When the
watched pair is the NAT the subnets route through, its failure would also cut the prober
off from Lambda and SNS (its triggers), CloudWatch (its heartbeat) and DynamoDB (its
lease), exactly when it has something to say. With these endpoints those calls stay inside the VPC.

The endpoints are private to the prober: private DNS stays off, because it would send every
client in the VPC to endpoints that only the prober's security group may reach. The prober
is pointed at them instead through boto3's per-service endpoint variables
(AWS_ENDPOINT_URL_<SERVICE>), which eni_failover.clients honours.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

HTTPS = 443
# Each endpoint: the AWS service, and the variable boto3 reads for that service's endpoint.
ENDPOINT_SERVICES: tuple[tuple[str, ec2.InterfaceVpcEndpointAwsService, str], ...] = (
    # The trigger's first way to the failover function (eni_failover.functions).
    ("Lambda", ec2.InterfaceVpcEndpointAwsService.LAMBDA_, "AWS_ENDPOINT_URL_LAMBDA"),
    ("Sns", ec2.InterfaceVpcEndpointAwsService.SNS, "AWS_ENDPOINT_URL_SNS"),
    (
        "Monitoring",
        ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
        "AWS_ENDPOINT_URL_CLOUDWATCH",
    ),
    ("Ec2", ec2.InterfaceVpcEndpointAwsService.EC2, "AWS_ENDPOINT_URL_EC2"),
    ("DynamoDb", ec2.InterfaceVpcEndpointAwsService.DYNAMODB, "AWS_ENDPOINT_URL_DYNAMODB"),
)


def regional_url(endpoint: ec2.InterfaceVpcEndpoint) -> str:
    """https:// and the endpoint's regional DNS name.

    DnsEntries lists "hosted-zone-id:dns-name" entries, the regional name first (then the
    zonal ones), so the first entry's name serves from every subnet of the endpoint.
    """
    first = Fn.select(0, endpoint.vpc_endpoint_dns_entries)
    return "https://" + Fn.select(1, Fn.split(":", first))


class ProberEndpoints(Construct):
    """Lambda, SNS, CloudWatch, EC2 and DynamoDB interface endpoints, reachable by the prober
    only."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        clients: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="ENI Failover prober endpoints: HTTPS from the prober only",
            # An endpoint answers; it never opens a connection of its own.
            allow_all_outbound=False,
        )
        self.security_group.add_ingress_rule(
            clients, ec2.Port.tcp(HTTPS), "HTTPS from the ENI Failover prober"
        )
        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        # Environment variables that send the prober's clients to these endpoints.
        self.urls: dict[str, str] = {}
        for name, service, variable in ENDPOINT_SERVICES:
            endpoint = ec2.InterfaceVpcEndpoint(
                self,
                name,
                vpc=vpc,
                service=service,
                subnets=ec2.SubnetSelection(subnets=list(subnets)),
                security_groups=[self.security_group],
                private_dns_enabled=False,
                # No rule from the VPC's CIDR: only the security group above.
                open=False,
            )
            self.endpoints[name] = endpoint
            self.urls[variable] = regional_url(endpoint)
