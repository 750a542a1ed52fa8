"""`eni-failover history` on the sandbox, and what `status` says of the last outcome and check."""

from __future__ import annotations

import re

import pytest

from tests.cli.conftest import PAIR, RunningSandbox
from tests.cli.test_delete_on_termination import set_delete_on_termination


def test_history_lists_moves_and_operator_actions_newest_first(sandbox: RunningSandbox) -> None:
    topology = sandbox.sandbox.topology
    # Given an operator paused and resumed the pair, then moved it there and back
    assert sandbox.run("pause", PAIR, "--by", "alice", "--reason", "patching").code == 0
    assert sandbox.run("resume", PAIR, "--by", "alice").code == 0
    assert sandbox.run("failover", PAIR, "--force", "--by", "bob").code == 0
    assert sandbox.run("failback", PAIR, "--by", "bob").code == 0

    # When they ask for the history
    ran = sandbox.run("history")

    # Then every action is there, newest first, with its outcome, its time and who asked
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0].startswith("History of every pair on sandbox")
    assert lines[0].endswith("newest first (4):")
    assert re.match(r"\s+WHEN\s+PAIR\s+WHAT\s+OUTCOME\s+TOOK\s+BY\s+TRIGGER$", lines[1])
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
    assert re.match(
        rf"\s+{when}\s+{PAIR}\s+failback\s+swapped\s+\d+\.\d s\s+bob\s+"
        "manual request: failback requested by bob$",
        lines[2],
    )
    assert re.match(
        rf"\s+{when}\s+{PAIR}\s+failover\s+swapped\s+\d+\.\d s\s+bob\s+"
        "manual request: failover requested by bob$",
        lines[3],
    )
    assert re.match(
        rf"\s+{when}\s+{PAIR}\s+resume\s+resumed\s+-\s+alice\s+operator: resume$", lines[4]
    )
    assert re.match(
        rf"\s+{when}\s+{PAIR}\s+pause\s+paused\s+-\s+alice\s+operator: pause \(patching\)$",
        lines[5],
    )

    # And --json gives the same entries with their fields
    entries = sandbox.run("history", PAIR, "--json").json()["entries"]
    assert [(e["action"], e["direction"], e["outcome"], e["by"]) for e in entries] == [
        ("failback", "failback", "swapped", "bob"),
        ("failover", "failover", "swapped", "bob"),
        ("resume", None, "resumed", "alice"),
        ("pause", None, "paused", "alice"),
    ]
    assert entries[0]["summary"].startswith(f"Moved {topology.interface_id}")
    assert entries[0]["swap_seconds"] > 0
    assert entries[0]["at"] > entries[1]["at"] > entries[2]["at"] > entries[3]["at"]


def test_limit_and_since_choose_the_newest_entries(sandbox: RunningSandbox) -> None:
    # Given three refused failovers (the primary is healthy and nobody forced them)
    for who in ("ann", "ben", "cid"):
        assert sandbox.run("failover", PAIR, "--by", who).code == 1

    # Then --limit keeps the newest
    limited = sandbox.run("history", PAIR, "--limit", "2", "--json").json()["entries"]
    assert [e["by"] for e in limited] == ["cid", "ben"]
    assert "the last 2" in sandbox.run("history", "--limit", "2").out
    # And --since takes an ISO time, or a duration back from now
    second = limited[1]["at"]
    since = sandbox.run("history", PAIR, "--since", second, "--json").json()["entries"]
    assert [e["by"] for e in since] == ["cid", "ben"]
    assert len(sandbox.run("history", "--since", "2h", "--json").json()["entries"]) == 3
    future = sandbox.run("history", "--since", "2999-01-01T00:00")
    assert future.code == 0
    assert "No history for every pair since 2999-01-01 00:00:00 UTC" in future.out


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (("--since", "yesterday"), "'yesterday' is not an ISO time"),
        (("--limit", "0"), "expected a whole number of entries of at least 1"),
    ],
)
def test_wrong_values_are_refused_before_anything_is_asked(
    sandbox: RunningSandbox,
    arguments: tuple[str, ...],
    complaint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        sandbox.run("history", *arguments)
    assert exit_.value.code == 2
    assert complaint in capsys.readouterr().err


def test_history_of_an_unknown_pair_lists_the_configured_ones(sandbox: RunningSandbox) -> None:
    ran = sandbox.run("history", "web")
    assert ran.code == 4
    assert "no pair named 'web'" in ran.err


def test_status_names_the_direction_of_the_last_outcome(sandbox: RunningSandbox) -> None:
    # Given the operator failed over
    assert sandbox.run("failover", PAIR, "--force", "--by", "alice").code == 0
    # Then status says which way the last move went, not only that it swapped
    [pair] = sandbox.run("status", "--json").json()["pairs"]
    assert (pair["last_outcome"]["outcome"], pair["last_outcome"]["direction"]) == (
        "swapped",
        "failover",
    )
    assert re.search(r"last outcome\s+failover: swapped\s+", sandbox.run("status").out)
    # And after the failback, that way
    assert sandbox.run("failback", PAIR, "--by", "alice").code == 0
    assert re.search(r"last outcome\s+failback: swapped\s+", sandbox.run("status").out)


def test_status_shows_the_verdict_of_an_operators_check(sandbox: RunningSandbox) -> None:
    # Given nobody has checked the pair: readiness is unknown
    assert re.search(r"readiness\s+unknown\s+not checked yet", sandbox.run("status").out)
    # When an operator checks it
    assert sandbox.run("check", PAIR, "--by", "carol").code == 0
    # Then status shows the verdict, when and by whom, and no longer says unknown
    text = sandbox.run("status").out
    assert re.search(r"readiness\s+READY\s+at the last check, .* UTC \(.*\) by carol", text)
    [pair] = sandbox.run("status", "--json").json()["pairs"]
    assert pair["readiness"]["verdict"] == "READY"
    assert pair["readiness"]["by"] == "carol"


def test_a_drill_is_in_the_history_with_the_move_it_made(sandbox: RunningSandbox) -> None:
    # Given an operator drilled the pair and failed back
    assert sandbox.run("drill", PAIR, "--yes", "--by", "dana").code == 0
    # Then the history has the failback, the drill and the alarm's move, newest first
    entries = sandbox.run("history", PAIR, "--json").json()["entries"]
    assert [(e["action"], e["outcome"], e["by"]) for e in entries] == [
        ("failback", "swapped", "dana"),
        ("drill", "moved", "dana"),
        ("failover", "swapped", "automatic"),
    ]
    assert entries[1]["trigger"] == f"operator: drill through alarm {sandbox.alarm_name}"
    assert entries[2]["trigger"].startswith(f"alarm {sandbox.alarm_name} -> ALARM")


def test_clearing_delete_on_termination_is_in_the_history(sandbox: RunningSandbox) -> None:
    # Given the floating interface's attachment was set to delete on termination
    attachment_id = set_delete_on_termination(sandbox)
    # When an operator clears it through check
    assert sandbox.run("check", PAIR, "--fix-delete-on-termination", "--by", "erin").code == 0
    # Then the history says who cleared which attachment
    [entry] = sandbox.run("history", PAIR, "--json").json()["entries"]
    assert (entry["action"], entry["outcome"], entry["by"]) == (
        "fix-delete-on-termination",
        "cleared",
        "erin",
    )
    assert entry["trigger"] == "operator: check --fix-delete-on-termination"
    assert attachment_id in entry["summary"]
