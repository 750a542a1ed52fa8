"""Packing the ARNs of every pair into managed policies (resource_policies.pack): each
document fits IAM's 6,144 characters, 200 pairs fit the 10 a role takes, and nothing is lost,
repeated or reordered on the way."""

from __future__ import annotations

import json

from eni_failover_cdk.resource_policies import (
    MANAGED_POLICIES_PER_ROLE,
    MANAGED_POLICY_CHARACTERS,
    ResourceGrant,
    arn_length,
    pack,
)

MOVE_ACTIONS = ("ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface")
# The longest ARN prefix AWS gives: a partition, a Region name and an account ID at their
# longest today, so that a rendered document is at least as long as any deployed one.
LONGEST_PREFIX = "arn:aws-iso-b:ec2:ap-southeast-5:123456789012"


def pairs_grant(count: int, *, interfaces: int = 1) -> ResourceGrant:
    """Attach and detach on ``count`` pairs' two instances and their interfaces, as the
    failover function's grant lists them: the instances, then the interfaces."""
    instances = [f"i-{n:017x}" for n in range(2 * count)]
    enis = [f"eni-{n:017x}" for n in range(interfaces * count)]
    return ResourceGrant(
        sid="MoveConfiguredInterfaces",
        actions=MOVE_ACTIONS,
        resources=(
            *(("instance", i) for i in instances),
            *(("network-interface", i) for i in enis),
        ),
    )


def flattened(documents: list[list[ResourceGrant]]) -> list[tuple[str, tuple[str, ...], str, str]]:
    """Every (sid, actions, resource type, resource ID), document after document."""
    return [
        (grant.sid, grant.actions, kind, resource_id)
        for document in documents
        for grant in document
        for kind, resource_id in grant.resources
    ]


def ungrouped(grants: list[ResourceGrant]) -> list[tuple[str, tuple[str, ...], str, str]]:
    return [
        (g.sid, g.actions, kind, resource_id) for g in grants for kind, resource_id in g.resources
    ]


def rendered(document: list[ResourceGrant]) -> str:
    """The document as IAM measures it (no whitespace), every ARN at its longest."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": grant.sid,
                    "Effect": "Allow",
                    "Action": list(grant.actions),
                    "Resource": [f"{LONGEST_PREFIX}:{kind}/{i}" for kind, i in grant.resources],
                }
                for grant in document
            ],
        },
        separators=(",", ":"),
    )


def test_200_pairs_with_one_interface_fit_the_managed_policies_a_role_takes() -> None:
    # Given 200 pairs' move grant: 400 instances and 200 interfaces
    grant = pairs_grant(200)
    assert len(grant.resources) == 600
    # When it is packed
    documents = pack([grant])
    # Then the documents are at most the 10 IAM attaches to a role, and more than one:
    # 600 ARNs never fit one policy
    assert 1 < len(documents) <= MANAGED_POLICIES_PER_ROLE


def test_every_document_stays_under_the_managed_policy_limit() -> None:
    # Given more pairs than a role's policies hold, and a second grant behind them
    fence = ResourceGrant(
        sid="StopFailedPrimary",
        actions=("ec2:StopInstances",),
        resources=tuple(("instance", f"i-{n:017x}") for n in range(400)),
    )
    documents = pack([pairs_grant(300, interfaces=2), fence])
    # Then each document's estimated size stays under IAM's limit
    for document in documents:
        estimated = sum(arn_length(*r) for grant in document for r in grant.resources)
        assert estimated < MANAGED_POLICY_CHARACTERS
        # And so does the document itself, written out with the longest ARNs
        assert len(rendered(document)) <= MANAGED_POLICY_CHARACTERS
    # And a document holds one statement for each grant it carries a part of, each with
    # resources
    for document in documents:
        sids = [grant.sid for grant in document]
        assert len(sids) == len(set(sids))
        assert all(grant.resources for grant in document)


def test_no_arn_is_lost_or_repeated_and_the_order_is_kept() -> None:
    # Given two grants, the second starting where the first's last document is part full
    grants = [
        pairs_grant(200, interfaces=2),
        ResourceGrant(
            sid="IsolateFailedPrimary",
            actions=("ec2:ModifyInstanceAttribute",),
            resources=tuple(("instance", f"i-{n:017x}") for n in range(150)),
        ),
    ]
    # When they are packed
    documents = pack(grants)
    # Then, read document after document, they are every ARN of each grant, once, with its
    # grant's statement ID and actions, in the order given
    assert len(documents) > 1
    assert flattened(documents) == ungrouped(grants)


def test_a_grant_that_fits_is_one_document_unchanged() -> None:
    # Given one pair's grant
    grant = pairs_grant(1, interfaces=2)
    # Then it is packed as it is, in one document
    assert pack([grant]) == [[grant]]
    assert pack([]) == []
