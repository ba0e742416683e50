"""`python -m mcp_blackbox` runs the command line."""

from mcp_blackbox.cli import main

raise SystemExit(main())
