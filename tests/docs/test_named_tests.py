"""Every test the docs name as proof exists.

docs/reliability.md names, for each failure mode, the test that proves what it says
(`faults/test_throttling.py::test_...`, then `…::test_...` for more of the same file); a
test renamed or removed would leave a claim that nothing proves. The same holds for a test
named anywhere in the README or docs/.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
# `infra/test_stack.py::test_name[param]`, or `…::test_name` for the file named before it.
REFERENCE = re.compile(
    r"`(?:tests/)?(?P<file>(?:[a-z_]+/)+test_[a-z_0-9]+\.py)(?:::(?P<test>\w+))?[^`]*`"
    r"|`…::(?P<same_file>\w+)[^`]*`"
)


def defined_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


def missing_references(doc: Path, *, shown_from: Path = ROOT) -> list[str]:
    missing = []
    for number, line in enumerate(doc.read_text().splitlines(), start=1):
        file: str | None = None
        for match in REFERENCE.finditer(line):
            if match["file"]:
                file = match["file"]
                test = match["test"]
            else:
                test = match["same_file"]
            where = f"{doc.relative_to(shown_from)}:{number}"
            if file is None:
                missing.append(f"{where}: …::{test} follows no file")
            elif not (TESTS / file).is_file():
                missing.append(f"{where}: no file tests/{file}")
            elif test and test not in defined_in(TESTS / file):
                missing.append(f"{where}: no {test} in tests/{file}")
    return missing


def test_every_test_the_docs_name_exists() -> None:
    # Given every test the README and docs/ name
    missing = [problem for doc in DOCS for problem in missing_references(doc)]
    # Then each is a test of that file
    assert missing == []


def test_a_renamed_test_is_found(tmp_path: Path) -> None:
    # Given a page naming a test that exists and one that does not, in the same row
    page = tmp_path / "page.md"
    page.write_text(
        "| row | `docs/test_named_tests.py::test_a_renamed_test_is_found`, "
        "`…::test_that_was_renamed` |\n"
    )
    missing = missing_references(page, shown_from=tmp_path)
    # Then only the missing one is named
    assert missing == ["page.md:1: no test_that_was_renamed in tests/docs/test_named_tests.py"]
