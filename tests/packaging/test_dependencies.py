"""The wheel's declared ranges and the exact pins the tests run against cannot drift apart."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN_FILES = ("requirements.txt", "requirements-dev.txt")


def pinned() -> dict[str, Requirement]:
    """Every `name[extras]==version` line of the requirements files, by canonical name."""
    pins: dict[str, Requirement] = {}
    for name in PIN_FILES:
        for line in (ROOT / name).read_text().splitlines():
            text = line.partition("#")[0].strip()
            if not text or text.startswith("-"):  # -r, -c: the other file is read too
                continue
            requirement = Requirement(text)
            pins[canonicalize_name(requirement.name)] = requirement
    return pins


def declared() -> list[Requirement]:
    """pyproject.toml's dependencies and every extra's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return [Requirement(line) for line in lines]


def test_the_requirements_files_pin_exact_versions() -> None:
    for requirement in pinned().values():
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{requirement} is not an exact pin"


@pytest.mark.parametrize("requirement", declared(), ids=str)
def test_each_declared_range_admits_its_pin(requirement: Requirement) -> None:
    # Given a requirement the wheel declares
    # When we look up the pin the tests run against
    pin = pinned().get(canonicalize_name(requirement.name))
    # Then there is one, with at least the extras the wheel asks for, inside the range
    assert pin is not None, f"{requirement.name} is declared in pyproject.toml but not pinned"
    assert requirement.extras <= pin.extras, f"the pin {pin} lacks extras of {requirement}"
    (version,) = (spec.version for spec in pin.specifier)
    assert requirement.specifier.contains(version), f"{pin} is outside {requirement}"
