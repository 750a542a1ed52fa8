"""`python -m bench.address_report`: measure the address kinds (bench.addresses) and write
their summary lines and section into docs/benchmarks.md, leaving the rest of it as it was.

`make bench` runs it after `python -m bench`, which writes the report it adds to.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.addresses import AddressResult, AddressWave, KindResult, run_addresses
from bench.lab import median, open_lab, worst
from bench.settings import BenchSettings
from bench.splicing import splice_part

DEFAULT_OUT = Path("docs/benchmarks.md")
SECTION_START = "## 9. Address kinds"
BEFORE = "## What these numbers are not"
WAVE_LINE = "Address wave:"
# The line this report gave the service stopping per kind, before section 7 measured every
# kind on one line ("Service stops answering:"): taken out of an earlier report.
STOPS_LINE = "Service stops answering, per address kind:"
EC2SIM = Path(__file__).resolve().parent.parent / "eni_failover_ec2sim"
DESCRIBES = {"route": "DescribeRouteTables", "elastic-ip": "DescribeAddresses"}


def summary_lines(result: AddressResult) -> list[str]:
    """One line per kind, each starting "<kind> moved:", then the wave's."""
    return [*(_kind_line(k, result) for k in result.kinds), _wave_line(result)]


def _kind_line(kind: KindResult, result: AddressResult) -> str:
    head = f"{kind.kind.title} moved:"
    if kind.skipped is not None or not kind.runs:
        return f"{head} not measured: {kind.skipped or 'no runs'}."
    usable, floor = kind.values(lambda r: r.usable), kind.values(lambda r: r.floor)
    over = kind.values(lambda r: r.overshoot)
    where = "in the other zone" if kind.kind.crosses_zones else "in the same subnet"
    delay = result.delays.of(kind.kind.key)
    describe = DESCRIBES.get(kind.kind.key, "DescribeNetworkInterfaces")
    return (
        f"{head} usable on the standby ({where}) {median(usable):.2f} s after the trigger "
        f"(median of {len(usable)}, worst {worst(usable):.2f} s), {median(over):.3f} s over "
        f"its floor of {median(floor):.2f} s (one call, plus {describe}'s {delay:g} s delay); "
        f"the function's describe verified it at {median(kind.values(lambda r: r.verified)):.2f} s "
        "(section 9)."
    )


def _wave_line(result: AddressResult) -> str:
    wave, alone = result.wave, result.alone
    return (
        f"{WAVE_LINE} {wave.pairs} pairs across zones (a /32 route and an Elastic IP each) "
        f"failing at once: the last pair's addresses usable on its standby {wave.last:.2f} s "
        f"after the triggers, against {alone.last:.2f} s for one pair alone; "
        f"{sum(wave.ec2_requests.values())} EC2 requests, {sum(wave.throttled.values())} "
        f'throttled; every address moved once and every pair told "swapped" once'
        f"{_failed_first(wave)} (section 9)."
    )


def _failed_first(wave: AddressWave) -> str:
    if not wave.failures:
        return ""
    return (
        f', {len(wave.failures)} of them told "failed" first, then moved by Lambda\'s '
        f"retry ({wave.lambda_retries} retries; the first: {wave.failures[0]})"
    )


def ec2sim_version() -> str:
    """The simulator's code as run: its last commit, when git knows it, and a digest."""
    digest = hashlib.sha256()
    for path in sorted(EC2SIM.glob("*.py")):
        digest.update(path.read_bytes())
    commit = ""
    try:
        found = subprocess.run(
            ["git", "log", "-1", "--format=%h %cs", "--", "."],  # noqa: S607
            cwd=EC2SIM,
            capture_output=True,
            text=True,
            check=False,
        )
        commit = found.stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "."],  # noqa: S607
            cwd=EC2SIM,
            capture_output=True,
            text=True,
            check=False,
        )
        if commit and changed.stdout.strip():
            commit += " with local changes"
    except OSError:
        pass
    return (f"commit {commit}, " if commit else "") + f"sources sha256 {digest.hexdigest()[:12]}"


def section(result: AddressResult, *, version: str) -> str:
    d = result.delays
    lines = [
        f"{SECTION_START}: routes, Elastic IPs and secondary IPs against their floor",
        "",
        f"Measured on its own by `python -m bench.address_report` on "
        f"{result.started_at:%Y-%m-%d %H:%M} UTC (the moves and the wave in "
        f"{result.seconds:.0f} s; 1-minute load average {result.load[0]:.1f} at the start, "
        f"{result.load[1]:.1f} at the end), with "
        f"ec2sim at {version}.",
        "",
        "From the handler receiving the trigger (the SNS event of the pair's status-check alarm, "
        "the primary's instance check impaired, given to the real Dispatcher: idempotency, "
        "lease, decision, move, verification, notification) to the address usable on the "
        'standby\'s primary interface. "Usable" is the physical moment: when EC2 accepted the '
        "move's one call (ReplaceRoute, AssociateAddress, AssignPrivateIpAddresses), plus the "
        "delay the simulator gives the describe that shows it, read off the simulator. Routes "
        "and Elastic IPs cross zones: those pairs have the primary in us-east-1a and the standby "
        "in us-east-1b. A secondary IP moves only within its subnet.",
        "",
        "The floor is what no implementation could beat here: the one call (one round trip at "
        f"the median, {result.round_trip * 1000:.1f} ms, DescribeNetworkInterfaces as in "
        "section 1) plus the describe delay. Reading where the address is first costs at "
        "least another round trip, which the floor leaves out.",
        "",
        f"Describe delays: {d.describe()}.",
        "",
        "| Kind | Runs | Floor (median) | Usable: median | worst | Overshoot: median | worst "
        "| Function verified it | Handler returned |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in result.kinds:
        if kind.skipped is not None or not kind.runs:
            lines.append(
                f"| {kind.kind.title} | 0 | not measured (below) | - | - | - | - | - | - |"
            )
            continue
        usable, over = kind.values(lambda r: r.usable), kind.values(lambda r: r.overshoot)
        floor = median(kind.values(lambda r: r.floor))
        lines.append(
            f"| {kind.kind.title} | {len(kind.runs)} | {floor:.2f} s "
            f"| {median(usable):.2f} s | {worst(usable):.2f} s | {median(over):.3f} s "
            f"| {worst(over):.3f} s | {median(kind.values(lambda r: r.verified)):.2f} s "
            f"| {median(kind.values(lambda r: r.returned)):.2f} s |"
        )
    lines += [f"\n{k.kind.title}: not measured: {k.skipped}." for k in result.kinds if k.skipped]
    lines += [
        "",
        "### Pairs across zones failing at once",
        "",
        f"{result.wave.pairs} pairs of one deployment, each a /32 route in its own route table "
        "and an Elastic IP, the primaries in us-east-1a and the standbys in us-east-1b, fail at "
        "once: every alarm fires, and one invocation per alarm runs concurrently in its own "
        "sandbox (a thread with its own clients), sharing nothing but AWS. The simulator "
        "applies EC2's request buckets, full size, one per action (section 5's, plus "
        "ReplaceRoute, AssociateAddress and AssignPrivateIpAddresses as mutating actions, 50 "
        "tokens refilled at 5/s, and DescribeRouteTables and DescribeAddresses, called with IDs "
        "and no filter, as unfiltered describes, 50 tokens refilled at 10/s). Time runs at its "
        "own speed (not slowed as in section 5), so this machine's share is in the numbers. "
        "An invocation that fails after botocore's retries is retried after 1 s, where Lambda "
        "would wait about a minute.",
        "",
        "| Run | Pairs | Last usable on its standby | Median | Last handler returned "
        "| EC2 requests | Throttled | Lambda retries |",
        "|---|---|---|---|---|---|---|---|",
        _wave_row("one pair alone", result.alone),
        _wave_row("the wave", result.wave),
        "",
        "The wave's calls, as the functions asked them (botocore's attempts, throttled ones "
        f"retried, in brackets): {_calls(result.wave)}.",
        "",
        "The service stopping for each kind, from its last answer to the address usable on "
        "the standby, is in section 7, with the interface's.",
    ]
    return "\n".join(lines)


def _wave_row(title: str, wave: AddressWave) -> str:
    return (
        f"| {title} | {wave.pairs} | {wave.last:.2f} s | {median(list(wave.usable)):.2f} s "
        f"| {max(wave.returned):.2f} s | {sum(wave.ec2_requests.values())} "
        f"| {sum(wave.throttled.values())} | {wave.lambda_retries} |"
    )


def _calls(wave: AddressWave) -> str:
    ec2 = Counter({k: v for k, v in wave.calls.items() if k.startswith("ec2:")})
    return ", ".join(
        f"{name.removeprefix('ec2:')} {count} ({wave.attempts.get(name, count)})"
        for name, count in sorted(ec2.items())
    )


def splice(report: str, result: AddressResult, *, version: str) -> str:
    """The report with the address kinds' summary lines and section replaced (or added)."""
    # The lines of an earlier run go first, so that the new ones read as one block, in order.
    starts = (*(f"{k.kind.title} moved:" for k in result.kinds), WAVE_LINE, STOPS_LINE)
    kept = report.splitlines()
    for at in reversed([i for i, line in enumerate(kept) if line.startswith(starts)]):
        del kept[at : at + (2 if at + 1 < len(kept) and not kept[at + 1] else 1)]
    text = "\n".join(kept) + "\n"
    body = section(result, version=version)
    # Each new line goes right under "## Summary": the last first, so they read in order.
    for line in reversed(summary_lines(result)):
        start = line.split(":", 1)[0] + ":"
        text = splice_part(
            text,
            summary_starts=(start,),
            summary=line,
            section_start=SECTION_START,
            section=body,
            before=BEFORE,
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.address_report", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report to add to")
    parser.add_argument("--quick", action="store_true", help="fewer runs: a smoke run")
    args = parser.parse_args(argv)
    if not args.out.exists():
        print(f"{args.out} does not exist: run `python -m bench` first", file=sys.stderr)
        return 2
    settings = BenchSettings.quick() if args.quick else BenchSettings.full()
    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"  [{time.monotonic() - started:6.1f} s] {line}", file=sys.stderr, flush=True)

    with open_lab() as lab:
        result = run_addresses(lab, settings, progress)
    version = ec2sim_version()
    args.out.write_text(splice(args.out.read_text(), result, version=version))
    print(section(result, version=version))
    print("\n" + "\n".join(summary_lines(result)))
    print(f"\nupdated {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
