"""Background senders of every process: mail, webhook events."""
