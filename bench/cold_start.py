"""Cold start: importing the handler and serving a first event in fresh interpreters.

Each measurement is a new Python process, as a new Lambda sandbox is. The floor is the same
process importing only what the handler cannot do without: boto3 and the Powertools pieces
it uses (Logger, Metrics and Tracer created, as eni_failover.observability does). The first
event builds the dispatcher (settings, four clients) and fails over one pair against the
emulated endpoint with no EC2 latency, so its time is all code and round trips; a second
event in the same process shows what is left when warm.

The function's code is put first on PYTHONPATH, as Lambda puts /var/task, so the project's
editable install does not take part in the import.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eni_failover
from bench.lab import Lab, alarm_event, require
from bench.settings import BenchSettings
from eni_failover.config import CONFIG_FILE_NAME, ENV_CONFIG_FILE, FailoverConfig
from eni_failover_ec2sim import FaithfulEC2
from eni_failover_emulator.delivery import drain

# lambda/ in the repository: what Code.from_asset ships (eni_failover_cdk/failover_function.py).
LAMBDA_SOURCE = Path(eni_failover.__file__).resolve().parent.parent

_CHILD = r"""
import json, sys, time
mode = sys.argv[1]
result = {}
started = time.perf_counter()
if mode == "boto3":
    import boto3
elif mode == "floor":
    import boto3
    from botocore.config import Config
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function,
    )
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SnsModel
    from aws_lambda_powertools.utilities.typing import LambdaContext
    Logger(service="floor"); Metrics(service="floor"); Tracer(service="floor")
elif mode in ("handler", "first-event"):
    from eni_failover import handler
result["import"] = time.perf_counter() - started
if mode == "first-event":
    class Context:
        function_name = "eni-failover-bench"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:eni-failover-bench"
        def __init__(self, request_id):
            self.aws_request_id = request_id
        def get_remaining_time_in_millis(self):
            return 60000
    events = json.load(sys.stdin)
    for label, event in zip(("first", "second"), events):
        started = time.perf_counter()
        report = handler.lambda_handler(event, Context(label))
        result[label] = time.perf_counter() - started
        result[label + "-outcomes"] = [o["outcome"] for o in report["outcomes"]]
print(json.dumps(result))
"""


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    samples: tuple[float, ...]


@dataclass(frozen=True)
class AssetSize:
    files: int
    raw_bytes: int
    zipped_bytes: int


@dataclass(frozen=True)
class ColdStartResult:
    rows: tuple[Row, ...]
    asset: AssetSize
    repetitions: int

    def row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)


def asset_size() -> AssetSize:
    """lambda/ zipped as the CDK asset ships it (no __pycache__, no .pyc)."""
    files = sorted(
        p
        for p in LAMBDA_SOURCE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(LAMBDA_SOURCE))
    return AssetSize(
        files=len(files),
        raw_bytes=sum(p.stat().st_size for p in files),
        zipped_bytes=len(buffer.getvalue()),
    )


def _child(mode: str, environment: dict[str, str], stdin: str = "") -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", _CHILD, mode],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=LAMBDA_SOURCE.parent,
        timeout=120,
        check=False,
    )
    wall = time.monotonic() - started
    require(done.returncode == 0, f"cold-start child {mode!r} failed:\n{done.stderr[-2000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    require(bool(lines), f"cold-start child {mode!r} printed no result:\n{done.stdout[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return wall, result


def run_cold_start(
    lab: Lab, settings: BenchSettings, progress: Callable[[str], None]
) -> ColdStartResult:
    base = dict(os.environ)
    base["PYTHONPATH"] = str(LAMBDA_SOURCE)
    samples: dict[str, list[float]] = {
        key: [] for key in ("interpreter", "boto3", "floor", "handler", "first", "second")
    }
    for repetition in range(settings.cold_repetitions):
        # Round robin, so that a noisy moment hits every row alike.
        wall, _ = _child("interpreter", base)
        samples["interpreter"].append(wall)
        for mode in ("boto3", "floor", "handler"):
            _, result = _child(mode, base)
            samples[mode].append(float(result["import"]))
        first, second = _first_events(lab, base)
        samples["first"].append(first)
        samples["second"].append(second)
        progress(
            f"cold start {repetition + 1}/{settings.cold_repetitions}: handler import "
            f"{samples['handler'][-1]:.3f} s, first event {first:.3f} s, second {second:.3f} s"
        )
    titles = {
        "interpreter": "Python starts and exits (`python -c ''`, whole process)",
        "boto3": "import boto3",
        "floor": "Floor: import boto3 + the Powertools pieces the handler uses",
        "handler": "import eni_failover.handler",
        "first": "First event: build settings and clients, fail over one pair",
        "second": "Second event, same process (warm): fail over another pair",
    }
    return ColdStartResult(
        rows=tuple(Row(key, titles[key], tuple(values)) for key, values in samples.items()),
        asset=asset_size(),
        repetitions=settings.cold_repetitions,
    )


def _first_events(lab: Lab, base: dict[str, str]) -> tuple[float, float]:
    """One fresh process serving two alarms, each failing over its own pair."""
    lab.fresh_account()
    built = [lab.new_pair("cold") for _ in range(2)]
    pairs = tuple(pair for _, pair in built)
    # The environment the template gives the function, made quiet, and these pairs in the
    # file the stack would package beside the code.
    with tempfile.TemporaryDirectory(prefix="eni-failover-cold-") as package:
        packaged = Path(package) / CONFIG_FILE_NAME
        packaged.write_text(FailoverConfig(pairs=pairs).model_dump_json(), encoding="utf-8")
        environment = {**lab.resources.environment, **base, ENV_CONFIG_FILE: str(packaged)}
        events = json.dumps([alarm_event(pair) for pair in pairs])
        with FaithfulEC2() as sim:  # no latency: the time is the code's and the round trips'
            for topology, _ in built:
                sim.set_status(topology.primary_instance_id, instance="impaired")
            _, result = _child("first-event", environment, events)
            for topology, _ in built:
                require(
                    lab.where(topology.interface_id) == (topology.standby_instance_id, "attached"),
                    f"cold start: {topology.interface_id} did not reach the standby",
                )
    require(
        result.get("first-outcomes") == ["swapped"]
        and result.get("second-outcomes") == ["swapped"],
        f"cold start: unexpected outcomes {result}",
    )
    drain(lab.harness.sqs, lab.resources.inbox_queue_url)
    return float(result["first"]), float(result["second"])
