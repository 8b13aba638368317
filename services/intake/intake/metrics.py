"""Intake's business metric families (the kit's HTTP and outbox families come with servicekit.metrics)."""
from prometheus_client import Counter

DOSSIERS_SUBMITTED = Counter(
    "motcua_dossiers_submitted_total",
    "Dossiers filed at intake (counted once per dossier, after commit; idempotent replays are not counted)",
    ["procedure", "channel"],
)
