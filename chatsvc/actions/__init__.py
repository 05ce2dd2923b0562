"""Everything that changes state: one module per noun, each action a function of a session."""
