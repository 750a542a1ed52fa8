"""The pure decision, tested without AWS: current state in, plan out."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from eni_failover import decide
from eni_failover.config import Pair, Tuning
from eni_failover.observed import (
    AddressView,
    Attachment,
    InstanceView,
    InterfaceView,
    PairState,
)
from eni_failover.pair_record import PairRecord, PlannedMove
from eni_failover.triggers import Trigger, TriggerKind

NOW = datetime(2026, 11, 26, 9, 15, tzinfo=UTC)
PRIMARY = "i-0123456789abcdef0"
STANDBY = "i-0fedcba9876543210"
ENI = "eni-0123456789abcdef0"
PAIR = Pair(
    name="nat",
    primary_instance_id=PRIMARY,
    standby_instance_id=STANDBY,
    interface_ids=(ENI,),
    alarm_name="stack-nat-primary-status",
)
TUNING = Tuning()


def instance(instance_id: str, **changes: object) -> InstanceView:
    base = InstanceView(
        instance_id=instance_id,
        exists=True,
        state="running",
        availability_zone="us-east-1a",
        system_status="ok",
        instance_status="ok",
        device_indexes={(0, 0): f"eni-{instance_id[2:]}"},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def interface(
    on: str | None = PRIMARY,
    *,
    index: int = 1,
    card: int = 0,
    status: str = "attached",
    **changes: object,
) -> InterfaceView:
    attachment = (
        Attachment(
            attachment_id="eni-attach-1",
            instance_id=on,
            device_index=index,
            status=status,
            network_card_index=card,
        )
        if on
        else None
    )
    base = InterfaceView(
        interface_id=ENI,
        exists=True,
        status="in-use" if on else "available",
        availability_zone="us-east-1a",
        attachment=attachment,
        private_ips=("10.0.1.50",),
        public_ip="203.0.113.10",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def state(
    *,
    primary: InstanceView | None = None,
    standby: InstanceView | None = None,
    eni: InterfaceView | None = None,
) -> PairState:
    return PairState(
        primary=primary or instance(PRIMARY, instance_status="impaired"),
        standby=standby or instance(STANDBY),
        interfaces=(eni or interface(),),
        observed_at=NOW,
    )


def trigger(
    *, kind: TriggerKind = TriggerKind.ALARM, at: datetime | None = None, trigger_id: str = "t1"
) -> Trigger:
    return Trigger(
        trigger_id=trigger_id,
        kind=kind,
        source=PAIR.alarm_name,
        instance_id=PRIMARY,
        state="ALARM",
        is_failure=True,
        reason="status check failed",
        occurred_at=at or NOW - timedelta(seconds=30),
        account_id="123456789012",
        region="us-east-1",
    )


def plan(current: PairState, **kwargs: object) -> decide.Plan:
    defaults: dict[str, object] = {
        "pair": PAIR,
        "trigger": trigger(),
        "state": current,
        "record": PairRecord(),
        "now": NOW,
        "tuning": TUNING,
    }
    defaults.update(kwargs)
    return decide.plan(**defaults)  # type: ignore[arg-type]


def reasons(result: decide.Plan) -> str:
    assert isinstance(result, decide.Refuse), result
    return " ".join(result.reasons)


class TestMove:
    def test_impaired_primary_moves_interface_to_standby_at_same_index(self) -> None:
        result = plan(state(eni=interface(index=2)))
        assert isinstance(result, decide.Move)
        [move] = result.moves
        assert (move.interface_id, move.device_index) == (ENI, 2)
        assert (move.from_instance_id, move.to_instance_id) == (PRIMARY, STANDBY)
        assert result.force_detach  # an impaired guest will not release the interface
        assert not result.resuming

    def test_stopped_primary_is_force_detached(self) -> None:
        result = plan(
            state(
                primary=instance(PRIMARY, state="stopped", system_status=None, instance_status=None)
            )
        )
        assert isinstance(result, decide.Move)
        assert result.force_detach

    def test_detached_interface_resumes_at_the_journaled_index(self) -> None:
        # Given a previous attempt detached the interface from index 3 and died
        record = PairRecord(
            journal_trigger_id="t1",
            journal=(PlannedMove(ENI, 3, PRIMARY, STANDBY),),
        )
        result = plan(state(eni=interface(on=None)), record=record)
        assert isinstance(result, decide.Move)
        assert result.resuming
        assert result.moves[0].device_index == 3

    def test_interface_on_another_network_card_moves_to_the_same_card(self) -> None:
        # Given the interface at device index 1 of network card 2, and a standby that uses
        # device index 1 on card 0 only
        standby = instance(STANDBY, device_indexes={(0, 0): "eni-x", (0, 1): "eni-y"})
        result = plan(state(standby=standby, eni=interface(index=1, card=2)))
        assert isinstance(result, decide.Move)
        [move] = result.moves
        assert (move.network_card_index, move.device_index) == (2, 1)

    def test_detached_interface_resumes_on_the_journaled_card(self) -> None:
        record = PairRecord(
            journal_trigger_id="t1",
            journal=(PlannedMove(ENI, 1, PRIMARY, STANDBY, network_card_index=1),),
        )
        result = plan(state(eni=interface(on=None)), record=record)
        assert isinstance(result, decide.Move)
        assert result.moves[0].slot == (1, 1)

    def test_impaired_attached_ebs_check_forces_the_detach(self) -> None:
        # Given a primary whose only failing check is the attached-EBS one
        primary = instance(PRIMARY, attached_ebs_status="impaired")
        result = plan(state(primary=primary))
        assert isinstance(result, decide.Move)
        assert result.force_detach

    def test_interface_still_detaching_is_resumed_not_detached_again(self) -> None:
        result = plan(state(eni=interface(status="detaching")))
        assert isinstance(result, decide.Move)
        assert result.resuming


class TestAlreadyThere:
    def test_interface_on_standby_means_nothing_to_do(self) -> None:
        result = plan(state(eni=interface(on=STANDBY)))
        assert result == decide.AlreadyThere(moved_by_this_trigger=False)

    def test_retry_of_the_trigger_that_moved_it_is_recognised(self) -> None:
        record = PairRecord(last_move_trigger_id="t1", last_move_at=NOW - timedelta(seconds=5))
        result = plan(state(eni=interface(on=STANDBY)), record=record)
        assert result == decide.AlreadyThere(moved_by_this_trigger=True)

    def test_flapping_alarm_never_bounces_the_interface_back(self) -> None:
        # Given the interface moved, the primary recovered (OK), then alarmed again
        recovered = instance(PRIMARY)
        result = plan(
            state(primary=recovered, eni=interface(on=STANDBY)), trigger=trigger(trigger_id="t2")
        )
        assert isinstance(result, decide.AlreadyThere)


class TestRefuse:
    @pytest.mark.parametrize(
        ("standby", "expected"),
        [
            (instance(STANDBY, state="stopped"), "is stopped, not running"),
            (instance(STANDBY, state="terminated"), "is terminated"),
            (instance(STANDBY, system_status="impaired"), "impaired status check"),
            (instance(STANDBY, instance_status="impaired"), "impaired status check"),
            (instance(STANDBY, attached_ebs_status="impaired"), "attached EBS impaired"),
            (InstanceView(instance_id=STANDBY, exists=False), "does not exist"),
        ],
    )
    def test_unfit_standby(self, standby: InstanceView, expected: str) -> None:
        assert expected in reasons(plan(state(standby=standby)))

    def test_standby_in_another_availability_zone(self) -> None:
        result = plan(state(standby=instance(STANDBY, availability_zone="us-east-1b")))
        assert "only move within its Availability Zone" in reasons(result)

    def test_missing_interface(self) -> None:
        result = plan(state(eni=InterfaceView(interface_id=ENI, exists=False)))
        assert f"interface {ENI} does not exist" in reasons(result)

    def test_primary_interface_is_never_moved(self) -> None:
        result = plan(state(eni=interface(index=0)))
        assert "device index 0" in reasons(result)

    def test_interface_on_a_third_instance(self) -> None:
        result = plan(state(eni=interface(on="i-0aaaaaaaaaaaaaaaa")))
        assert "neither side of pair" in reasons(result)

    def test_standby_device_index_taken_by_another_interface(self) -> None:
        standby = instance(STANDBY, device_indexes={(0, 0): "eni-x", (0, 1): "eni-0ther0"})
        assert "already uses device index 1 (for eni-0ther0)" in reasons(
            plan(state(standby=standby))
        )

    def test_standby_device_index_taken_on_the_interfaces_network_card(self) -> None:
        standby = instance(STANDBY, device_indexes={(0, 0): "eni-x", (3, 1): "eni-0ther0"})
        result = plan(state(standby=standby, eni=interface(index=1, card=3)))
        assert "already uses device index 1 on network card 3 (for eni-0ther0)" in reasons(result)

    def test_device_index_0_on_another_network_card_is_not_the_primary_interface(
        self,
    ) -> None:
        # Only card 0's device index 0 is the primary interface, which EC2 never detaches
        result = plan(state(eni=interface(index=0, card=1)))
        assert isinstance(result, decide.Move)

    def test_healthy_primary_makes_an_alarm_out_of_date(self) -> None:
        result = plan(state(primary=instance(PRIMARY)))
        assert "healthy now" in reasons(result)

    @pytest.mark.parametrize("attached_ebs", [None, "ok", "not-applicable"])
    def test_attached_ebs_check_absent_or_passing_leaves_the_primary_healthy(
        self, attached_ebs: str | None
    ) -> None:
        # An answer without the newer attached-EBS check says nothing against the primary
        result = plan(state(primary=instance(PRIMARY, attached_ebs_status=attached_ebs)))
        assert "healthy now" in reasons(result)

    def test_drill_window_lets_an_alarm_move_a_healthy_primary(self) -> None:
        # Given an operator opened a drill window and set the alarm to ALARM
        record = PairRecord(drill_until=NOW + timedelta(minutes=5), drill_by="dave")
        result = plan(state(primary=instance(PRIMARY)), record=record)
        assert isinstance(result, decide.Move)
        assert not result.force_detach  # the primary is healthy: a graceful detach
        # And once the window has closed, the same alarm is out of date again
        closed = PairRecord(drill_until=NOW - timedelta(seconds=1), drill_by="dave")
        assert "healthy now" in reasons(plan(state(primary=instance(PRIMARY)), record=closed))

    def test_trigger_older_than_the_maximum_age_is_stale(self) -> None:
        old = trigger(at=NOW - timedelta(seconds=TUNING.max_trigger_age_seconds + 1))
        assert "stale" in reasons(plan(state(), trigger=old))

    def test_trigger_from_before_the_last_move_is_stale(self) -> None:
        # Given an operator failed back after the alarm fired, and the alarm arrives late
        record = PairRecord(
            last_move_trigger_id="manual:1", last_move_at=NOW - timedelta(seconds=10)
        )
        result = plan(state(), trigger=trigger(at=NOW - timedelta(seconds=60)), record=record)
        assert "before the pair last moved" in reasons(result)


class TestManual:
    def test_failback_moves_from_standby_to_primary(self) -> None:
        current = state(primary=instance(PRIMARY), eni=interface(on=STANDBY))
        result = plan(
            current, trigger=trigger(kind=TriggerKind.MANUAL), direction=decide.Direction.TO_PRIMARY
        )
        assert isinstance(result, decide.Move)
        assert result.moves[0].to_instance_id == PRIMARY
        assert not result.force_detach  # the standby is healthy: detach gracefully

    def test_failback_to_an_impaired_primary_is_refused_even_with_force(self) -> None:
        current = state(eni=interface(on=STANDBY))  # primary impaired by default
        result = plan(
            current,
            trigger=trigger(kind=TriggerKind.MANUAL),
            direction=decide.Direction.TO_PRIMARY,
            force=True,
        )
        assert "impaired status check" in reasons(result)

    def test_manual_failover_of_healthy_primary_needs_force(self) -> None:
        current = state(primary=instance(PRIMARY))
        refused = plan(current, trigger=trigger(kind=TriggerKind.MANUAL))
        assert "needs --force" in reasons(refused)
        forced = plan(current, trigger=trigger(kind=TriggerKind.MANUAL), force=True)
        assert isinstance(forced, decide.Move)
        assert forced.overridden == ("source-healthy",)

    def test_manual_request_is_never_stale(self) -> None:
        old = trigger(kind=TriggerKind.MANUAL, at=NOW - timedelta(days=2))
        assert isinstance(plan(state(), trigger=old), decide.Move)


class TestRoute:
    def route(self, **changes: object) -> Pair | decide.Ignore:
        return decide.route(
            dataclasses.replace(trigger(), **changes),  # type: ignore[arg-type]
            (PAIR,),
            account_id="123456789012",
            region="us-east-1",
        )

    def test_alarm_of_a_configured_pair(self) -> None:
        assert self.route() == PAIR

    @pytest.mark.parametrize(
        ("changes", "expected"),
        [
            ({"source": "someone-elses-alarm"}, "guards no configured pair"),
            ({"instance_id": "i-0aaaaaaaaaaaaaaaa"}, "watches i-0aaaaaaaaaaaaaaaa"),
            ({"account_id": "999999999999"}, "account 999999999999"),
            ({"region": "eu-west-1"}, "region eu-west-1"),
            ({"state": "OK", "is_failure": False}, "not a failure"),
            ({"kind": TriggerKind.STATE_CHANGE, "instance_id": STANDBY}, "primary of no"),
        ],
    )
    def test_triggers_that_are_none_of_ours(
        self, changes: dict[str, object], expected: str
    ) -> None:
        result = self.route(**changes)
        assert isinstance(result, decide.Ignore)
        assert expected in result.reason


# --- the sweep's grace: what it leaves to the event or the alarm --------------------------


def failed_ago(seconds: float, **changes: object) -> PairState:
    """The primary failed `seconds` ago (EC2's ImpairedSince, or its stop's time), still
    holding the floating interface."""
    return state(
        primary=instance(PRIMARY, failed_since=NOW - timedelta(seconds=seconds), **changes)
    )


@pytest.mark.parametrize("seconds", [30, 59])
def test_the_sweep_leaves_a_primary_stopped_under_a_minute_ago_to_its_event(
    seconds: float,
) -> None:
    # The EC2 state-change event reports a stop within seconds; the sweep is for lost ones.
    stopped = failed_ago(seconds, state="stopped", instance_status=None, system_status=None)
    assert decide.missed_failure(PAIR, stopped, NOW, evaluation_periods=2) is None


@pytest.mark.parametrize("seconds", [60, 61])
def test_the_sweep_acts_on_a_primary_stopped_a_minute_ago(seconds: float) -> None:
    stopped = failed_ago(seconds, state="stopped", instance_status=None, system_status=None)
    missed = decide.missed_failure(PAIR, stopped, NOW, evaluation_periods=2)
    assert missed is not None
    assert ENI in missed


ROUTES = Pair(
    name="edge",
    primary_instance_id=PRIMARY,
    standby_instance_id=STANDBY,
    route_table_ids=("rtb-0123456789abcdef0",),
    route_cidrs=("10.9.0.10/32",),
)


def test_the_sweep_acts_on_a_stopped_primary_whose_routes_read_blackhole() -> None:
    # EC2 shows a route to a stopped instance's interface as "blackhole": it serves no one,
    # but it still points at the failed primary, and only a failover can repair it.
    route = AddressView(
        "route",
        "rtb-0123456789abcdef0 10.9.0.10/32",
        exists=True,
        interface_id=f"eni-{PRIMARY[2:]}",
        instance_id=PRIMARY,
        state="blackhole",
    )
    stopped = PairState(
        primary=instance(
            PRIMARY,
            state="stopped",
            instance_status=None,
            system_status=None,
            failed_since=NOW - timedelta(seconds=120),
        ),
        standby=instance(STANDBY),
        interfaces=(),
        observed_at=NOW,
        addresses=(route,),
    )
    missed = decide.missed_failure(ROUTES, stopped, NOW, evaluation_periods=2)
    assert missed is not None
    assert "route rtb-0123456789abcdef0 10.9.0.10/32" in missed


# A tagged pair has no status-check alarm of its own: the sweep is what notices its impaired
# primary.
TAGGED = PAIR.model_copy(update={"alarm_name": ""})


@pytest.mark.parametrize("pair", [PAIR, TAGGED], ids=["alarmed", "tagged"])
@pytest.mark.parametrize(("periods", "seconds"), [(2, 61), (2, 119), (1, 59), (5, 299)])
def test_the_sweep_gives_an_impaired_primary_the_alarms_tolerance(
    pair: Pair, periods: int, seconds: float
) -> None:
    # A status check failing for less than evaluationPeriods minutes moves nothing, however
    # it is noticed: the alarm needs that many failed minutes, and so does the sweep.
    impaired = failed_ago(seconds, instance_status="impaired")
    assert decide.missed_failure(pair, impaired, NOW, evaluation_periods=periods) is None


@pytest.mark.parametrize(("periods", "seconds"), [(2, 120), (2, 121), (1, 61), (5, 301)])
def test_the_sweep_acts_on_a_tagged_primary_impaired_for_evaluation_periods_minutes(
    periods: int, seconds: float
) -> None:
    impaired = failed_ago(seconds, instance_status="impaired")
    missed = decide.missed_failure(TAGGED, impaired, NOW, evaluation_periods=periods)
    assert missed is not None
    assert "impaired" in missed


@pytest.mark.parametrize("seconds", [121, 179])
def test_the_sweep_leaves_an_alarmed_pair_to_its_alarm_for_the_alarms_lag(seconds: float) -> None:
    # The pair's own alarm fires about evaluationPeriods minutes in, plus up to a minute of
    # CloudWatch's lag: the sweep acting then would only race it to the same move, and the
    # failure would be told twice (one swapped, one already-in-place).
    impaired = failed_ago(seconds, instance_status="impaired")
    assert decide.missed_failure(PAIR, impaired, NOW, evaluation_periods=2) is None


@pytest.mark.parametrize("seconds", [180, 181])
def test_the_sweep_acts_on_an_alarmed_pair_whose_alarm_never_came(seconds: float) -> None:
    impaired = failed_ago(seconds, instance_status="impaired")
    missed = decide.missed_failure(PAIR, impaired, NOW, evaluation_periods=2)
    assert missed is not None
    assert "impaired" in missed
