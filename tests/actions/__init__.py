"""Actions on a real database session (SQLite and PostgreSQL), and the outbox senders."""
