"""The dashboard's widgets and the history's index, retention and permissions, as synthesized."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.settings import SettingsError, read_settings
from tests.infra.conftest import Synthesized, as_list, render, synthesize

# A probed pair and one that is not, in a stack of its own with a shorter retention.
CONTEXT: dict[str, Any] = {
    "stackName": "Shop",
    "pairs": [
        {
            "name": "web",
            "primaryInstanceId": "i-0aaaaaaaaaaaaaaa1",
            "standbyInstanceId": "i-0aaaaaaaaaaaaaaa2",
            "eniIds": ["eni-0aaaaaaaaaaaaaaa3"],
            "probe": "http://:8080/health",
        },
        {
            "name": "db",
            "primaryInstanceId": "i-0bbbbbbbbbbbbbbb1",
            "standbyInstanceId": "i-0bbbbbbbbbbbbbbb2",
            "eniIds": ["eni-0bbbbbbbbbbbbbbb3"],
        },
    ],
    "notifyEmail": "ops@example.com",
    "vpcId": "vpc-0123456789abcdef0",
    "probeSubnetIds": "subnet-0123456789abcdef0",
    "historyRetentionDays": "30",
}
OUTCOMES = ["swapped", "already-in-place", "refused", "failed"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(CONTEXT, tmp_path_factory.mktemp("shop"))


def widgets(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """The dashboard's widgets by title."""
    [dashboard] = synthesized.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.loads(render(dashboard["Properties"]["DashboardBody"]))
    return {w["properties"].get("title", ""): w["properties"] for w in body["widgets"]}


def metric(
    name: str, pair: str, stat: str, label: str, period: int = 300, *, function: bool = True
) -> list[Any]:
    """A metric as the dashboard's body gives it (CloudWatch's defaults, a period of 300 s
    and the average, left out)."""
    options: dict[str, Any] = {"label": label}
    if stat != "Average":
        options["stat"] = stat
    if period != 300:
        options["period"] = period
    # The function's metrics also carry the service (Powertools adds it); the prober's do not
    service = ["service", "eni-failover"] if function else []
    return ["Shop", name, "Pair", pair, *service, options]


def test_each_pair_has_its_outcomes_swap_seconds_and_readiness(shop: Synthesized) -> None:
    found = widgets(shop)
    for pair in ("web", "db"):
        # Outcomes over time, one line per kind, in the stack's namespace with the pair
        assert found[f"{pair}: outcomes"]["metrics"] == [
            metric(f"Outcome_{kind}", pair, "Sum", kind) for kind in OUTCOMES
        ]
        assert found[f"{pair}: swap seconds"]["metrics"] == [
            metric("SwapSeconds", pair, "Maximum", "longest"),
            metric("SwapSeconds", pair, "Average", "average"),
        ]
        assert found[f"{pair}: readiness (1 ready, 0 not)"]["metrics"] == [
            metric("ReadinessReady", pair, "Minimum", "ready", period=3600)
        ]


def test_only_the_probed_pair_has_a_probe_widget(shop: Synthesized) -> None:
    found = widgets(shop)
    probe = found["web: probe http://:8080/health"]
    assert probe["metrics"] == [
        metric("ProbeSuccess", "web", "Average", "success ratio", function=False),
        [
            *metric("ProbeLatency", "web", "p99", "latency p99 (ms)", function=False)[:4],
            {
                "label": "latency p99 (ms)",
                "stat": "p99",
                "yAxis": "right",
            },
        ],
    ]
    assert not [title for title in found if title.startswith("db: probe")]


def test_the_dead_letter_depth_is_the_stacks_queue(shop: Synthesized) -> None:
    queue = shop.logical_id(shop.stack.dead_letters.queue)
    assert widgets(shop)["Dead letters waiting"]["metrics"] == [
        [
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            f"${{{queue}.QueueName}}",
            {"period": 60, "stat": "Maximum"},
        ]
    ]


def test_the_function_and_the_prober_write_metrics_to_the_stacks_namespace(
    shop: Synthesized,
) -> None:
    function = shop.properties(shop.stack.failover.function)["Environment"]["Variables"]
    assert shop.stack.prober is not None
    prober = shop.properties(shop.stack.prober.function)["Environment"]["Variables"]
    assert function["POWERTOOLS_METRICS_NAMESPACE"] == "Shop"
    assert prober["POWERTOOLS_METRICS_NAMESPACE"] == "Shop"


def test_history_is_a_sparse_index_on_the_state_table_with_its_retention(
    shop: Synthesized,
) -> None:
    table = shop.properties(shop.stack.state.table)
    # One more index, no sort key on the table itself: a deployed table is updated in place
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert [
        {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        for index in table["GlobalSecondaryIndexes"]
    ] == [
        {
            "IndexName": "history",
            "KeySchema": [
                {"AttributeName": "history_pair", "KeyType": "HASH"},
                {"AttributeName": "history_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    variables = shop.properties(shop.stack.failover.function)["Environment"]["Variables"]
    assert variables["HISTORY_RETENTION_DAYS"] == "30"
    outputs = shop.template.to_json()["Outputs"]
    assert outputs["HistoryRetentionDays"]["Value"] == "30"


def test_the_function_may_only_read_and_write_items_of_the_state_table(
    shop: Synthesized,
) -> None:
    role = shop.logical_id(shop.stack.failover.role)
    statements = [
        s
        for policy in shop.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
    ]
    # Items only: no query, no scan, nothing on the index
    assert [(sorted(as_list(s["Action"])), as_list(s["Resource"])) for s in statements] == [
        (
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            [shop.arn(shop.stack.state.table)],
        )
    ]


@pytest.mark.parametrize("value", ["0", "ninety", "3651", 1.5])
def test_a_retention_out_of_range_stops_synth_naming_the_key(value: object) -> None:
    context = {**CONTEXT, "historyRetentionDays": value}
    with pytest.raises(SettingsError) as error:
        read_settings(context.get)
    assert any(p.startswith("historyRetentionDays: ") for p in error.value.problems)
    assert "a whole number of days from 1 to 3650" in str(error.value)


def test_the_retention_is_90_days_unless_set() -> None:
    context = {k: v for k, v in CONTEXT.items() if k != "historyRetentionDays"}
    assert read_settings(context.get).history_retention_days == 90
