"""The knowledge base's files loaded and checked: topics, fields, articles."""
