"""`python -m eni_cli`: the same as the `eni-failover` command."""

from eni_cli.main import main

raise SystemExit(main())
