"""The embedded AWS emulator around the failover: moto, the faithful EC2, the stack's resources.

Not shipped in the Lambda; used by tests, `make demo`, the CLI's local mode and benchmarks.
"""
