"""`python -m bench`: run the benchmarks, write docs/benchmarks.md, print its tables."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import noise_report, scale_report, service_report
from bench.report import render
from bench.run import run_all, run_noise_only, run_scale_only, run_service_only
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
    parser.add_argument(
        "--only",
        choices=["service", "scale", "noise"],
        help="run one part and update its summary line and section in the report already "
        "written: 'service' is the service-stop end-to-end runs of every move kind and the "
        "false-failover soak (section 7), 'scale' the "
        "pairs failing at once (section 5), 'noise' a wave of unrelated stops (section 8)",
    )
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    settings = BenchSettings.quick() if args.quick else BenchSettings.full()
    if args.runs is not None:
        settings = settings.with_runs(args.runs)

    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"  [{time.monotonic() - started:6.1f} s] {line}", file=sys.stderr, flush=True)

    if args.only == "service":
        return _service_only(settings, progress, args.out)
    if args.only == "scale":
        return _scale_only(settings, progress, args.out)
    if args.only == "noise":
        return _noise_only(settings, progress, args.out)
    results = run_all(settings, progress)
    report = render(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


def _service_only(settings: BenchSettings, progress: Callable[[str], None], out: Path) -> int:
    if not out.exists():
        print(f"{out} does not exist: run the whole benchmark first", file=sys.stderr)
        return 2
    result = run_service_only(settings, progress)
    out.write_text(service_report.splice(out.read_text(), result))
    print(service_report.section(result, apart=True))
    print(f"\n{service_report.summary_line(result, apart=True)}")
    if result.soak is not None:
        print(f"\n{service_report.soak_line(result.soak, apart=True)}")
    print(f"\nupdated {out}", file=sys.stderr)
    return 0


def _scale_only(settings: BenchSettings, progress: Callable[[str], None], out: Path) -> int:
    if not out.exists():
        print(f"{out} does not exist: run the whole benchmark first", file=sys.stderr)
        return 2
    measured_at = datetime.now(UTC)
    result = run_scale_only(settings, progress)
    out.write_text(scale_report.splice(out.read_text(), result, measured_at))
    print(scale_report.section(result, measured_at=measured_at))
    print(f"\n{scale_report.summary_line(result, measured_at=measured_at)}")
    print(f"\nupdated {out}", file=sys.stderr)
    return 0


def _noise_only(settings: BenchSettings, progress: Callable[[str], None], out: Path) -> int:
    if not out.exists():
        print(f"{out} does not exist: run the whole benchmark first", file=sys.stderr)
        return 2
    result = run_noise_only(settings, progress)
    out.write_text(noise_report.splice(out.read_text(), result))
    print(noise_report.section(result))
    print(f"\n{noise_report.summary_line(result)}")
    print(f"\nupdated {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
