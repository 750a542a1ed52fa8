"""Synth of a fleet: how long `npx cdk synth` takes, and what the template holds, for 1, 50
and 200 pairs (issue 13: one stack of hundreds of pairs, well inside CloudFormation's
limits). Writes docs/fleet-benchmark.md.

`python -m bench.synth_time` measures; `python -m bench.synth_time --context N` prints the
`pairs` context of N sample pairs, for `npx cdk synth -c pairs=...` (the Makefile's fleet
synth, which cdk-nag and cfn-lint check in `make test`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eni_failover.config import CONFIG_FILE_NAME

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "fleet-benchmark.md"
SIZES = (1, 50, 200)
RUNS = 3
# CloudFormation's limits the report measures against.
RESOURCE_LIMIT = 500
TEMPLATE_LIMIT_BYTES = 1_000_000  # a template uploaded through S3, as cdk deploy does
OUTPUT_LIMIT = 200


def fleet_context(count: int) -> list[dict[str, Any]]:
    """`count` sample pairs, one floating interface each, as a cdk.json `pairs` list."""
    return [
        {
            "name": f"nat-{index:03d}",
            "primaryInstanceId": f"i-{index:017x}",
            "standbyInstanceId": f"i-{index + 0x100000:017x}",
            "eniIds": [f"eni-{index:017x}"],
        }
        for index in range(1, count + 1)
    ]


@dataclass(frozen=True)
class Synth:
    pairs: int
    seconds: tuple[float, ...]
    resources: Counter[str]
    template_bytes: int
    outputs: int
    config_bytes: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def synth(count: int) -> Synth:
    seconds = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="eni-failover-fleet-") as out:
            started = time.monotonic()
            subprocess.run(  # noqa: S603 - the pinned CDK CLI on our own app
                [  # noqa: S607 - npx from PATH, as `make synth` runs it
                    "npx",
                    "cdk",
                    "synth",
                    "--quiet",
                    "--output",
                    out,
                    "-c",
                    "notifyEmail=ops@example.com",
                    "-c",
                    f"pairs={json.dumps(fleet_context(count))}",
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
                env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
            )
            seconds.append(time.monotonic() - started)
            path = Path(out) / "EniFailover.template.json"
            template = json.loads(path.read_text())
            configs = list(Path(out).glob(f"asset.*/{CONFIG_FILE_NAME}"))
            result = Synth(
                pairs=count,
                seconds=(),
                resources=Counter(r["Type"] for r in template["Resources"].values()),
                template_bytes=path.stat().st_size,
                outputs=len(template.get("Outputs", {})),
                config_bytes=configs[0].stat().st_size if configs else 0,
            )
    return Synth(
        pairs=count,
        seconds=tuple(seconds),
        resources=result.resources,
        template_bytes=result.template_bytes,
        outputs=result.outputs,
        config_bytes=result.config_bytes,
    )


def report(results: list[Synth]) -> str:
    largest = results[-1]
    lines = [
        "# Fleet synth: one stack, hundreds of pairs",
        "",
        f"`python -m bench.synth_time` (part of `make bench`): `npx cdk synth` with cdk-nag, "
        f"{RUNS} runs per size on this machine, sample pairs of one floating interface each.",
        "",
        "| pairs | synth (median) | runs | resources | of which alarms | managed policies "
        "| template | outputs | pairs file |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        lines.append(
            f"| {result.pairs} | {result.median:.1f} s | "
            f"{', '.join(f'{s:.1f}' for s in result.seconds)} | "
            f"{sum(result.resources.values())} | {result.resources['AWS::CloudWatch::Alarm']} | "
            f"{result.resources['AWS::IAM::ManagedPolicy']} | "
            f"{result.template_bytes / 1000:.0f} KB | {result.outputs} | "
            f"{result.config_bytes / 1000:.1f} KB |"
        )
    lines += [
        "",
        f"At {largest.pairs} pairs the stack has {sum(largest.resources.values())} resources "
        f"of CloudFormation's {RESOURCE_LIMIT}, a {largest.template_bytes / 1000:.0f} KB "
        f"template of its {TEMPLATE_LIMIT_BYTES // 1000} KB, and {largest.outputs} outputs "
        f"of its {OUTPUT_LIMIT}. Per pair it adds one resource, the alarm on the primary's "
        "status checks, and every 85 or so pairs a state-change rule that lists their "
        "primaries (EventBridge's 2,048-character pattern); the function, the topics and the "
        "dashboard are shared. The pairs travel in a file of the function's code "
        f"({CONFIG_FILE_NAME}), not in its 4 KB environment. Attach and detach stay limited "
        "to the pairs' instance and interface ARNs, packed into customer-managed policies "
        "of IAM's 6,144 characters (10 a role by default: about 220 single-interface pairs; "
        "beyond, split the stack or declare pairs by tags).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--context", type=int, metavar="N", help="print N pairs' context")
    args = parser.parse_args()
    if args.context:
        print(json.dumps(fleet_context(args.context)))
        return
    results = []
    for count in SIZES:
        result = synth(count)
        print(f"synth of {count} pairs: median {result.median:.1f} s", flush=True)
        results.append(result)
    REPORT.write_text(report(results))
    print(f"wrote {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
