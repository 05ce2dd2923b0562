"""Replies by email: reading a reply (`reading`) and the inbound SMTP server (`server`)."""
