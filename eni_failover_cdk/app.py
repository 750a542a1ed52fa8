"""The CDK app: read the context once, refuse a bad one readably, synthesize the stack.

Runnable as `python -m eni_failover_cdk.app` from anywhere this package is importable (an
installed wheel as well as a checkout), which is how the emulator synthesizes it; the
checkout's app.py, which cdk.json runs, is one call of main().
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from eni_failover_cdk.settings import SettingsError, read_settings
from eni_failover_cdk.stack import EniFailoverStack


def build_app(app: cdk.App) -> EniFailoverStack:
    """Add the stack and the cdk-nag checks to ``app``; raise SettingsError on bad context."""
    settings = read_settings(app.node.try_get_context, keys=app.node.get_all_context())
    stack = EniFailoverStack(
        app,
        "EniFailover",
        settings=settings,
        description="ENI Failover: moves floating network interfaces from a failed primary "
        "instance to its standby",
    )
    # Every finding fails synth unless acknowledged, with a reason, on its resource.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main(app: cdk.App | None = None) -> None:
    app = app or cdk.App()
    try:
        build_app(app)
    except SettingsError as error:
        print(error.report(), file=sys.stderr)
        sys.exit(1)
    app.synth()


if __name__ == "__main__":
    main()
