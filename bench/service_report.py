"""The service-stop part of docs/benchmarks.md: two summary lines ("Service stops
answering:" for every move kind, "False failovers:" for the soak) and section 7.

`python -m bench` renders them into the whole report; `python -m bench --only service`
measures this part alone and splices them into the report already written, saying so and
when, so the page never passes one run's numbers off as another's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.detection import SNS_DELIVERY, Stage, direct_delivery_stages
from bench.lab import median, worst
from bench.markdown import seconds, table
from bench.service_stop import (
    DELIVERY_POLL_SECONDS,
    INTERFACE,
    MOVE_KINDS,
    WAYS,
    MoveKind,
    ServiceStopResult,
    ServiceStopRun,
)
from bench.soak import SoakResult
from bench.splicing import splice_part
from eni_failover.config import Probing

SUMMARY_START = "Service stops answering:"
SOAK_START = "False failovers:"
SECTION_HEADING = "## 7. Service stops answering: end to end"

LAMBDA_COLD_START_DOCS = (
    "https://docs.aws.amazon.com/lambda/latest/operatorguide/execution-environments.html"
)
VRRP_DOCS = "https://www.rfc-editor.org/rfc/rfc5798#section-6.1"
ALTERNAT_DOCS = "https://github.com/chime/terraform-aws-alternat"
FCK_NAT_DOCS = "https://fck-nat.dev/"
# Lambda's published range for a cold start: "from under 100 ms to over 1 second".
COLD_START_LOW, COLD_START_HIGH = 0.1, 1.0


def _mid_worst(runs: Sequence[ServiceStopRun], pick: Callable[[ServiceStopRun], float]) -> str:
    values = [pick(run) for run in runs]
    return f"{seconds(median(values))} / {seconds(worst(values))}"


def probing_text(probing: Probing) -> str:
    """The probing as the settings object has it, whichever fields this version has."""
    text = (
        f"a probe every {probing.interval_seconds:g} s, {probing.timeout_seconds:g} s timeout, "
        f"{probing.failures} failures in a row"
    )
    confirm = _confirm_seconds(probing)
    if confirm is not None:
        text += f", the failures after the first confirmed {confirm:g} s apart"
    return text


def _confirm_seconds(probing: Probing) -> float | None:
    """The pause between the probes confirming a first failure, where Probing has one."""
    value = getattr(probing, "confirm_seconds", None)
    return float(value) if value is not None else None


def _measured_apart(result: ServiceStopResult) -> str:
    return (
        f"measured on its own, {result.started_at:%Y-%m-%d %H:%M} UTC "
        "(`python -m bench --only service`)"
    )


def _met(value: float, goal: float) -> str:
    return "met" if value <= goal else "not met"


def _kind_said(result: ServiceStopResult, kind: MoveKind) -> str:
    runs = result.of_kind(kind.key)
    if not runs:
        return f"{kind.label}: not measured ({result.skipped.get(kind.key, 'no runs')})"
    usable = [r.usable for r in runs]
    middle, most = median(usable), worst(usable)
    in_aws = middle + _aws_typical()
    return (
        f"{kind.label} {seconds(middle, 1)} / {seconds(most, 1)} (goal "
        f"{kind.goal_seconds:g} s: {_met(middle, kind.goal_seconds)}; with AWS's hops about "
        f"{seconds(in_aws, 1)}: {_met(in_aws, kind.goal_seconds)})"
    )


def summary_line(result: ServiceStopResult, *, apart: bool = False) -> str:
    """The one line the summary gives the stops, beginning SUMMARY_START."""
    counts = sorted({len(result.of_kind(k.key)) for k in result.kinds()})
    per_way = sorted({len(result.of(w.key, k.key)) for k in result.kinds() for w in WAYS})
    runs = "/".join(str(n) for n in counts) or "0"
    ways = " and ".join(f"{'/'.join(str(n) for n in per_way)} {w.key}" for w in WAYS)
    when = f"; {_measured_apart(result)}" if apart else ""
    return (
        f"{SUMMARY_START} from the service's last answer to the address usable on the "
        f"standby, median / worst of {runs} runs per kind ({ways}), with the default probing "
        f"({probing_text(result.probing)}): "
        + "; ".join(_kind_said(result, kind) for kind in MOVE_KINDS)
        + ". AWS's hops the emulator does not include (the prober's invoke of the function, "
        f"Lambda's queue and start) are modelled at about {seconds(_aws_typical(), 1)} "
        f"typically, at most {seconds(_aws_most(cold=False), 1)} with the function warm "
        f'(section 7, "What AWS adds, modelled"){when}.'
    )


def soak_line(soak: SoakResult, *, apart: bool = False) -> str:
    """The one line the summary gives the soak, beginning SOAK_START."""
    probing, failover = soak.probing, soak.failover
    p, failures = soak.lost, probing.failures
    when = "; measured on its own (`python -m bench --only service`)" if apart else ""
    return (
        f"{SOAK_START} {soak.triggers} triggers and {soak.moves} moves in "
        f"{soak.seconds / 60:.1f} minutes of a healthy probed pair ({soak.service_probes} "
        f"probes of its service; {probing_text(probing)}) behind a network losing "
        f"{soak.lost:.0%} of the probes and answering {soak.slow:.0%} at "
        f"{soak.slow_seconds:g} s, inside the timeout. By chance alone, with p = {p:g} lost "
        f"and F = {failures} failures, each first failure becomes a trigger with probability "
        f"p^(F-1) = {p ** (failures - 1):.2g}: {soak.expected_triggers():.2g} triggers expected "
        f"in this soak. Then the service stopped: the interface usable on the standby "
        f"{seconds(failover.usable, 1)} later (goal {soak.goal_seconds:g} s: "
        f"{_met(failover.usable, soak.goal_seconds)}) (section 7){when}."
    )


def _aws_typical() -> float:
    return sum(stage.typical for stage in direct_delivery_stages())


def _aws_most(*, cold: bool) -> float:
    most = sum(stage.high for stage in direct_delivery_stages())
    return most + (COLD_START_HIGH if cold else 0.0)


def _detach_said(result: ServiceStopResult) -> str:
    """What the function did with the primary's detach, as the runs observed it."""
    runs = result.of_kind(INTERFACE.key)
    if not runs:
        return ""
    forced = sum(1 for run in runs if run.forced)
    if forced == 0:
        return (
            f"In none of the {len(runs)} interface runs did the function force the detach "
            "(no DetachNetworkInterface with Force=True): a normal detach, with its latency."
        )
    if forced == len(runs):
        return (
            f"In every interface run ({len(runs)}) the function forced the detach (its "
            "DetachNetworkInterface had Force=True): the probe proved the service dead on the "
            "primary, so it did not wait for a normal detach."
        )
    return (
        f"In {forced} of the {len(runs)} interface runs the function forced the detach (its "
        "DetachNetworkInterface had Force=True); in the others, a normal detach."
    )


def section(result: ServiceStopResult, *, apart: bool = False) -> str:
    kinds = result.kinds()
    rows = []
    for kind in kinds:
        for way in WAYS:
            runs = result.of(way.key, kind.key)
            rows.append(
                [
                    kind.title,
                    way.title,
                    str(len(runs)),
                    _mid_worst(runs, lambda r: r.usable),
                    _mid_worst(runs, lambda r: r.detection),
                    _mid_worst(runs, lambda r: r.move),
                    "",
                ]
            )
        runs = result.of_kind(kind.key)
        middle = median([r.usable for r in runs])
        rows.append(
            [
                f"**{kind.title}**",
                "**both ways**",
                str(len(runs)),
                f"**{_mid_worst(runs, lambda r: r.usable)}**",
                _mid_worst(runs, lambda r: r.detection),
                _mid_worst(runs, lambda r: r.move),
                f"{kind.goal_seconds:g} s: {_met(middle, kind.goal_seconds)}",
            ]
        )
    measured = table(
        [
            "Kind",
            "How the service stops",
            "Runs",
            "Stopped -> usable on the standby: median / worst",
            "Detection (-> handler started)",
            "Move (-> usable)",
            "Goal (median)",
        ],
        rows,
    )
    skipped = "".join(
        f"\n\n{kind.title}: not measured: {result.skipped[kind.key]}."
        for kind in MOVE_KINDS
        if kind.key in result.skipped
    )
    when = (
        f"\n\nThis section was {_measured_apart(result)}, in {result.seconds / 60:.1f} "
        f"minutes (1-minute load average {result.load[0]:.1f} at the start, "
        f"{result.load[1]:.1f} at the end); the other sections come from the run the header "
        "names."
        if apart
        else ""
    )
    delays = result.delays.describe() if result.delays is not None else "none"
    soak = f"\n\n{_soak_section(result.soak)}" if result.soak is not None else ""
    return f"""{SECTION_HEADING}

From the moment the service on the primary stops answering, while EC2 calls the instance
healthy, to the pair's address usable on the standby, for each move kind: a floating
interface, a /32 route, an Elastic IP, a secondary IP. The prober's real loop probes a
loopback listener per instance with the stack's default probing:
{probing_text(result.probing)}.
Where it probes: the floating interface's private IP; the route's overlay IP (the host of
its /32); the secondary IP; and for an Elastic IP, which clients reach from outside the
VPC where the prober does not probe, the private IP of the instance holding it, which is
what the prober does for a pair of Elastic IPs only. The emulator delivers each address to
the instance holding it now, as the VPC would.
Its trigger goes through the stack's trigger topic to the function, and the address moves
on the faithful EC2 with the latencies of section 1 and the describe delays of section 9
({delays}). Each run lets the prober see the service answer, then stops the service at a
random moment in the probe cycle: a real failure lands anywhere in it.
Detection ends when the handler starts, as in section 6; the move ends when the address is
usable on the standby: an interface's physical attach (attach accepted plus its latency),
as in section 1; an address's call accepted plus its describe delay, as in section 9.
{_detach_said(result)} Every run is checked: one probe trigger, one move, one "swapped"
notification.{when}

{measured}{skipped}

Where the time goes (medians, seconds after the service stopped):

{_hops_table(result)}

{_why_detection_takes(result.probing)}

### What AWS adds, modelled

The emulator delivers the trigger in-process (through the emulated trigger topic: moto runs
no Lambda) and the function is warm. In AWS the prober invokes the function directly
(asynchronously, as SNS would, one hop fewer), and these come on top; AWS publishes no
latency for either, so those stages are assumptions, as in section 6. Only when Lambda does
not take the invoke does the trigger go through the topic, adding SNS's delivery (last row).

{_aws_table()}

{_in_aws(result)}

### Other tools' published detection times

Not measured here: what each tool's documentation or protocol gives for noticing a failure,
beside this project's measured detection.

{_tools_table(result)}{soak}"""


def _soak_section(soak: SoakResult) -> str:
    probing = soak.probing
    served = ", ".join(f"{name} {count}" for name, count in sorted(soak.served.items()))
    usable = soak.failover.usable
    failover = (
        f"{seconds(usable)} (goal {soak.goal_seconds:g} s: {_met(usable, soak.goal_seconds)})"
    )
    return f"""### False failovers: a healthy pair behind a lossy network

A pair with a floating interface (the kind with the longest goal), probed as above with the
stack's default probing ({probing_text(probing)}), stays healthy for
{soak.seconds / 60:.1f} minutes behind a network that loses {soak.lost:.0%} of the probes
reaching the primary (accepted, never answered: the prober waits out its timeout, as for a
hung service) and answers {soak.slow:.0%} of them after {soak.slow_seconds:g} s, inside the
{probing.timeout_seconds:g} s timeout, drawn at random from a seeded generator
(eni_failover_emulator.service.Loss). The function gets whatever SNS delivers, as above. Then the
service stops (its port closes) and the interface must move once, on the probe's trigger;
its time is given against the interface's goal. The benchmark fails if the soak sent one
trigger or moved anything.

| Soak | Value |
|---|---|
| Probes of the service | {soak.service_probes} |
| Connections the primary's listener got, by what it did | {served} |
| Probe triggers sent | {soak.triggers} |
| Invocations of the function | {soak.deliveries} |
| Moves (EC2 calls that moved an address) | {soak.moves} |
| Triggers expected by chance (below) | {soak.expected_triggers():.2g} |
| Then the service stopped: usable on the standby | {failover} |

The model: with p = {soak.lost:g} the share of probes lost and F = {probing.failures} the
failures that make a trigger, a probe is a first failure (lost, the one before answered)
with probability p(1-p), and it becomes a trigger only if the F - 1 probes that confirm it
are all lost too, p^(F-1) = {soak.lost ** (probing.failures - 1):.2g}. A round every
{probing.interval_seconds:g} s for {soak.seconds:.0f} s expects
{soak.expected_triggers():.2g} triggers. A slow answer inside the timeout is an answer."""


def _why_detection_takes(probing: Probing) -> str:
    interval, failures, timeout = (
        probing.interval_seconds,
        probing.failures,
        probing.timeout_seconds,
    )
    confirm = _confirm_seconds(probing)
    if confirm is None:
        earliest, latest = (failures - 1) * interval, failures * interval
        how = f"and the last {failures - 1} intervals after the first"
    else:
        earliest, latest = (failures - 1) * confirm, interval + (failures - 1) * confirm
        how = f"and the {failures - 1} that confirm it follow {confirm:g} s apart"
    return (
        f"The first failed probe comes up to one interval after the service stops, {how}: "
        f"detection takes {earliest:g} to {latest:g} s for a refused connection, plus the "
        f"{timeout:g} s timeout per probe for a hang. The rest is the trigger's publish, the "
        f"emulated delivery (polled every {DELIVERY_POLL_SECONDS * 1000:.0f} ms here) and the "
        "move."
    )


def _in_aws(result: ServiceStopResult) -> str:
    said = []
    for kind in result.kinds():
        usable = [r.usable for r in result.of_kind(kind.key)]
        typical = median(usable) + _aws_typical()
        said.append(
            f"{kind.label} typically about {seconds(typical, 1)} (goal "
            f"{kind.goal_seconds:g} s: {_met(typical, kind.goal_seconds)}), at most about "
            f"{seconds(worst(usable) + _aws_most(cold=False), 1)} with the function warm and "
            f"{seconds(worst(usable) + _aws_most(cold=True), 1)} if it starts cold"
        )
    return (
        "So in AWS, from the service's last answer to the address usable on the standby: "
        + "; ".join(said)
        + " (the median here plus each stage's typical; the worst here plus each stage's "
        "most). The failover function is rarely cold: the sweep invokes it every minute."
    )


def _hops_table(result: ServiceStopResult) -> str:
    failures = result.probing.failures

    def nth(number: int) -> Callable[[ServiceStopRun], float]:
        return lambda run: run.failed_probes[number] if number < len(run.failed_probes) else 0.0

    stages: list[tuple[str, Callable[[ServiceStopRun], float]]] = [
        ("the service stops answering", lambda _: 0.0),
        *((f"failed probe {n + 1} of {failures} starts", nth(n)) for n in range(min(failures, 3))),
        ("probe trigger sent to the trigger topic", lambda run: run.trigger_sent),
        ("handler started (SNS delivery, emulated)", lambda run: run.detection),
        ("the move's first call accepted by EC2", lambda run: run.moved),
        ("usable on the standby", lambda run: run.usable),
        ("handler returned (outcome notified)", lambda run: run.returned),
    ]
    columns = [(kind, way) for kind in result.kinds() for way in WAYS]
    return table(
        ["Hop", *(f"{kind.title}, {way.key}" for kind, way in columns)],
        [
            [
                name,
                *(
                    seconds(median([pick(r) for r in result.of(way.key, kind.key)]))
                    for kind, way in columns
                ),
            ]
            for name, pick in stages
        ],
    )


def _stage_row(stage: Stage, name: str | None = None) -> list[str]:
    return [
        name or stage.name,
        seconds(stage.low, 2),
        seconds(stage.typical, 2),
        seconds(stage.high, 2),
        ("documented" if stage.documented else "assumed")
        + f": {stage.basis} ([docs]({stage.source}))",
    ]


def _aws_table() -> str:
    rows = [
        *(_stage_row(stage) for stage in direct_delivery_stages()),
        [
            "A cold start of the failover function, if it is cold",
            seconds(COLD_START_LOW, 1),
            "-",
            f"over {seconds(COLD_START_HIGH, 1)}",
            "documented: 'from under 100 ms to over 1 second', in under 1% of invocations "
            f"([Lambda execution environments]({LAMBDA_COLD_START_DOCS})); this machine's own "
            "import and first-event times are in section 4",
        ],
        _stage_row(
            SNS_DELIVERY,
            "Only when Lambda does not take the invoke: the trigger topic's delivery instead",
        ),
    ]
    return table(["Stage", "Least", "Typical", "Most", "Basis"], rows)


def _tools_table(result: ServiceStopResult) -> str:
    detection = {
        kind.label: median([r.detection for r in result.of_kind(kind.key)])
        for kind in result.kinds()
    }
    ours = ", ".join(f"{key} {seconds(value, 1)}" for key, value in detection.items())
    return table(
        ["Tool", "How it notices", "Detection"],
        [
            [
                f"keepalived (VRRP) ([RFC 5798]({VRRP_DOCS}))",
                "the backup takes over after 3 missed advertisements (1 s apart by default) "
                "plus a skew",
                "3-4 s",
            ],
            [
                f"chime/terraform-aws-alternat ([README]({ALTERNAT_DOCS}))",
                "a Lambda function checks connectivity every 5 s; one failed round replaces "
                "the route",
                "up to about 5 s, plus the check's own timeout",
            ],
            [
                "AWS's floating-IP guidance",
                "a health check every 10 s; 3 failures in a row",
                "about 30 s",
            ],
            [
                f"fck-nat, HA mode ([docs]({FCK_NAT_DOCS}))",
                "the Auto Scaling group replaces the failed instance, which takes the "
                "interface on boot",
                "about 5 minutes",
            ],
            [
                "**This project, measured above**",
                f"{probing_text(result.probing)}, then the trigger",
                f"**{ours}** (median, to the handler starting)",
            ],
        ],
    )


def splice(report: str, result: ServiceStopResult) -> str:
    """The report with this part's summary lines and section replaced (or added)."""
    text = splice_part(
        report,
        summary_starts=(SUMMARY_START,),
        summary=summary_line(result, apart=True),
        section_start=SECTION_HEADING + "\n",
        section=section(result, apart=True),
        before="## What these numbers are not",
    )
    lines = text.splitlines()
    # The soak's line, if any, goes right under the stops' line, whatever came before.
    for at in reversed([i for i, line in enumerate(lines) if line.startswith(SOAK_START)]):
        del lines[at : at + (2 if at + 1 < len(lines) and not lines[at + 1] else 1)]
    if result.soak is not None:
        at = next(i for i, line in enumerate(lines) if line.startswith(SUMMARY_START))
        lines[at + 1 : at + 1] = ["", soak_line(result.soak, apart=True)]
    return "\n".join(lines) + "\n"
