"""Forensics over the store with DuckDB (read-only): views, action chains, detections, SQL, exports."""
