"""The service-stop part of docs/benchmarks.md: one summary line and section 7.

`python -m bench` renders both into the whole report; `python -m bench --only service`
measures this part alone and splices both into the report already written, saying so and
when, so the page never passes one run's numbers off as another's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.detection import delivery_stages
from bench.lab import median, worst
from bench.markdown import seconds, table
from bench.service_stop import DELIVERY_POLL_SECONDS, WAYS, ServiceStopResult, ServiceStopRun
from bench.splicing import splice_part

SUMMARY_START = "Service stops answering:"
SECTION_HEADING = "## 7. Service stops answering: end to end"
# From the issue: end to end, with the default settings.
TARGET_MEDIAN_SECONDS = 15.0

LAMBDA_COLD_START_DOCS = (
    "https://docs.aws.amazon.com/lambda/latest/operatorguide/execution-environments.html"
)
VRRP_DOCS = "https://www.rfc-editor.org/rfc/rfc5798#section-6.1"
ALTERNAT_DOCS = "https://github.com/chime/terraform-aws-alternat"
FCK_NAT_DOCS = "https://fck-nat.dev/"
# Lambda's published range for a cold start: "from under 100 ms to over 1 second".
COLD_START_LOW, COLD_START_HIGH = 0.1, 1.0
# The prober's publish to SNS from its subnets (through an endpoint or the NAT): one HTTPS
# request in the region. AWS publishes no figure; an assumption.
PUBLISH_LOW, PUBLISH_TYPICAL, PUBLISH_HIGH = 0.01, 0.03, 0.2


def _mid_worst(runs: Sequence[ServiceStopRun], pick: Callable[[ServiceStopRun], float]) -> str:
    values = [pick(run) for run in runs]
    return f"{seconds(median(values))} / {seconds(worst(values))}"


def _probing(result: ServiceStopResult) -> str:
    probing = result.probing
    return (
        f"a probe every {probing.interval_seconds:g} s, {probing.timeout_seconds:g} s timeout, "
        f"{probing.failures} failures in a row"
    )


def _measured_apart(result: ServiceStopResult) -> str:
    return (
        f"measured on its own, {result.started_at:%Y-%m-%d %H:%M} UTC "
        "(`python -m bench --only service`)"
    )


def summary_line(result: ServiceStopResult, *, apart: bool = False) -> str:
    """The one line the summary gives it, beginning SUMMARY_START."""
    runs = list(result.runs)
    attached = [run.attached for run in runs]
    verdict = "met" if median(attached) <= TARGET_MEDIAN_SECONDS else "MISSED"
    by_way = "; ".join(
        f"{way.key} {seconds(median([r.attached for r in result.of(way.key)]), 1)}" for way in WAYS
    )
    when = f"; {_measured_apart(result)}" if apart else ""
    return (
        f"{SUMMARY_START} the interface is attached on the standby "
        f"{seconds(median(attached), 1)} after the service's last answer (median of {len(runs)} "
        f"runs, worst {seconds(worst(attached), 1)}): detection "
        f"{seconds(median([r.detection for r in runs]), 1)}, the move "
        f"{seconds(median([r.move for r in runs]), 1)} (medians); with the default probing "
        f"({_probing(result)}); by how it stopped: {by_way}. Target, a median of "
        f"{TARGET_MEDIAN_SECONDS:g} s or less: {verdict}. In AWS, SNS's delivery and Lambda's "
        f"start add about {seconds(_aws_typical(), 1)} typically (section 7){when}."
    )


def _aws_typical() -> float:
    return PUBLISH_TYPICAL + sum(stage.typical for stage in delivery_stages())


def _aws_most(*, cold: bool) -> float:
    most = PUBLISH_HIGH + sum(stage.high for stage in delivery_stages())
    return most + (COLD_START_HIGH if cold else 0.0)


def section(result: ServiceStopResult, *, apart: bool = False) -> str:
    runs = list(result.runs)
    rows = [
        [
            way.title,
            str(len(result.of(way.key))),
            _mid_worst(result.of(way.key), lambda r: r.attached),
            _mid_worst(result.of(way.key), lambda r: r.detection),
            _mid_worst(result.of(way.key), lambda r: r.move),
        ]
        for way in WAYS
    ] + [
        [
            "**All runs**",
            str(len(runs)),
            f"**{_mid_worst(runs, lambda r: r.attached)}**",
            _mid_worst(runs, lambda r: r.detection),
            _mid_worst(runs, lambda r: r.move),
        ]
    ]
    measured = table(
        [
            "How the service stops",
            "Runs",
            "Stopped -> attached on the standby: median / worst",
            "Detection (-> handler started)",
            "Move (-> attached)",
        ],
        rows,
    )
    hops = _hops_table(result)
    aws = _aws_table()
    typical, most = median([r.attached for r in runs]), worst([r.attached for r in runs])
    tools = _tools_table(result)
    when = (
        f"\n\nThis section was {_measured_apart(result)}, in {result.seconds / 60:.1f} "
        f"minutes (1-minute load average {result.load[0]:.1f} at the start, "
        f"{result.load[1]:.1f} at the end); the other sections come from the run the header "
        "names."
        if apart
        else ""
    )
    return f"""{SECTION_HEADING}

From the moment the service on the primary stops answering, while EC2 calls the instance
healthy, to the floating interface attached on the standby. The prober's real loop probes a
loopback listener per instance with the stack's default probing:
{_probing(result)}.
Its trigger goes through the stack's trigger topic to the function, and the interface moves
on the faithful EC2 with the latencies of section 1. Each run lets the prober see the
service answer, then stops the service at a random moment in the probe cycle: a real
failure lands anywhere in it.
Detection ends when the handler starts, as in section 6; the move ends at the physical
attach (attach accepted plus its latency), as in section 1. The primary looks healthy, so
its detach is a normal one, not forced. Every run is checked: one probe trigger, one swap,
one "swapped" notification.{when}

{measured}

Where the time goes (medians over all runs, seconds after the service stopped):

{hops}

{_why_detection_takes(result)}

### What AWS adds, modelled

The emulator delivers the trigger in-process and the function is warm. In AWS these come on
top; AWS publishes no latency for SNS's delivery to Lambda, so those stages are
assumptions, as in section 6.

{aws}

{_in_aws(typical, most)}

### Other tools' published detection times

Not measured here: what each tool's documentation or protocol gives for noticing a failure,
beside this project's measured detection.

{tools}"""


def _why_detection_takes(result: ServiceStopResult) -> str:
    interval, failures = result.probing.interval_seconds, result.probing.failures
    earliest, latest = (failures - 1) * interval, failures * interval
    return (
        f"The first failed probe comes up to one interval after the service stops, and the "
        f"last {failures - 1} intervals after the first: detection takes {earliest:g} to "
        f"{latest:g} s for a refused connection, plus the {result.probing.timeout_seconds:g} s "
        "timeout for a hang. The rest is the trigger's publish, the emulated delivery (polled "
        f"every {DELIVERY_POLL_SECONDS * 1000:.0f} ms here) and the move."
    )


def _in_aws(typical: float, most: float) -> str:
    return (
        f"So in AWS, from the service's last answer to the interface on the standby: typically "
        f"about {seconds(typical + _aws_typical(), 1)} "
        "(the median here plus each stage's typical), "
        f"at most about {seconds(most + _aws_most(cold=False), 1)} with the function warm and "
        f"{seconds(most + _aws_most(cold=True), 1)} if it starts cold (the worst here plus each "
        "stage's most). The failover function is rarely cold: the sweep invokes it every "
        "minute."
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
        ("detach accepted by EC2", lambda run: run.detach_requested),
        ("attached on the standby", lambda run: run.attached),
        ("handler returned (outcome notified)", lambda run: run.returned),
    ]
    return table(
        ["Hop", *(way.key for way in WAYS)],
        [
            [name, *(seconds(median([pick(r) for r in result.of(way.key)])) for way in WAYS)]
            for name, pick in stages
        ],
    )


def _aws_table() -> str:
    rows = [
        [
            "The prober's publish reaches SNS (from its subnets)",
            seconds(PUBLISH_LOW),
            seconds(PUBLISH_TYPICAL),
            seconds(PUBLISH_HIGH),
            "assumed: one HTTPS request in the region; AWS publishes no figure",
        ],
        *(
            [
                stage.name,
                seconds(stage.low, 1),
                seconds(stage.typical, 1),
                seconds(stage.high, 1),
                ("documented" if stage.documented else "assumed")
                + f": {stage.basis} ([docs]({stage.source}))",
            ]
            for stage in delivery_stages()
        ),
        [
            "A cold start of the failover function, if it is cold",
            seconds(COLD_START_LOW, 1),
            "-",
            f"over {seconds(COLD_START_HIGH, 1)}",
            "documented: 'from under 100 ms to over 1 second', in under 1% of invocations "
            f"([Lambda execution environments]({LAMBDA_COLD_START_DOCS})); this machine's own "
            "import and first-event times are in section 4",
        ],
    ]
    return table(["Stage", "Least", "Typical", "Most", "Basis"], rows)


def _tools_table(result: ServiceStopResult) -> str:
    probing = result.probing
    detection = {way.key: median([r.detection for r in result.of(way.key)]) for way in WAYS}
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
                f"a probe every {probing.interval_seconds:g} s, {probing.timeout_seconds:g} s "
                f"timeout, {probing.failures} failures in a row, then the trigger",
                f"**{ours}** (median, to the handler starting)",
            ],
        ],
    )


def splice(report: str, result: ServiceStopResult) -> str:
    """The report with this part's summary line and section replaced (or added)."""
    return splice_part(
        report,
        summary_starts=(SUMMARY_START,),
        summary=summary_line(result, apart=True),
        section_start=SECTION_HEADING + "\n",
        section=section(result, apart=True),
        before="## What these numbers are not",
    )
