"""eni-failover: the operator's command line for ENI Failover.

Status, readiness checks, manual failover and failback, pause and resume, and drills, on
the deployed stack (its outputs, the function itself) or on a local sandbox.
"""
