"""The duty capability's pure rules (no database, no I/O)."""
