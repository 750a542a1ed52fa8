"""Per-pair metrics: one EMF document each, in the stack's namespace, or nothing at all."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from eni_failover.observability import PairMetrics


def test_a_pair_metric_is_written_at_once_with_the_pair_as_its_dimension(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given metrics enabled in the stack's namespace
    pair_metrics = PairMetrics(namespace="Shop", enabled=True)
    # When an outcome is counted for pair web
    pair_metrics.put("Outcome_swapped", MetricUnit.Count, 1, pair="web")
    # Then one EMF document says so, with the pair and the function's service as dimensions
    document = json.loads(capsys.readouterr().out)
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Shop"
    assert directive["Dimensions"] == [["Pair", "service"]]
    assert directive["Metrics"] == [{"Name": "Outcome_swapped", "Unit": "Count"}]
    assert (document["Pair"], document["service"]) == ("web", "eni-failover")
    assert document["Outcome_swapped"] == [1.0]


def test_disabled_metrics_write_nothing_and_a_missing_namespace_fails_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    PairMetrics(namespace="Shop", enabled=False).put("SwapSeconds", MetricUnit.Seconds, 2, pair="w")
    PairMetrics(namespace=None, enabled=True).put("SwapSeconds", MetricUnit.Seconds, 2, pair="w")
    assert capsys.readouterr().out == ""


def test_the_cold_start_environment_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests' environment disables metrics, as the emulator's does
    assert PairMetrics.from_environment() == PairMetrics(namespace="EniFailover", enabled=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    assert PairMetrics.from_environment().enabled is True
