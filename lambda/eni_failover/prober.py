"""The prober: every probed pair's service, every interval, one trigger per failure episode.

The schedule starts one invocation a minute; only the one holding the prober lease probes.
It runs until the next invocation asks to take over, then hands over its memory (the
failures counted so far, the open episodes) and stops, so probing has no gap of more than
a poll and no overlap. An invocation that died is replaced when its lease expires, and the
missing heartbeat metric raises the "detection degraded" alarm meanwhile.

Each probe of a pair probes, at once: the service where clients reach it (the floating
interface's private IP) and each instance's own address, so the failover can tell "the
primary's service is down" from "the prober cannot reach anything". Each pair is probed on
its own schedule (eni_failover.probe.ProbeLanes): every interval, and after a failed probe,
confirmations `confirm_seconds` apart until the service answers or the failure is confirmed;
a hung probe never holds up another pair's.

With discovery=tags it also probes the tagged pairs whose primary carries a probe tag
(eni_failover.discovery), read again with the addresses every REFRESH_SECONDS.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from eni_failover import cloudwatch, ec2, kinds, notify, triggers
from eni_failover.config import Pair, ProberSettings
from eni_failover.discovery import DiscoveryCache
from eni_failover.errors import AWS_ERRORS, AwsCallFailed
from eni_failover.observability import logger
from eni_failover.probe import (
    ProbeLanes,
    ProbeResult,
    ProbeSpec,
    ProbeTracker,
    Resolve,
    Verdict,
    run_probe,
)
from eni_failover.quorum import Quorum
from eni_failover.timeline import Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from eni_failover.clients import AwsClients

LEASE_ID = "prober#lease"
# How often the results go to CloudWatch (one PutMetricData for every pair) and to the
# lease item (what `status` shows). PutMetricData is billed per request.
FLUSH_SECONDS = 10.0
# How long a new invocation waits for the running one to hand over before it gives up.
HANDOVER_WAIT_SECONDS = 30.0
# The schedule starts the next invocation about a minute after this one.
SUCCESSOR_EXPECTED_SECONDS = 50.0
# Where addresses are looked up again: an interface that moved is probed where it is now.
REFRESH_SECONDS = 60.0
# A zone whose instances EC2 would not describe (a service disruption) is asked again only
# after this long: each ask costs botocore's backoff (up to about 15 s), and the probes of
# every pair wait for the refresh. Its pairs' services are probed all the same.
SPARE_FAILING_ZONE_SECONDS = 300.0
# The most probes under way at once. A pool starts only the threads it needs, so this costs
# nothing while services answer; it must exceed what hung services keep busy (three probes
# per pair for each failure its verdict still needs), or their probes would hold up the
# others' in the pool's queue.
PROBE_THREADS = 256


@dataclass(frozen=True)
class Targets:
    """Where one pair is probed, as EC2 said at the last look."""

    pair: Pair
    spec: ProbeSpec
    # The floating interface's private IP; for a pair of addresses only, its secondary IP,
    # overlay IP or the holder's own IP (_service_address).
    service_ip: str | None
    primary_ip: str | None
    standby_ip: str | None
    on_primary: bool  # the floating interface (or an address) is on the primary


def find_targets(clients: AwsClients, pairs: Iterable[Pair]) -> dict[str, Targets]:
    """Two describe calls for every pair together (more only past 200 interfaces or
    instances: EC2's limit of values per filter)."""
    probed = [p for p in pairs if p.probe_spec is not None]
    if not probed:
        return {}
    # By filter: one deleted interface leaves the others' look intact.
    interfaces = ec2.describe_many_interfaces(
        clients.ec2, [i for p in probed for i in p.interface_ids[:1]]
    )
    zones: dict[str, str | None] = {}
    for pair in probed:
        zones.update(ec2.pair_zones(pair, interfaces))
    # One call per zone: a zone EC2 cannot describe leaves only its own instances unknown
    # (not probed on their own addresses); the service is probed all the same.
    instances = ec2.look_instances(
        clients.ec2,
        [i for p in probed for i in (p.primary_instance_id, p.standby_instance_id)],
        zones=zones,
        spare_failing_seconds=SPARE_FAILING_ZONE_SECONDS,
    ).found
    # A pair of routes, Elastic IPs or secondary IPs only: where its addresses are (one
    # describe per kind for all of them).
    address_only = [p for p in probed if not p.interface_ids]
    addresses = kinds.read_addresses(clients.ec2, address_only, instances) if address_only else {}
    found = {}
    for pair in probed:
        spec = pair.probe_spec
        assert spec is not None  # filtered above
        primary, standby = (
            instances.get(i) for i in (pair.primary_instance_id, pair.standby_instance_id)
        )
        primary_ip = primary.private_ip if primary else None
        standby_ip = standby.private_ip if standby else None
        if pair.interface_ids:
            interface = interfaces[pair.interface_ids[0]]
            service_ip = interface.private_ips[0] if interface.private_ips else None
            on_primary = interface.attached_to(pair.primary_instance_id)
        else:
            on_primary = any(a.held_by(pair.primary_instance_id) for a in addresses[pair.name])
            service_ip = _service_address(pair) or (primary_ip if on_primary else standby_ip)
        found[pair.name] = Targets(
            pair=pair,
            spec=spec,
            service_ip=service_ip,
            primary_ip=primary_ip,
            standby_ip=standby_ip,
            on_primary=on_primary,
        )
    return found


def _service_address(pair: Pair) -> str | None:
    """Where an address-only pair's service answers inside the VPC: its first secondary IP,
    else its overlay IP (a /32 route's destination). An Elastic IP reaches the primary
    private IP of the instance holding it, so without either the caller probes that."""
    if pair.private_ips:
        return pair.private_ips[0]
    overlay = next(
        (c for c in pair.route_cidrs if ipaddress.ip_network(c).prefixlen in (32, 128)), None
    )
    return str(ipaddress.ip_network(overlay).network_address) if overlay else None


@dataclass(frozen=True)
class AwsErrorSeen:
    """An AWS call of the prober's that failed: when, what botocore said, and whether the
    API answered at all (no answer: no route from the prober's subnets, or a timeout)."""

    at: datetime
    error: str
    answered: bool

    def dump(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "error": self.error, "answered": self.answered}


# The prober's AWS calls by what they are for; each kind's last failure is kept until a call
# of that kind succeeds again.
SEND_TRIGGER = "send a trigger (SNS Publish)"
INVOKE_FUNCTION = "invoke the failover function with a trigger (Lambda Invoke)"
PUBLISH_METRICS = "publish the probe metrics (CloudWatch PutMetricData)"
LOOK_AT_PAIRS = "look where the pairs are (EC2 describes)"
USE_STATE_TABLE = "save its memory and hand over (DynamoDB)"


@dataclass(frozen=True)
class Round:
    """One round's results for a pair: the service, and each instance's own address."""

    service: ProbeResult
    primary: ProbeResult | None
    standby: ProbeResult | None


@dataclass(frozen=True)
class Launch:
    """One pair's probes started together: its service and each instance's own address."""

    target: Targets
    jobs: dict[str, Future[ProbeResult]]

    def done(self) -> bool:
        return all(job.done() for job in self.jobs.values())

    def round(self) -> Round:
        results = {role: job.result() for role, job in self.jobs.items()}
        service = results.get("service") or _unknown(
            f"{self.target.pair.name} service", "the floating interface has no private IP"
        )
        return Round(service, results.get("primary"), results.get("standby"))


def _unknown(target: str, why: str) -> ProbeResult:
    return ProbeResult(
        target=target, ok=False, at=datetime.now(UTC), latency_seconds=0.0, error=why
    )


@dataclass
class Prober:
    """The probing loop of one invocation; everything it touches is passed in."""

    settings: ProberSettings
    clients: AwsClients
    clock: Clock
    resolve: Resolve | None = None
    # Hands a trigger straight to the failover function (eni_failover.functions: Lambda's
    # asynchronous invoke, one hop fewer than SNS); None: the trigger topic only. The topic
    # is also the fallback when the invoke fails.
    invoke_function: Callable[[str], None] | None = None
    trackers: dict[str, ProbeTracker] = field(default_factory=dict)
    last: dict[str, Round] = field(default_factory=dict)
    targets: dict[str, Targets] = field(default_factory=dict)
    triggers_sent: int = 0
    # Each kind of AWS call that failed last time it was made, saved with the memory: `check`
    # reports a prober that is not reaching the AWS APIs.
    aws_errors: dict[str, AwsErrorSeen] = field(default_factory=dict)
    # The tagged pairs (discovery=tags), kept while the sandbox is warm; None without.
    discovered: DiscoveryCache | None = None
    # The probe quorum with the other vantages (probeQuorum); None: this prober decides alone.
    quorum: Quorum | None = None
    _samples: dict[str, list[ProbeResult]] = field(default_factory=dict)
    _rounds: int = 0
    # The last tagged pairs with a probe that discovery gave, kept when it fails.
    _tagged: tuple[Pair, ...] = ()
    # The previous invocation's trackers of pairs not probed yet (tagged ones are known only
    # after the first refresh), taken up when the pair is.
    _saved_trackers: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        failover = self.settings.failover
        for pair in failover.probed_pairs:
            self._tracker(pair.name)
        if self.discovered is None and failover.discover_tags:
            self.discovered = DiscoveryCache.from_ec2(
                self.clients.ec2,
                configured=failover.pairs,
                # The function judges the same ports: a tagged probe both see, or neither.
                probe_ports=failover.ports_for_tagged_probes,
                clock=self.clock,
            )
        if self.quorum is None:
            self.quorum = Quorum.for_vantage(
                vantage=self.settings.vantage,
                vantages=self.settings.vantages,
                client=self.clients.dynamodb,
                table=self.settings.state_table_name,
                probing=failover.probing,
                clock=self.clock,
                ec2_client=self.clients.ec2,
            )

    def _tracker(self, name: str) -> ProbeTracker:
        tracker = self.trackers.get(name)
        if tracker is None:
            tracker = ProbeTracker(failures_needed=self.settings.failover.probing.failures)
            self.trackers[name] = tracker
            saved = self._saved_trackers.pop(name, None)
            if saved is not None:
                _take_over(tracker, saved)
        return tracker

    # -- memory handed over between invocations ----------------------------------------

    def restore(self, memory: dict[str, Any]) -> None:
        """Take over what the previous invocation counted, so an episode spans the handover."""
        for name, saved in memory.get("trackers", {}).items():
            tracker = self.trackers.get(name)
            if tracker is not None:
                _take_over(tracker, saved)
            elif self.discovered is not None:  # maybe a tagged pair, known after discovery
                self._saved_trackers[name] = saved

    def memory(self) -> dict[str, Any]:
        return {
            # A tagged pair this invocation has not probed yet keeps what was saved for it.
            "trackers": self._saved_trackers
            | {
                name: {
                    "episode_open": t.episode_open,
                    "failed_in_a_row": [_dump(r) for r in t.failed_in_a_row],
                    "failing_since": t.failing_since.isoformat() if t.failing_since else None,
                }
                for name, t in self.trackers.items()
            },
            "last": {
                name: {
                    "service": _dump(r.service),
                    "primary": _dump(r.primary) if r.primary else None,
                    "standby": _dump(r.standby) if r.standby else None,
                }
                for name, r in self.last.items()
            },
            # The AWS calls failing now, by kind (`check` reports them).
            "aws_errors": {kind: seen.dump() for kind, seen in self.aws_errors.items()},
            # The vantages, and the failures seen from this one only (`status` shows them).
            **({"quorum": self.quorum.memory()} if self.quorum is not None else {}),
        }

    # -- the loop ----------------------------------------------------------------------

    def run(self, *, should_stop: Callable[[], bool], deadline: float) -> None:
        """Probe until told to stop or the deadline comes.

        Each pair on its own schedule (ProbeLanes): every interval, and after a failure a
        confirmation every `confirm_seconds`. The loop starts what is due, counts what has
        finished, and waits only until the next probe is due or one finishes: a hung probe
        holds up the later results of its own pair, never another pair's probes.
        """
        probing = self.settings.failover.probing
        lanes: ProbeLanes[Launch] = ProbeLanes(
            interval_seconds=probing.interval_seconds, confirm_seconds=probing.confirm_seconds
        )
        started = self.clock.monotonic()
        next_refresh = started
        next_flush = started + FLUSH_SECONDS
        # The first tick one interval after the first probes started (the first look at EC2
        # may take a while), when they have answered or timed out: what should_stop saves
        # then carries their results.
        next_tick = started + probing.interval_seconds
        first_probes = True
        # Enough threads that no pair's probe waits for a free one while others hang: each
        # pair may have its three probes (service, primary, standby) under way for every
        # failure its verdict still needs, and a pool only starts the threads it uses.
        with ThreadPoolExecutor(max_workers=PROBE_THREADS, thread_name_prefix="probe") as pool:
            while self.clock.monotonic() + probing.timeout_seconds < deadline:
                now = self.clock.monotonic()
                if now >= next_refresh:
                    # Nothing known to probe yet (EC2 did not answer the first look): look
                    # again next interval, not a minute later.
                    looked = self._refresh() or self.targets
                    next_refresh = now + (REFRESH_SECONDS if looked else probing.interval_seconds)
                    lanes.keep_only(self.targets)
                now = self.clock.monotonic()  # after the look, which may have taken long
                for name in self.targets:
                    lanes.start_due(
                        name, self._tracker(name), now, partial(self._launch, pool, name)
                    )
                if first_probes and self.targets:
                    first_probes = False
                    next_tick = max(next_tick, now + probing.interval_seconds)
                if self._count(lanes):
                    next_refresh = self.clock.monotonic()  # sent: look where things are now
                if self.quorum is not None:
                    self.quorum.publish()  # the verdicts that changed, or the heartbeat
                if self.clock.monotonic() >= next_flush:
                    self.flush()
                    next_flush = self.clock.monotonic() + FLUSH_SECONDS
                if self.clock.monotonic() >= next_tick:
                    # Once an interval, as the rounds were: the heartbeat, and the question
                    # whether to stop (a successor waiting costs a read each time).
                    self._rounds += 1
                    if should_stop():
                        break
                    next_tick += probing.interval_seconds
                self._wait(lanes, until=min(next_tick, self._next_due(lanes)))
        # The pool has let every probe under way finish: count them, so no result is lost
        # to the handover (each was started within its timeout of the deadline).
        self._count(lanes)
        self.flush()

    def _launch(self, pool: ThreadPoolExecutor, name: str) -> Launch:
        """Start one pair's probes: its service, and each instance's own address."""
        probing = self.settings.failover.probing
        target = self.targets[name]
        addresses = {"service": target.service_ip}
        if not target.spec.through_pair:
            addresses |= {"primary": target.primary_ip, "standby": target.standby_ip}
        jobs = {}
        for role, address in addresses.items():
            if address is None and not target.spec.through_pair:
                continue
            jobs[role] = pool.submit(
                run_probe,
                target.spec,
                address or "",
                timeout_seconds=probing.timeout_seconds,
                verify_tls=probing.verify_tls,
                **({"resolve": self.resolve} if self.resolve else {}),
            )
        return Launch(target=target, jobs=jobs)

    def _next_due(self, lanes: ProbeLanes[Launch]) -> float:
        return lanes.next_due((name, self._tracker(name)) for name in self.targets)

    def _wait(self, lanes: ProbeLanes[Launch], *, until: float) -> None:
        """Until `until`, or until a probe under way finishes, whichever comes first."""
        delay = max(0.0, until - self.clock.monotonic())
        # Only the probes not finished yet: a finished one behind a hung one of its pair
        # would end every wait at once, and the loop would spin.
        under_way = [
            job for launch in lanes.in_flight() for job in launch.jobs.values() if not job.done()
        ]
        if under_way:
            futures.wait(under_way, timeout=delay, return_when=futures.FIRST_COMPLETED)
        elif delay:
            self.clock.sleep(delay)

    def _count(self, lanes: ProbeLanes[Launch]) -> bool:
        """Count every finished launch, each pair's in the order they started; True if a
        trigger was sent."""
        sent = False
        for name, launch in lanes.finished():
            if self._observe(name, launch.round()):
                sent = True
        return sent

    def _observe(self, name: str, this: Round) -> bool:
        """One launch's results for a pair; the one place a verdict leads to a trigger."""
        self.last[name] = this
        self._samples.setdefault(name, []).append(this.service)
        verdict = self._tracker(name).observe(this.service)
        if self.quorum is not None:
            self.quorum.note(name, verdict)
        if verdict is not Verdict.FAILED:
            return False
        # Where the interface is now, not at the last look (up to a minute ago): a failover
        # or failback since then decides whether this failure is the primary's. The
        # episode's one trigger depends on it, so it is worth two describes.
        target = self.targets.get(name)
        self._refresh()
        now = self.targets.get(name, target)
        if now is not None and now.on_primary:
            # With a quorum, only a failure the other vantages see too (or that none of them
            # can see) is sent, and by one vantage only; otherwise a later result asks again.
            if self.quorum is not None and not self.quorum.agrees(name, self.trackers[name]):
                return False
            # The standby's evidence is from the same launch as the last failure.
            return self._send_trigger(now, this)
        # Not the primary's failure: no trigger is due for this episode.
        self.trackers[name].open_episode()
        logger.info("probe failed, interface not on the primary", pair=name)
        return False

    def _refresh(self) -> bool:
        """Look where every probed pair's addresses are now; False if EC2 did not say."""
        pairs = self.settings.failover.probed_pairs + self._tagged_pairs()
        try:
            self.targets = find_targets(self.clients, pairs)
        except AwsCallFailed as error:
            # Keep probing the addresses known so far; EC2 may answer next time.
            self.note_aws_error(LOOK_AT_PAIRS, error)
            logger.warning("could not refresh probe targets", error=str(error))
            return False
        self.note_aws_success(LOOK_AT_PAIRS)
        return True

    def _tagged_pairs(self) -> tuple[Pair, ...]:
        """The tagged pairs with a probe; the last known ones when discovery fails, so a
        failing describe of the tags never stops the probing of any pair."""
        if self.discovered is None:
            return ()
        try:
            cached = self.discovered.current()
        except AwsCallFailed as error:  # the first discovery: nothing to serve yet
            self.note_aws_error(LOOK_AT_PAIRS, error)
            logger.warning("could not discover the tagged pairs to probe", error=str(error))
            return self._tagged
        if cached.stale:
            logger.warning("tagged pairs to probe may be out of date", note=cached.note())
        configured = {p.name for p in self.settings.failover.pairs}
        self._tagged = tuple(
            p for p in cached.discovery.pairs if p.probe and p.name not in configured
        )
        if not cached.stale:  # a pair no longer tagged: its saved count will never be used
            probed = {p.name for p in self._tagged}
            self._saved_trackers = {n: t for n, t in self._saved_trackers.items() if n in probed}
        return self._tagged

    def _send_trigger(self, target: Targets, this: Round) -> bool:
        tracker = self.trackers[target.pair.name]
        message = triggers.probe_failed_message(
            pair=target.pair.name,
            probe=str(target.spec),
            failures=tuple(tracker.failed_in_a_row),
            standby=this.standby,
            account_id=self.settings.account_id,
            region=self.settings.region,
            at=datetime.now(UTC),
            failing_since=tracker.failing_since,
        )
        if not self._deliver(target.pair.name, message):
            # Not sent: the episode stays closed, so the next round (or the next invocation,
            # which takes over the count) sends it again.
            return False
        # Only now: an episode opened before its trigger is out would never send it.
        tracker.open_episode()
        self.triggers_sent += 1
        logger.warning(
            "probe trigger sent", pair=target.pair.name, evidence=this.service.describe()
        )
        return True

    def _deliver(self, pair_name: str, message: str) -> bool:
        """The trigger to the function directly if it can be, else through the trigger
        topic; False if neither took it.

        An invoke whose answer was lost may have queued the event all the same, and the
        topic then delivers it a second time: the same trigger ID, which the function's
        idempotency turns into one move and one notification.
        """
        if self.invoke_function is not None:
            try:
                self.invoke_function(message)
            except AwsCallFailed as error:
                self.note_aws_error(INVOKE_FUNCTION, error)
                logger.warning(
                    "could not invoke the failover function; the trigger goes through the "
                    "trigger topic",
                    pair=pair_name,
                    error=str(error),
                )
            else:
                self.note_aws_success(INVOKE_FUNCTION)
                return True
        try:
            notify.publish_trigger(self.clients.sns, self.settings.trigger_topic_arn, message)
        except AwsCallFailed as error:
            self.note_aws_error(SEND_TRIGGER, error)
            logger.error("could not send the probe trigger", pair=pair_name, error=str(error))
            return False
        self.note_aws_success(SEND_TRIGGER)
        return True

    def flush(self) -> None:
        """Send the probe metrics (one call for every pair) and note the last results."""
        samples, self._samples = self._samples, {}
        rounds, self._rounds = self._rounds, 0
        try:
            cloudwatch.put_probe_metrics(
                self.clients.cloudwatch,
                self.settings.metrics_namespace,
                samples=samples,
                rounds=rounds,
            )
        except AwsCallFailed as error:
            # The heartbeat goes missing and the "detection degraded" alarm says so.
            self.note_aws_error(PUBLISH_METRICS, error)
            logger.error("could not publish probe metrics", error=str(error))
            return
        self.note_aws_success(PUBLISH_METRICS)

    def note_aws_error(self, kind: str, error: AwsCallFailed) -> None:
        """Keep a failed AWS call for the saved memory, where `check` reads it."""
        self.aws_errors[kind] = AwsErrorSeen(
            at=self.clock.now(), error=str(error), answered=error.answered
        )

    def note_aws_success(self, kind: str) -> None:
        self.aws_errors.pop(kind, None)


def _condition_failed(error: Exception) -> bool:
    return (
        isinstance(error, ClientError)
        and error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


def _take_over(tracker: ProbeTracker, saved: dict[str, Any]) -> None:
    tracker.episode_open = bool(saved.get("episode_open"))
    tracker.failed_in_a_row = [_result(r) for r in saved.get("failed_in_a_row", [])]
    since = saved.get("failing_since")
    tracker.failing_since = datetime.fromisoformat(since) if since else None


def _dump(result: ProbeResult) -> dict[str, Any]:
    return {
        "target": result.target,
        "ok": result.ok,
        "at": result.at.isoformat(),
        "latency_seconds": round(result.latency_seconds, 4),
        "error": result.error,
    }


def _result(raw: dict[str, Any]) -> ProbeResult:
    return ProbeResult(
        target=str(raw["target"]),
        ok=bool(raw["ok"]),
        at=datetime.fromisoformat(raw["at"]),
        latency_seconds=float(raw["latency_seconds"]),
        error=raw.get("error"),
    )


def saved_result(memory: dict[str, Any], pair_name: str, role: str) -> ProbeResult | None:
    """One pair's last saved result for `role` (service | primary | standby), if any."""
    raw = memory.get("last", {}).get(pair_name, {}).get(role)
    try:
        return _result(raw) if raw else None
    except (KeyError, TypeError, ValueError):
        return None  # an older or damaged memory: as good as no result


def lease_id_for(vantage: str, vantages: tuple[str, ...]) -> str:
    """The first vantage keeps the single prober's lease, so `status`, `check` and the
    failback read its memory as before; each other vantage holds its own."""
    if not vantages or vantage == vantages[0]:
        return LEASE_ID
    return f"{LEASE_ID}#{vantage}"


class ProberLease:
    """The one item that says which invocation probes, and carries its memory across."""

    def __init__(self, client: DynamoDBClient, table: str, lease_id: str = LEASE_ID) -> None:
        self.client = client
        self.table = table
        # With a probe quorum, each vantage holds its own lease (lease_id_for).
        self.lease_id = lease_id

    def acquire(self, owner: str, *, now: float, hold_seconds: float) -> dict[str, Any] | None:
        """Take the lease if free or expired; the previous holder's memory, or None if held."""
        try:
            response = self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": self.lease_id}},
                UpdateExpression="SET lease_owner = :owner, lease_expires_at = :expires "
                "REMOVE successor",
                ConditionExpression="attribute_not_exists(lease_owner) OR lease_expires_at < :now",
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":expires": {"N": f"{now + hold_seconds:.3f}"},
                    ":now": {"N": f"{now:.3f}"},
                },
                ReturnValues="ALL_NEW",
            )
        except AWS_ERRORS as error:
            if _condition_failed(error):
                return None
            raise AwsCallFailed.from_client_error("UpdateItem", error) from error
        memory = response.get("Attributes", {}).get("memory", {}).get("S")
        return json.loads(memory) if memory else {}

    def ask_to_take_over(self, owner: str) -> None:
        self._update("SET successor = :owner", {":owner": {"S": owner}})

    def successor_waiting(self) -> bool:
        try:
            item = self.client.get_item(
                TableName=self.table, Key={"id": {"S": self.lease_id}}, ConsistentRead=True
            ).get("Item", {})
        except AWS_ERRORS as error:
            raise AwsCallFailed.from_client_error("GetItem", error) from error
        return "successor" in item

    def save(self, owner: str, memory: dict[str, Any], *, release: bool) -> None:
        """Write the memory (what `status` reads); with `release`, let the successor in."""
        expression = "SET memory = :memory, saved_at = :at"
        if release:
            expression += " REMOVE lease_owner, lease_expires_at"
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": self.lease_id}},
                UpdateExpression=expression,
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={
                    ":memory": {"S": json.dumps(memory)},
                    ":at": {"S": datetime.now(UTC).isoformat()},
                    ":owner": {"S": owner},
                },
            )
        except AWS_ERRORS as error:
            if _condition_failed(error):
                return  # someone took over after our lease expired: their memory wins
            raise AwsCallFailed.from_client_error("UpdateItem", error) from error

    def read_memory(self) -> tuple[dict[str, Any], datetime | None]:
        """The last saved results and when they were saved (for `status` and `check`)."""
        try:
            item = self.client.get_item(
                TableName=self.table, Key={"id": {"S": self.lease_id}}, ConsistentRead=True
            ).get("Item", {})
        except AWS_ERRORS as error:
            raise AwsCallFailed.from_client_error("GetItem", error) from error
        memory = item.get("memory", {}).get("S")
        saved = item.get("saved_at", {}).get("S")
        return (json.loads(memory) if memory else {}), (
            datetime.fromisoformat(saved) if saved else None
        )

    def _update(self, expression: str, values: dict[str, Any]) -> None:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": self.lease_id}},
                UpdateExpression=expression,
                ExpressionAttributeValues=values,
            )
        except AWS_ERRORS as error:
            raise AwsCallFailed.from_client_error("UpdateItem", error) from error


def run_invocation(
    prober: Prober,
    lease: ProberLease,
    *,
    owner: str,
    remaining_seconds: float,
    margin_seconds: float = 5.0,
) -> str:
    """One scheduled invocation: take over (waiting for the running one), probe, hand over."""
    clock = prober.clock
    started = clock.monotonic()
    deadline = started + remaining_seconds - margin_seconds
    asked = False
    while True:
        memory = lease.acquire(owner, now=clock.now().timestamp(), hold_seconds=remaining_seconds)
        if memory is not None:
            break
        if not asked:
            lease.ask_to_take_over(owner)
            asked = True
        if clock.monotonic() - started > min(HANDOVER_WAIT_SECONDS, remaining_seconds / 2):
            return "another invocation is probing and did not hand over"
        clock.sleep(0.2)
    prober.restore(memory)
    # Save after the first round, then every FLUSH_SECONDS: `status` and `check` read the
    # results from the first seconds of a deployment on, not only after the first flush.
    last_save = clock.monotonic() - FLUSH_SECONDS

    def should_stop() -> bool:
        nonlocal last_save
        # DynamoDB failing only costs what it records: probing (and triggering) go on.
        if clock.monotonic() - last_save >= FLUSH_SECONDS:
            last_save = clock.monotonic()
            try:
                lease.save(owner, prober.memory(), release=False)
            except AwsCallFailed as error:
                prober.note_aws_error(USE_STATE_TABLE, error)
                logger.error("could not save the prober's memory", error=str(error))
            else:
                prober.note_aws_success(USE_STATE_TABLE)
        # The successor is expected about a minute after we started: look only then, so a
        # healthy minute costs a few reads, not one per round.
        if clock.monotonic() - started < SUCCESSOR_EXPECTED_SECONDS:
            return False
        try:
            return lease.successor_waiting()
        except AwsCallFailed as error:  # probe on until the deadline; the lease expires then
            prober.note_aws_error(USE_STATE_TABLE, error)
            logger.error("could not look for a successor", error=str(error))
            return False

    try:
        prober.run(should_stop=should_stop, deadline=deadline)
    finally:
        try:
            lease.save(owner, prober.memory(), release=True)
        except AwsCallFailed as error:
            # The lease expires by itself; the successor starts from a closed episode, so a
            # failure still down may be told twice, never not at all.
            logger.error("could not hand over the prober's memory", error=str(error))
            ended = f"memory not saved: {error}"
        else:
            ended = "handed over"
    return ended
