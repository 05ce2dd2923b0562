"""The real server on a random port, spoken to by real python-socketio and HTTP clients."""
