"""Capture inside MCP hosts, clients, servers and proxies: normalise, redact, hash, enqueue."""
