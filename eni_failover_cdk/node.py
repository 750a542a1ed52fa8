"""Node.js, which the CDK libraries (jsii) run: no end-of-life banner for a supported one.

jsii prints a banner when its Node.js major is past end of life, which the CDK CLI shows as
Python byte strings on every synth and deploy. The README supports Node.js 20 and later: for
those the banner repeats a choice the operator has made, so the app tells jsii so, with
jsii's own variable, before the CDK libraries load (their import starts jsii's Node.js
process, which reads it). An older Node.js keeps its warning; a value already set is kept.
Standard library only: eni_failover_cdk/__init__.py calls it before anything imports aws_cdk.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import MutableMapping

OLDEST_SUPPORTED_NODE = 20
SILENCE_END_OF_LIFE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"


def quiet_end_of_life(environment: MutableMapping[str, str] = os.environ) -> None:
    """Set jsii's silencing variable to the Node.js major it will run, if supported."""
    if environment.get(SILENCE_END_OF_LIFE):
        return
    node = environment.get("JSII_NODE", "node")  # the Node.js jsii runs (jsii's own rule)
    try:
        version = subprocess.run(  # noqa: S603 - the Node.js jsii would run
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return  # no Node.js: jsii says so itself
    found = re.match(r"v(\d+)\.", version.strip())
    if found is not None and int(found[1]) >= OLDEST_SUPPORTED_NODE:
        environment[SILENCE_END_OF_LIFE] = found[1]
