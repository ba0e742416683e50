"""Attack scenarios reproducing public MCP attack material, for the detection evaluation.

`server.py` is one spec-driven MCP server (official SDK) that each scenario configures; `agent.py`
is a naive scripted agent that follows instructions it reads the way an unguarded model would;
`scenarios.py` holds the scenarios (texts copied from public sources, with provenance) and their
expected findings; `runner.py` plays them through the real `mcp-blackbox wrap` and scores them.
"""
