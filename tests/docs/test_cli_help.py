"""The commands' own help says what they do (eni_failover_cli.pause: two switches)."""

from __future__ import annotations

import pytest

from eni_failover_cli.main import main


def help_of(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", ["pause", "resume"])
def test_pause_and_resume_name_the_two_switches_they_flip(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the help of pause or resume
    text = help_of(command, capsys)
    # Then it names the pause flag and the alarm's actions, and no state rule: the
    # state-change rules serve every pair, so a pause never touches them
    assert "pause flag" in text
    assert "alarm's actions" in text
    assert "state rule" not in text
