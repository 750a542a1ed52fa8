"""When each pair's probes start and in which order their results count (fake clock, no
sockets): confirmations after a first failure, overlapping while a hung service makes each
one wait its timeout; one pair's hung probe never holding up another pair's."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from eni_failover.probe import ProbeLanes, ProbeResult, ProbeTracker, Verdict

INTERVAL = 1.0
CONFIRM = 0.25
TIMEOUT = 1.0
FAILURES = 5
EPOCH = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


@dataclass
class FakeProbe:
    """One started probe: it finishes when the simulated time reaches `ends`."""

    pair: str
    started: float
    ends: float
    ok: bool
    world: World

    def done(self) -> bool:
        return self.world.now >= self.ends

    def result(self) -> ProbeResult:
        return ProbeResult(
            target=f"{self.pair} service",
            ok=self.ok,
            at=EPOCH + timedelta(seconds=self.started),
            latency_seconds=self.ends - self.started,
            error=None if self.ok else "failed",
        )


@dataclass
class World:
    """The prober's loop on a fake clock: each pair's service answers, refuses at once or
    hangs until the timeout, as the test says at each moment."""

    lanes: ProbeLanes[FakeProbe]
    behaviour: dict[str, str]
    now: float = 0.0
    trackers: dict[str, ProbeTracker] = field(default_factory=dict)
    started: dict[str, list[float]] = field(default_factory=dict)
    observed: dict[str, list[float]] = field(default_factory=dict)
    verdicts: dict[str, list[tuple[float, Verdict]]] = field(default_factory=dict)
    lose: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(20))

    def tracker(self, pair: str) -> ProbeTracker:
        return self.trackers.setdefault(pair, ProbeTracker(failures_needed=FAILURES))

    def start(self, pair: str) -> FakeProbe:
        self.started.setdefault(pair, []).append(self.now)
        how = self.behaviour[pair]
        if how == "answers" and self.rng.random() < self.lose:
            how = "hangs"  # a lost probe: no answer until the timeout
        ends = self.now + (TIMEOUT if how == "hangs" else 0.002)
        return FakeProbe(pair, self.now, ends, ok=how == "answers", world=self)

    def step(self) -> None:
        for pair in self.behaviour:
            self.lanes.start_due(pair, self.tracker(pair), self.now, partial(self.start, pair))
        for pair, probe in self.lanes.finished():
            self.observed.setdefault(pair, []).append(probe.started)
            verdict = self.tracker(pair).observe(probe.result())
            self.verdicts.setdefault(pair, []).append((self.now, verdict))
            if verdict is Verdict.FAILED:
                self.tracker(pair).open_episode()  # the trigger went out

    def run_until(self, end: float, tick: float = 0.001) -> None:
        while self.now < end - 1e-9:
            self.step()
            self.now = round(self.now + tick, 6)

    def failed_at(self, pair: str) -> list[float]:
        return [at for at, v in self.verdicts.get(pair, []) if v is Verdict.FAILED]


def world(**behaviour: str) -> World:
    return World(ProbeLanes(interval_seconds=INTERVAL, confirm_seconds=CONFIRM), behaviour)


def test_a_healthy_pair_is_probed_once_an_interval() -> None:
    w = world(web="answers")
    w.run_until(5.0)
    assert w.started["web"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert w.failed_at("web") == []


def test_a_refused_probe_starts_confirmations_a_quarter_second_apart() -> None:
    # Given a pair answering, then refusing from 1.5 s on
    w = world(web="answers")
    w.run_until(1.5)
    w.behaviour["web"] = "refuses"
    w.run_until(6.0)
    # Then the first failure is the probe at 2 s, and the confirmations follow it 0.25 s apart
    assert w.started["web"][2:7] == [2.0, 2.25, 2.5, 2.75, 3.0]
    # And the fifth failure in a row is the verdict, one second after the first failure
    [failed] = w.failed_at("web")
    assert failed == pytest.approx(3.002, abs=0.002)
    # And once the trigger is out the pair is probed once an interval again
    assert w.started["web"][7:] == [4.0, 5.0]


def test_confirmations_of_a_hung_service_overlap_and_count_in_the_order_they_started() -> None:
    # Given a service that hangs from 0.5 s on (each probe waits out its 1 s timeout)
    w = world(web="answers")
    w.run_until(0.5)
    w.behaviour["web"] = "hangs"
    w.run_until(6.0)
    # Then the confirmations start 0.25 s after the previous START, not after its end: once
    # the first failure (started at 1 s) is known at 2 s, the four others it needs are in
    # flight together, each a quarter second after the last
    assert w.started["web"][1:6] == [1.0, 2.0, 2.25, 2.5, 2.75]
    # And their results count in the order they started
    assert w.observed["web"][:6] == sorted(w.observed["web"][:6])
    # And the verdict comes one timeout after the last confirmation started: 1 s for the
    # first failure, 0.75 s of spacing, 1 s of timeout (not five timeouts one after another)
    [failed] = w.failed_at("web")
    assert failed == pytest.approx(3.75, abs=0.002)


def test_a_quick_answer_counts_after_the_hung_probes_started_before_it() -> None:
    # Given a service that hangs from 0.5 s to 2.3 s, then answers again
    w = world(web="answers")
    w.run_until(0.5)
    w.behaviour["web"] = "hangs"
    w.run_until(2.3)
    w.behaviour["web"] = "answers"
    w.run_until(4.0)
    # Then the answers of the probes started at 2.5 s and 2.75 s, back long before the hung
    # ones of 2 s and 2.25 s gave up, count after them, in the order the probes started
    assert w.observed["web"][:6] == [0.0, 1.0, 2.0, 2.25, 2.5, 2.75]
    assert [v for _, v in w.verdicts["web"]][:6] == [
        Verdict.HEALTHY,
        Verdict.FAILING,
        Verdict.FAILING,
        Verdict.FAILING,
        Verdict.HEALTHY,
        Verdict.HEALTHY,
    ]
    # And the last word is the service's latest answer: healthy
    assert w.verdicts["web"][-1][1] is Verdict.HEALTHY


def test_no_more_confirmations_in_flight_than_the_verdict_still_needs() -> None:
    w = world(web="answers")
    w.run_until(0.5)
    w.behaviour["web"] = "hangs"
    w.run_until(3.75)
    # The first failure and the four confirmations it needs: no sixth probe before a verdict
    assert len(w.started["web"]) == 6


def test_a_hung_pair_never_delays_another_pairs_probes_or_confirmations() -> None:
    # Given one pair hanging from the start, and another refusing from 0.5 s on
    w = world(stuck="hangs", web="answers")
    w.run_until(0.5)
    w.behaviour["web"] = "refuses"
    w.run_until(4.0)
    # Then the refusing pair's probes start and count on their own schedule, unaffected
    assert w.started["web"][:6] == [0.0, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert w.failed_at("web") == [pytest.approx(2.002, abs=0.002)]
    # And the hung pair gets its own verdict one timeout after its last confirmation
    assert w.failed_at("stuck") == [pytest.approx(2.75, abs=0.002)]


def test_the_verdict_needs_failures_in_a_row_and_an_answer_between_resets_it() -> None:
    w = world(web="refuses")
    w.run_until(0.8)  # three failures: 0, 0.25, 0.5 (0.75 is the fourth)
    w.behaviour["web"] = "answers"
    w.run_until(1.5)
    assert w.failed_at("web") == []
    # The answer put the pair back on the interval: the next probe a second after it
    assert w.started["web"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    w.behaviour["web"] = "refuses"
    w.run_until(4.0)
    assert w.failed_at("web") == [pytest.approx(3.002, abs=0.002)]


def test_one_trigger_per_episode_however_long_the_failure() -> None:
    w = world(web="refuses")
    w.run_until(30.0)
    assert len(w.failed_at("web")) == 1
    still = [v for _, v in w.verdicts["web"] if v is Verdict.STILL_FAILED]
    # After the verdict, once an interval: not a confirmation every quarter second
    assert len(still) == pytest.approx(29, abs=1)


def test_lost_probes_of_a_healthy_pair_never_make_a_failure() -> None:
    # Given a healthy pair probed for ten minutes while one probe in ten is lost at random
    w = world(web="answers")
    w.lose = 0.1
    w.run_until(600.0, tick=0.005)
    # Then many probes were lost, and none of them, nor their confirmations, made a failure
    lost = [v for _, v in w.verdicts["web"] if v is Verdict.FAILING]
    assert len(lost) > 30
    assert w.failed_at("web") == []


@pytest.mark.parametrize("confirm", [0.0, -0.25, 1.0])
def test_the_confirmation_spacing_fits_inside_the_interval(confirm: float) -> None:
    with pytest.raises(ValueError, match="confirmation"):
        ProbeLanes(interval_seconds=1.0, confirm_seconds=confirm)
