"""The README's "Use it in your own CDK app" example synthesizes as printed.

tests/packaging/test_construct_from_wheel.py runs the same example from the installed wheel,
outside the checkout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from eni_failover.config import CONFIG_FILE_NAME, ENV_CONFIG_REFS
from eni_failover.contract import OUTPUT_FUNCTION_NAME, OUTPUT_TRIGGER_TOPIC_ARN

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Use it in your own CDK app"
EXAMPLE_STACK = "WebTier"


def readme_example() -> str:
    """The section's one Python block."""
    text = README.read_text()
    start = text.index(SECTION)
    section = text[start : text.index("\n## ", start + len(SECTION))]
    (example,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return str(example)


def check_synthesized(outdir: Path) -> None:
    """What the example must have produced in ``outdir``: the stack with the outputs the CLI
    reads, and the function's code asset with its configuration beside it."""
    template = json.loads((outdir / f"{EXAMPLE_STACK}.template.json").read_text())
    assert {OUTPUT_FUNCTION_NAME, OUTPUT_TRIGGER_TOPIC_ARN} <= set(template["Outputs"])
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions
    for function in functions:
        assert ENV_CONFIG_REFS in function["Properties"]["Environment"]["Variables"]
    assets = [p for p in outdir.glob("asset.*") if (p / CONFIG_FILE_NAME).is_file()]
    assert assets, sorted(p.name for p in outdir.iterdir())
    for asset in assets:
        assert (asset / "eni_failover" / "handler.py").is_file()
        assert not list(asset.rglob("__pycache__"))


def test_the_readme_example_is_ten_lines_or_so() -> None:
    assert len(readme_example().splitlines()) <= 25


def test_the_readme_example_synthesizes(tmp_path: Path) -> None:
    # Given the README's example as a file of its own, run the way `cdk synth` runs an app
    # (a process of its own, told where to write by CDK_OUTDIR)
    app = tmp_path / "app.py"
    app.write_text(readme_example())
    outdir = tmp_path / "cdk.out"
    # When it runs
    ran = subprocess.run(  # noqa: S603 - this interpreter, on the README's example
        [sys.executable, str(app)],
        cwd=tmp_path,
        env={**os.environ, "CDK_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Then the stack is synthesized with the construct's outputs and the function's code
    assert ran.returncode == 0, ran.stderr
    check_synthesized(outdir)
