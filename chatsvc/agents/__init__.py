"""Agents: accounts, presence, queue and routing (pure code, no transport)."""
