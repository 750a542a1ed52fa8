"""`python -m bench`: run the benchmarks, write docs/benchmarks.md, print its tables."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.report import render
from bench.run import run_all
from bench.settings import BenchSettings

DEFAULT_OUT = Path("docs/benchmarks.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per swap scenario (default 10; --quick 3)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs everywhere: a smoke run, not a report"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report to write")
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    settings = BenchSettings.quick() if args.quick else BenchSettings.full()
    if args.runs is not None:
        settings = settings.with_runs(args.runs)

    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"  [{time.monotonic() - started:6.1f} s] {line}", file=sys.stderr, flush=True)

    results = run_all(settings, progress)
    report = render(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
