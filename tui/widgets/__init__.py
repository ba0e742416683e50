"""The bench's widgets, one per file."""
