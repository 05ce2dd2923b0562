"""The database: engine and migrations, the models, and transactions with group commit."""
