"""Pure functions: matcher, search, hours, knowledge base, settings. No server, no database."""
