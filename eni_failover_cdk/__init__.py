"""CDK infrastructure for ENI Failover: one construct per concern, composed by EniFailover,
which any CDK app adds to its own stack (`from eni_failover_cdk import EniFailover`).

EniFailover is imported on first use, so that reading the settings (the emulator, the
benchmarks) does not start CDK's runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eni_failover_cdk.node import quiet_end_of_life

# Before anything imports aws_cdk, whose import starts jsii's Node.js (eni_failover_cdk.node).
quiet_end_of_life()

if TYPE_CHECKING:
    from eni_failover_cdk.construct import EniFailover

__all__ = ["EniFailover"]


def __getattr__(name: str) -> object:
    if name == "EniFailover":
        from eni_failover_cdk.construct import EniFailover  # noqa: PLC0415

        return EniFailover
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
