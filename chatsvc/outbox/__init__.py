"""Outboxes: mail and webhook events queued in the transaction that decided them."""
