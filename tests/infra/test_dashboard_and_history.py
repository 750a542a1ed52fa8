"""The dashboard's widgets and the history's index, retention and permissions, as synthesized."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from eni_failover_cdk.settings import SettingsError, read_settings
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


# A CloudWatch search expression: SEARCH('{"Namespace",Dim,...} term term', 'Stat', period)
SEARCH = re.compile(
    r"^SEARCH\('\{(?P<schema>[^}]*)\} (?P<terms>[^']*)', '(?P<stat>\w+)', (?P<period>\d+)\)$"
)
# The schema of the function's metrics (Powertools adds the service to the pair) and of the
# prober's (the pair only), each in the stack's namespace
FUNCTION_SCHEMA = '"Shop",Pair,service'
PROBER_SCHEMA = '"Shop",Pair'
FUNCTION_TERMS = ' service="eni-failover"'


def search(widget: dict[str, Any]) -> list[tuple[str, str, str, int, str]]:
    """Each line of a widget as the search it is: (schema, the terms after the schema, the
    statistic, the period, the axis). A fixed metric, which names one pair, fails here."""
    found = []
    for line in widget["metrics"]:
        [options] = line  # an expression, not a namespace, metric name and dimensions
        parsed = SEARCH.fullmatch(options["expression"])
        assert parsed is not None, options
        period = int(parsed["period"])
        # The graph asks for the period the search computes (CloudWatch's default is 300 s)
        assert options.get("period", 300) == period
        found.append(
            (
                parsed["schema"],
                parsed["terms"],
                parsed["stat"],
                period,
                options.get("yAxis", "left"),
            )
        )
    return found


def test_one_widget_a_measure_every_pair_a_line(shop: Synthesized) -> None:
    found = widgets(shop)
    # Outcomes over time, one search per kind, stacked: the failover function's metrics
    assert search(found["Outcomes, by pair"]) == [
        (FUNCTION_SCHEMA, f'MetricName="Outcome_{kind}"{FUNCTION_TERMS}', "Sum", 300, "left")
        for kind in OUTCOMES
    ]
    assert found["Outcomes, by pair"]["stacked"] is True
    # The longest swap each period
    assert search(found["Longest swap (seconds), by pair"]) == [
        (FUNCTION_SCHEMA, f'MetricName="SwapSeconds"{FUNCTION_TERMS}', "Maximum", 300, "left")
    ]
    # Readiness, checked hourly: the worst verdict of each hour, on a 0-1 axis
    readiness = found["Readiness (1 ready, 0 not), by pair"]
    assert search(readiness) == [
        (FUNCTION_SCHEMA, f'MetricName="ReadinessReady"{FUNCTION_TERMS}', "Minimum", 3600, "left")
    ]
    assert readiness["yAxis"]["left"] == {"min": 0, "max": 1}


def test_the_dashboard_names_no_pair_so_it_does_not_grow_with_them(
    shop: Synthesized, single_pair: Synthesized
) -> None:
    # Given the stack's two pairs, one probed
    [dashboard] = shop.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.loads(render(dashboard["Properties"]["DashboardBody"]))
    # Then its widgets are the fixed set, whatever the pairs, and no line names a pair: the
    # pair dimension is searched, so pairs discovered by tags show too
    assert [w["properties"].get("title", "") for w in body["widgets"]] == [
        "",
        "Dead letters waiting",
        "Outcomes, by pair",
        "Longest swap (seconds), by pair",
        "Readiness (1 ready, 0 not), by pair",
        "Probe success ratio and latency p99 (ms), by pair",
    ]
    # And a stack of one unprobed pair has the very same widgets
    assert list(widgets(single_pair)) == list(widgets(shop))
    lines = json.dumps([w["properties"].get("metrics", []) for w in body["widgets"]])
    assert '"Pair"' not in lines
    assert not [p["name"] for p in CONTEXT["pairs"] if f'"{p["name"]}"' in lines]


def test_the_probe_widget_searches_the_probers_metrics(shop: Synthesized) -> None:
    probe = widgets(shop)["Probe success ratio and latency p99 (ms), by pair"]
    # The success ratio on the left (0 to 1), the latency's p99 on the right; the prober's
    # metrics carry the pair only, so a schema with the service would find none of them
    assert search(probe) == [
        (PROBER_SCHEMA, 'MetricName="ProbeSuccess"', "Average", 300, "left"),
        (PROBER_SCHEMA, 'MetricName="ProbeLatency"', "p99", 300, "right"),
    ]
    assert probe["yAxis"]["left"] == {"min": 0, "max": 1}


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
