"""Several processes on PostgreSQL and Redis behind nginx, SIGKILL durability, PostgreSQL."""
