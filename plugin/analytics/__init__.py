"""Does the program pay? Figures for the merchant, each one SQL aggregates that run on both
SQLite (demo) and PostgreSQL, each labelled with its definition (definitions.py)."""
