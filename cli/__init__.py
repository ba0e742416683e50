"""mcp-blackbox: the flight recorder and forensics bench for the Model Context Protocol.

The package root holds only the version and the command line. The layers live in sub-packages:
`mcp_blackbox.schema` (the event contract), `mcp_blackbox.collector` (emitters and the ingest
service), `mcp_blackbox.forensics` (DuckDB over the store) and `mcp_blackbox.tui` (the investigator
bench). Importing this package imports nothing heavy.
"""

__version__ = "0.1.0"
