"""The views of DESIGN §5 over a store's Parquet files.

`events` (deduplicated by event_id) is the base of everything; the richer views (`calls`, `actions`,
`tool_versions`, `sessions`, `edges`, `findings`) are built on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_blackbox.schema.arrow import arrow_schema

if TYPE_CHECKING:
    from mcp_blackbox.forensics.store import Store


def _empty_events_sql() -> str:
    """A typed, empty `events` relation for a store with no files yet."""
    type_map = {
        "string": "VARCHAR", "int64": "BIGINT", "int16": "SMALLINT", "double": "DOUBLE", "bool": "BOOLEAN",
        "timestamp[us, tz=UTC]": "TIMESTAMPTZ", "list<item: string>": "VARCHAR[]",
    }
    cols = ", ".join(f"CAST(NULL AS {type_map[str(f.type)]}) AS {f.name}" for f in arrow_schema())
    return f"SELECT {cols} WHERE false"


def register_views(store: Store) -> None:
    """Create the views on the store's connection."""
    con = store.con
    if store.has_events():
        glob = store.events_glob.replace("'", "''")
        con.execute(
            "CREATE OR REPLACE VIEW raw_events AS SELECT * FROM read_parquet("  # noqa: S608
            f"'{glob}', hive_partitioning = true, union_by_name = true)"
        )
        con.execute(
            "CREATE OR REPLACE VIEW events AS SELECT * EXCLUDE (date) FROM raw_events "
            "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingest_time NULLS LAST) = 1"
        )
    else:
        con.execute(f"CREATE OR REPLACE VIEW events AS {_empty_events_sql()}")
