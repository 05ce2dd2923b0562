"""The assistant: knowledge base, matching and dialogue (pure code, no transport)."""
