"""intake: the procedure catalogue, dossiers as filed, and the citizen API."""
