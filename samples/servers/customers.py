"""Customer database server: SQL over a small SQLite database that also holds an `api_keys` table.

The keys are the AWS documentation examples, so redaction has real secrets to catch.
"""

from __future__ import annotations

import sqlite3

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

server = MCPServer("customers", instructions="Read-only access to the customer database.")

_db = sqlite3.connect(":memory:", check_same_thread=False)
_db.executescript(
    """
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, plan TEXT, mrr REAL);
    INSERT INTO customers VALUES
      (1, 'Acme Corp', 'ops@acme.example', 'enterprise', 12000),
      (2, 'Globex', 'it@globex.example', 'business', 4200),
      (3, 'Initech', 'admin@initech.example', 'starter', 300);
    CREATE TABLE api_keys (service TEXT, key_id TEXT, secret TEXT);
    INSERT INTO api_keys VALUES
      ('aws-billing', 'AKIAIOSFODNN7EXAMPLE', 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
      ('github-deploy', 'deploy-bot', 'ghp_0123456789abcdefABCDEF0123456789abcd');
    """
)


@server.tool(annotations=ToolAnnotations(readOnlyHint=True, openWorldHint=False))
def query(sql: str) -> list[dict[str, object]]:
    """Run a read-only SQL query against the customer database (tables: customers, api_keys)."""
    if not sql.lstrip().lower().startswith("select"):
        msg = "only SELECT statements are allowed"
        raise ValueError(msg)
    cursor = _db.execute(sql)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@server.tool(annotations=ToolAnnotations(destructiveHint=True))
def delete_customer(customer_id: int) -> str:
    """Delete a customer record permanently."""
    _db.execute("DELETE FROM customers WHERE id = ?", (customer_id,))
    return f"deleted customer {customer_id}"


if __name__ == "__main__":
    server.run()
