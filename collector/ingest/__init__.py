"""The ingest service: Kafka or spool to Parquet, exactly once, quarantined, tamper-evident."""
