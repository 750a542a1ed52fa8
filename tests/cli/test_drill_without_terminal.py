"""A drill run by a script never drops the failback question silently."""

from __future__ import annotations

from tests.cli.conftest import PAIR, RunningSandbox


def test_a_drill_without_a_terminal_says_it_will_not_fail_back_and_how_to(
    sandbox: RunningSandbox,
) -> None:
    # Given no terminal to answer (the test's stdin), and neither --yes nor --no-failback
    # When the drill runs
    ran = sandbox.run("drill", PAIR)
    # Then it says so before it starts, and again at the end, with the option that fails back
    assert ran.code == 0, ran.err
    first, *_ = ran.out.splitlines()
    assert (
        first == "No terminal to ask at: the drill will not fail back afterwards (--yes makes it)."
    )
    assert "Not failing back: there is no terminal to ask at" in ran.out
    assert "--yes makes it fail back without asking" in ran.out
    assert f"eni-failover failback {PAIR}" in ran.out
    assert sandbox.where() == sandbox.sandbox.topology.standby_instance_id


def test_a_scripted_drill_in_json_records_why_it_did_not_fail_back(
    sandbox: RunningSandbox,
) -> None:
    ran = sandbox.run("--json", "drill", PAIR)
    assert ran.code == 0, ran.err
    result = ran.json()
    assert result["failback"] is None
    assert "--yes" in result["failback_skipped"]


def test_no_failback_asked_for_is_not_called_a_missing_terminal(sandbox: RunningSandbox) -> None:
    ran = sandbox.run("drill", PAIR, "--no-failback")
    assert ran.code == 0, ran.err
    assert "No terminal" not in ran.out
    assert "Not failing back: the interface stays on the standby." in ran.out
