"""Results in SQL: the schema, its migrations, claims and writes, and report queries."""

DEFAULT_DB_URL = "sqlite:///maskscan.db"
