"""Context validation: a bad value stops synth with a message naming its context key."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from eni_failover_cdk.settings import DeploymentSettings, SettingsError, read_settings
from tests.infra.conftest import (
    EMAILS,
    INTERFACE,
    PRIMARY,
    SECOND_INTERFACE,
    SINGLE_PAIR_CONTEXT,
    STANDBY,
)
from tests.infra.test_detection_settings import PROBED_PAIR

WEB = {
    "name": "web",
    "primaryInstanceId": "i-0aaaaaaaaaaaaaaa1",
    "standbyInstanceId": "i-0aaaaaaaaaaaaaaa2",
    "eniIds": ["eni-0aaaaaaaaaaaaaaa3"],
}
DB = {
    "name": "db",
    "primaryInstanceId": "i-0bbbbbbbbbbbbbbb1",
    "standbyInstanceId": "i-0bbbbbbbbbbbbbbb2",
    "eniIds": ["eni-0bbbbbbbbbbbbbbb3", "eni-0bbbbbbbbbbbbbbb4"],
}


def settings_from(context: dict[str, Any]) -> DeploymentSettings:
    return read_settings(context.get)


def problems_of(context: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as raised:
        settings_from(context)
    return str(raised.value)


def test_one_pair_from_the_command_line() -> None:
    # Given the four keys an operator passes with -c, all strings
    # When the settings are read
    settings = settings_from(SINGLE_PAIR_CONTEXT)
    # Then one pair named "primary" carries both interfaces and its alarm's name
    (pair,) = settings.failover.pairs
    assert pair.name == "primary"
    assert (pair.primary_instance_id, pair.standby_instance_id) == (PRIMARY, STANDBY)
    assert pair.interface_ids == (INTERFACE, SECOND_INTERFACE)
    assert pair.alarm_name == "EniFailover-primary-primary-status"
    assert settings.notify_emails == EMAILS
    # And the defaults hold
    assert settings.stack_name == "EniFailover"
    assert settings.evaluation_periods == settings.failover.evaluation_periods == 2
    assert settings.max_event_age_seconds == 3600
    assert settings.function_timeout_seconds == 60


def test_pair_name_and_tuning_from_context() -> None:
    # Given a pair name and the tuning keys, as strings from the command line
    context = {
        **SINGLE_PAIR_CONTEXT,
        "pairName": "db-1",
        "evaluationPeriods": "3",
        "swapDeadlineSeconds": "30",
        "maxTriggerAgeSeconds": "600",
        "maxEventAgeSeconds": "1800",
    }
    # When the settings are read
    settings = settings_from(context)
    # Then each lands on its typed field
    assert settings.failover.pairs[0].name == "db-1"
    assert settings.failover.pairs[0].alarm_name == "EniFailover-db-1-primary-status"
    assert settings.evaluation_periods == 3
    # And the function gets the same tolerance, for the sweep (README, How detection works)
    assert settings.failover.evaluation_periods == 3
    assert settings.failover.tuning.swap_deadline_seconds == 30.0
    assert settings.failover.tuning.max_trigger_age_seconds == 600.0
    assert settings.max_event_age_seconds == 1800


def test_a_long_swap_deadline_lengthens_the_function_timeout() -> None:
    # Given a swap deadline that, with the lease wait, would not fit in 60 s
    settings = settings_from({**SINGLE_PAIR_CONTEXT, "swapDeadlineSeconds": 80})
    # Then the function gets the lease wait + the deadline + time to publish the outcome
    assert settings.function_timeout_seconds == 10 + 80 + 10


def test_pairs_list_and_its_json_string_form_are_the_same() -> None:
    # Given the pairs as a list (cdk.json) and as a JSON string (-c pairs='[...]')
    as_list = {"pairs": [WEB, DB], "notifyEmail": "ops@example.com"}
    as_text = {"pairs": json.dumps([WEB, DB]), "notifyEmail": "ops@example.com"}
    # When both are read
    # Then they give the same configuration, one pair per entry
    assert settings_from(as_list) == settings_from(as_text)
    config = settings_from(as_list).failover
    assert [p.name for p in config.pairs] == ["web", "db"]
    assert config.pair_named("db") is not None
    assert config.pair_named("db").interface_ids == tuple(DB["eniIds"])  # type: ignore[union-attr]
    assert [p.alarm_name for p in config.pairs] == [
        "EniFailover-web-primary-status",
        "EniFailover-db-primary-status",
    ]


def test_no_pair_explains_both_ways_to_configure() -> None:
    # Given no context at all
    message = problems_of({})
    # Then the message shows the command-line form and the cdk.json form
    assert "-c primaryInstanceId=i-" in message
    assert "-c standbyInstanceId=i-" in message
    assert "-c eniId=eni-" in message
    assert '"pairs"' in message
    assert "cdk.json" in message
    assert "notifyEmail" in message


BAD_SINGLE_VALUES = [
    ("primaryInstanceId", "i-123", "'i-' then 8 or 17 hex digits"),
    ("primaryInstanceId", "eni-0123456789abcdef0", "'i-' then 8 or 17 hex digits"),
    ("primaryInstanceId", "I-0123456789ABCDEF0", "'i-' then 8 or 17 hex digits"),
    ("standbyInstanceId", "i-0123456789abcdefg", "'i-' then 8 or 17 hex digits"),
    ("eniId", "eni-12", "'eni-' then 8 or 17 hex digits"),
    ("eniId", "", "'eni-' then 8 or 17 hex digits"),
    ("eniId", f"{INTERFACE},{INTERFACE}", "listed more than once"),
    ("notifyEmail", "ops-at-example.com", "an email address"),
    ("notifyEmail", "ops@example.com,", None),  # a trailing comma is harmless
    ("notifyEmail", "ops@example.com;dev@example.com", "an email address"),
    ("pairName", "web 1", "letters, digits and '-'"),
    ("pairName", "x" * 41, "at most 40 characters"),
    ("evaluationPeriods", "0", "from 1 to 60"),
    ("evaluationPeriods", "2.5", "from 1 to 60"),
    ("evaluationPeriods", "two", "from 1 to 60"),
    ("swapDeadlineSeconds", "0", "number of seconds"),
    ("swapDeadlineSeconds", "soon", "number of seconds"),
    ("maxTriggerAgeSeconds", "-5", "number of seconds"),
    ("maxEventAgeSeconds", "30", "from 60 to 21600"),
    ("stackName", "9lives", "a stack name"),
]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    BAD_SINGLE_VALUES,
    ids=[f"{k}={v}" for k, v, _ in BAD_SINGLE_VALUES],
)
def test_a_bad_value_names_its_key_and_the_expected_form(
    key: str, value: str, expected: str | None
) -> None:
    # Given the single pair with one value replaced
    context = {**SINGLE_PAIR_CONTEXT, key: value}
    if expected is None:
        # Then a harmless variation is accepted
        settings_from(context)
        return
    # When the settings are read
    message = problems_of(context)
    # Then the message starts with the context key and says what was expected
    assert message.startswith(f"{key}:"), message
    assert expected in message


@pytest.mark.parametrize("key", ["primaryInstanceId", "standbyInstanceId", "eniId", "notifyEmail"])
def test_a_missing_key_is_named(key: str) -> None:
    # Given the single pair without one required key
    context = {k: v for k, v in SINGLE_PAIR_CONTEXT.items() if k != key}
    # When the settings are read
    message = problems_of(context)
    # Then the message names the key as missing
    assert message.startswith(f"{key}: missing"), message


def test_the_same_instance_as_primary_and_standby_is_refused() -> None:
    # Given a pair whose standby is its primary
    message = problems_of({**SINGLE_PAIR_CONTEXT, "standbyInstanceId": PRIMARY})
    # Then both keys are named
    assert message.startswith("primaryInstanceId and standbyInstanceId:"), message
    assert PRIMARY in message


def test_every_problem_is_reported_at_once() -> None:
    # Given two bad values
    context = {**SINGLE_PAIR_CONTEXT, "primaryInstanceId": "x", "notifyEmail": "y"}
    # When the settings are read
    with pytest.raises(SettingsError) as raised:
        settings_from(context)
    # Then both are listed, and the report is readable
    assert [p.split(":")[0] for p in raised.value.problems] == ["primaryInstanceId", "notifyEmail"]
    assert raised.value.report().startswith("ENI Failover configuration is not valid:\n  - ")


BAD_PAIR_LISTS: list[tuple[Any, str]] = [
    ("[{", "pairs: not a JSON list"),
    ([], "pairs: expected a non-empty list"),
    ({"name": "web"}, "pairs: expected a non-empty list"),
    (["web"], "pairs[0]: expected an object"),
    # (the single pair's name for a key, in an entry: the entry's name is suggested)
    (
        [{**WEB, "eniId": "eni-0aaaaaaaaaaaaaaa9"}],
        "pairs[0].eniId: not a key of a pairs entry; did you mean eniIds?",
    ),
    ([WEB, {**DB, "primaryInstanceId": "i-1"}], "pairs[1].primaryInstanceId: 'i-1' is not"),
    (
        [{k: v for k, v in WEB.items() if k != "standbyInstanceId"}],
        "pairs[0].standbyInstanceId: missing",
    ),
    ([{**WEB, "eniIds": []}], "pairs[0].eniIds: empty"),
    ([{**WEB, "eniIds": ["eni-x"]}], "pairs[0].eniIds: 'eni-x' is not"),
    ([{**WEB, "eniIds": [7]}], "pairs[0].eniIds: expected"),
    ([{**WEB, "name": "web site"}], "pairs[0].name: 'web site' is not a pair name"),
    ([WEB, {**DB, "name": "web"}], "pairs[1].name: 'web' is already the name of pairs[0]"),
    ([WEB, {**DB, "eniIds": WEB["eniIds"]}], "pairs[1].eniIds: eni-0aaaaaaaaaaaaaaa3 also belongs"),
    (
        [{**WEB, "standbyInstanceId": WEB["primaryInstanceId"]}],
        "pairs[0].primaryInstanceId and pairs[0].standbyInstanceId:",
    ),
]


@pytest.mark.parametrize(("pairs", "expected"), BAD_PAIR_LISTS, ids=[e for _, e in BAD_PAIR_LISTS])
def test_a_bad_pairs_entry_names_its_position_and_key(pairs: Any, expected: str) -> None:
    # Given a pairs list with one problem
    # When the settings are read
    message = problems_of({"pairs": pairs, "notifyEmail": "ops@example.com"})
    # Then the message points at the entry and key
    assert message.startswith(expected), message


def test_pairs_and_single_pair_keys_together_are_refused() -> None:
    # Given both forms at once
    message = problems_of({**SINGLE_PAIR_CONTEXT, "pairs": [WEB]})
    # Then the operator is told to choose
    assert message.startswith("pairs: give either"), message
    assert "primaryInstanceId" in message


def test_pairs_whose_names_differ_only_by_a_dash_coexist() -> None:
    # Given pairs 'db-1' and 'db1' (no output is named after a pair any more)
    settings = settings_from(
        {"pairs": [{**WEB, "name": "db-1"}, {**DB, "name": "db1"}], "notifyEmail": "o@example.com"}
    )
    # Then both are read, each with its own alarm
    assert [(p.name, p.alarm_name) for p in settings.failover.pairs] == [
        ("db-1", "EniFailover-db-1-primary-status"),
        ("db1", "EniFailover-db1-primary-status"),
    ]


def test_a_stack_name_too_long_for_its_state_rule_is_refused() -> None:
    # Given a stack name one character too long for its EventBridge rule's 64
    name = "S" * 50
    assert len(f"{name}-instance-state") == 65
    # Then the stack name is refused, naming the rule and the longest name allowed
    message = problems_of({**SINGLE_PAIR_CONTEXT, "stackName": name})
    assert message.startswith(f"stackName: {name!r} is too long"), message
    assert f"'{name}-instance-state'" in message
    assert "64 characters" in message
    assert "at most 49 characters" in message
    # And one character shorter is accepted, with a long pair name too: no rule is named
    # after a pair
    settings = settings_from({**SINGLE_PAIR_CONTEXT, "stackName": name[:49], "pairName": "p" * 40})
    assert settings.stack_name == name[:49]
    assert [p.name for p in settings.failover.pairs] == ["p" * 40]


def many_pairs(count: int, *, interfaces: int = 1) -> list[dict[str, Any]]:
    """``count`` valid pairs, each with its own instances and ``interfaces`` interfaces."""
    return [
        {
            "name": f"pair-{n:03d}",
            "primaryInstanceId": f"i-{2 * n:017x}",
            "standbyInstanceId": f"i-{2 * n + 1:017x}",
            "eniIds": [f"eni-{interfaces * n + k:017x}" for k in range(interfaces)],
        }
        for n in range(count)
    ]


def test_200_pairs_are_accepted() -> None:
    # Given 200 pairs, far more than the function's environment held (~14)
    # When the settings are read
    settings = settings_from({"pairs": many_pairs(200), "notifyEmail": "ops@example.com"})
    # Then every pair is there, in order
    assert [p.name for p in settings.failover.pairs] == [f"pair-{n:03d}" for n in range(200)]
    assert settings.failover.pairs[-1].interface_ids == (f"eni-{199:017x}",)


def test_trigger_alarms_count_towards_the_roles_managed_policies() -> None:
    # Given the 200 pairs that fit, each naming a trigger alarm its DescribeAlarms must name
    pairs = [
        {**pair, "triggerAlarms": [f"{pair['name']}-checkout-unhealthy-host-count"]}
        for pair in many_pairs(200)
    ]
    # When the settings are read
    with pytest.raises(SettingsError) as raised:
        settings_from({"pairs": pairs, "notifyEmail": "ops@example.com"})
    # Then the alarms' ARNs are counted with the instances' and interfaces': too many
    [message] = raised.value.problems
    assert message.startswith(
        "pairs: 200 pairs name too many instances and interfaces and trigger alarms"
    ), message
    assert "at most 10" in message


def test_more_pairs_than_the_roles_managed_policies_hold_are_refused() -> None:
    # Given 300 pairs of two interfaces each: 1,200 ARNs to attach and detach on
    pairs = many_pairs(300, interfaces=2)
    # When the settings are read
    with pytest.raises(SettingsError) as raised:
        settings_from({"pairs": pairs, "notifyEmail": "ops@example.com"})
    # Then the one problem names the pairs, the managed policies they need and IAM's 10
    [message] = raised.value.problems
    assert message.startswith("pairs: 300 pairs name too many instances and interfaces"), message
    found = re.search(r"need (\d+) managed policies", message)
    assert found is not None, message
    needed = int(found.group(1))
    # (at least what the ARNs need at their shortest, 6,144 characters a policy)
    shortest = sum(
        len(f'"arn:aws:ec2:us-east-1:123456789012:{kind}/{resource_id}",')
        for pair in pairs
        for kind, resource_id in (
            ("instance", pair["primaryInstanceId"]),
            ("instance", pair["standbyInstanceId"]),
            *(("network-interface", i) for i in pair["eniIds"]),
        )
    )
    assert needed > 10
    assert needed >= -(-shortest // 6144)
    assert "at most 10" in message
    # And the ways out: split the pairs across stacks, or declare them by tags
    assert "-c stackName=" in message
    assert "discovery=tags" in message


@pytest.mark.parametrize(
    ("pairs", "expected"), [((WEB,), 2 * 1 + 2 + 2), ((WEB, DB), 2 * 2 + 2 + 2)]
)
def test_reserved_concurrency_covers_every_pair_at_once_by_default(
    pairs: tuple[dict[str, Any], ...], expected: int
) -> None:
    # Given pairs and no reservedConcurrency key
    # When the settings are read
    settings = settings_from({"pairs": list(pairs), "notifyEmail": "ops@example.com"})
    # Then both triggers of every pair's failure, the readiness check, the sweep and two
    # spare fit
    assert settings.reserved_concurrency == expected


def test_discovery_reserves_for_tagged_pairs_too() -> None:
    # Given two configured pairs, and pairs discovered by tags that synth cannot count
    settings = settings_from(
        {"pairs": [WEB, DB], "notifyEmail": "ops@example.com", "discovery": "tags"}
    )
    # Then the reservation plans for at least 20 tagged pairs besides the two
    assert settings.reserved_concurrency == 2 * (2 + 20) + 2 + 2
    # And a stack of tagged pairs only needs no configured pair
    only_tags = settings_from({"notifyEmail": "ops@example.com", "discovery": "tags"})
    assert only_tags.failover.pairs == ()
    assert only_tags.failover.discover_tags is True
    # And checks them hourly: a run checks what fits in its minute
    assert only_tags.readiness_schedule == "rate(1 hour)"


def test_an_unknown_discovery_is_named() -> None:
    with pytest.raises(SettingsError, match="discovery: 'dns' is not 'tags'"):
        settings_from({**SINGLE_PAIR_CONTEXT, "discovery": "dns"})


@pytest.mark.parametrize(
    ("given", "expected"), [("12", 12), (12, 12), (" 3 ", 3), ("none", None), ("NONE", None)]
)
def test_reserved_concurrency_from_context_or_none(given: object, expected: int | None) -> None:
    settings = settings_from({**SINGLE_PAIR_CONTEXT, "reservedConcurrency": given})
    assert settings.reserved_concurrency == expected


@pytest.mark.parametrize("given", [0, "0"])
def test_zero_reserved_concurrency_reserves_nothing(given: object) -> None:
    # An account that cannot spare 100 unreserved executions turns the reservation off.
    settings = settings_from({**SINGLE_PAIR_CONTEXT, "reservedConcurrency": given})
    assert settings.reserved_concurrency is None


@pytest.mark.parametrize("given", [2, "1", -3, "many", 2.5, True, [5]])
def test_a_reserved_concurrency_that_cannot_serve_every_pair_is_refused(given: object) -> None:
    # Given a reservation too small for one pair plus the schedules, or not a number
    message = problems_of({**SINGLE_PAIR_CONTEXT, "reservedConcurrency": given})
    # Then the key, the minimum, the way to turn it off and the account's floor are named
    assert message.startswith("reservedConcurrency: "), message
    assert "at least 3" in message
    assert "0 or 'none' to reserve nothing" in message
    assert "keep 100 executions unreserved" in message


@pytest.mark.parametrize(
    ("context", "accepted"),
    [
        ({"reservedConcurrency": 900}, True),  # leaves Lambda's default quota exactly 100
        ({"reservedConcurrency": 901}, False),
        ({"accountConcurrency": 106}, True),  # the default 6 for one pair, and 100 left
        ({"accountConcurrency": 105}, False),
        ({"accountConcurrency": "10"}, False),  # a new account's lowered quota
        ({"accountConcurrency": "10", "reservedConcurrency": "none"}, True),
        ({"accountConcurrency": 5000, "reservedConcurrency": 2000}, True),
    ],
)
def test_the_stacks_reservations_must_leave_the_account_100_unreserved(
    context: dict[str, Any], accepted: bool
) -> None:
    # Given a reservation and the account's concurrency quota (Lambda's default: 1,000)
    given = {**SINGLE_PAIR_CONTEXT, **context}
    if accepted:
        # Then a reservation that leaves 100 unreserved is kept
        settings = settings_from(given)
        quota = int(context.get("accountConcurrency", 1000))
        assert sum(settings.reservations.values()) <= max(quota - 100, 0)
        return
    # Then one that leaves fewer is refused before the deploy fails on it, with the
    # count, the floor, the quota assumed and the three ways out
    message = problems_of(given)
    assert message.startswith("reservedConcurrency: the stack reserves "), message
    assert "fewer than 100 unreserved" in message
    assert "the failover function (reservedConcurrency)" in message
    assert "Lambda's default is 1000" in message
    assert "-c reservedConcurrency=none" in message
    assert "-c accountConcurrency=QUOTA" in message


def test_an_account_concurrency_that_is_not_a_number_is_named() -> None:
    message = problems_of({**SINGLE_PAIR_CONTEXT, "accountConcurrency": "lots"})
    assert message.startswith("accountConcurrency: 'lots' is not a whole number"), message


def test_the_probers_reservation_counts_towards_the_accounts_unreserved_floor() -> None:
    # Given a probed pair whose failover function alone would leave exactly 100 unreserved
    given = {**PROBED_PAIR, "reservedConcurrency": 900}
    # Then the prober's own executions tip it over, and the message names them
    message = problems_of(given)
    assert message.startswith("reservedConcurrency: the stack reserves 903 "), message
    assert "the prober 3" in message
    # And with room for both, both are reserved
    settings = settings_from({**PROBED_PAIR, "reservedConcurrency": 897})
    assert settings.reservations == {
        "the failover function (reservedConcurrency)": 897,
        "the prober": 3,
    }
