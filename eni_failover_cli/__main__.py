"""`python -m eni_failover_cli`: the same as the `eni-failover` command."""

from eni_failover_cli.main import main

raise SystemExit(main())
