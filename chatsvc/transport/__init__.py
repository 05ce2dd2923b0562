"""Transport: HTTP views and Socket.IO handlers. The only layer that talks to clients."""
