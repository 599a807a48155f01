"""Backup and restore of a whole installation (database, variant store, files, audit checkpoints)."""
