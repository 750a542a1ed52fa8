#!/usr/bin/env python3
"""CDK entry point of a checkout (cdk.json runs it): the app is eni_failover_cdk.app."""

from __future__ import annotations

from eni_failover_cdk.app import build_app, main

__all__ = ["build_app", "main"]

if __name__ == "__main__":
    main()
