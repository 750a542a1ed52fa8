"""CDK infrastructure for ENI Failover: one construct per concern, composed by the stack."""

import sys
from pathlib import Path

from eni_failover_cdk.node import quiet_end_of_life

# Before anything imports aws_cdk, whose import starts jsii's Node.js (eni_failover_cdk.node).
quiet_end_of_life()

# The Lambda's source. The stack validates its context with the function's own models
# (eni_failover.config), so make them importable however infra is loaded.
LAMBDA_SOURCE = Path(__file__).resolve().parent.parent / "lambda"
if str(LAMBDA_SOURCE) not in sys.path:
    sys.path.append(str(LAMBDA_SOURCE))
