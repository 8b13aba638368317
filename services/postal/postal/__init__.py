"""postal: public-postal shipments of dossiers and results, their tariffs and quotes."""
