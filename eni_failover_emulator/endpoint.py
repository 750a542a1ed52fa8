"""How anything talks to the emulator: its endpoint, with credentials that are never real,
and the one account and region it emulates.

Light on purpose (boto3 only): the operator CLI imports it to reach a running sandbox
without loading moto or the function's code.
"""

from __future__ import annotations

import urllib.request

import boto3

from eni_failover.clients import AwsClients

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"

# Credentials moto accepts; never real ones, so nothing here can reach AWS.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def fake_session(region: str) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )


def emulator_clients(endpoint: str, region: str) -> AwsClients:
    """Clients on the emulator's endpoint with fake credentials."""
    return AwsClients(fake_session(region), region=region, endpoint_url=endpoint)


def moto_api(endpoint: str, action: str) -> None:
    """Ask the emulator itself: "reset" empties every account, "seed?a=N" fixes its IDs."""
    # Our own server on the loopback address, started a moment ago: http only.
    request = urllib.request.Request(f"{endpoint}/moto-api/{action}", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()
