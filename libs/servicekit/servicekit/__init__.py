"""servicekit: what every Mot Cua service is built on (config, database, events, web, observability)."""
