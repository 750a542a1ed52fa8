"""Benchmarks for ENI Failover: failover time against its floor and against other tools' ways.

`python -m bench` (or `make bench`) runs every measurement on one emulated AWS (moto in
server mode on loopback, with the faithful EC2 simulator's latencies), writes
docs/benchmarks.md and prints its tables. One module per measurement:

- swap_time: trigger to interface attached on the standby, against the physical floor
- comparators: the same move done the ways other failover tools do it
- api_calls: AWS calls per failover, by operation, against the minimum
- cold_start: import and first event in fresh interpreters, against boto3 + Powertools
- scale: many pairs failing at once under EC2's request rate limits
- detection: the time from failure to invocation, modelled from AWS's documentation
- service_stop: a probed service stops answering, for every move kind, end to end
- soak: a healthy probed pair behind a lossy network makes no trigger, then fails over

Benchmarks check correctness (the interface moved, exactly once; a lossy network moved
nothing) and fail if it did not; timings are only reported, never asserted.
"""
