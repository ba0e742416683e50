"""Real MCP servers (official `mcp` SDK) that play the bundled incident of `mcp-blackbox demo`.

Each file runs as a stdio MCP server: `python samples/servers/helpdesk.py`. They hold fake data only
(the "secrets" are documentation example keys) and never touch the network: the outbound tools
record what they would have sent in a local outbox file.
"""
