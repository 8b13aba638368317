"""Processing's business metric families (the kit's HTTP and outbox families come with servicekit.metrics)."""
from prometheus_client import Counter, Gauge

# Set by the worker's deadline watch; "mostrecent" for the same reason as the kit's worker gauges.
DOSSIERS_OVERDUE = Gauge(
    "motcua_dossiers_overdue", "Dossiers past their due date while the clock runs (received or in review)",
    ["agency"], multiprocess_mode="mostrecent",
)

INDICATOR_766 = Gauge(
    "motcua_766_indicator_rate", "Decision 766 indicators of the current month so far (2.2 in working days)",
    ["agency", "indicator"], multiprocess_mode="mostrecent",
)
TARGET_MET_766 = Gauge(
    "motcua_766_target_met", "1 when the agency meets the province's target this month so far",
    ["agency", "target"], multiprocess_mode="mostrecent",
)

# The national portal (DVCQG) sync, counted by the worker's sync job (docs/dvcqg.md "The sync").
DVCQG_SYNC_QUEUED = Counter("motcua_dvcqg_sync_queued_total", "Dossier steps queued for the national portal")
DVCQG_SYNC_SENT = Counter("motcua_dvcqg_sync_sent_total", "Dossier steps the national portal accepted")
DVCQG_SYNC_FAILED = Counter(
    "motcua_dvcqg_sync_failed_total", "Attempts to send a step that failed (outcome: retry or parked)", ["outcome"],
)
DVCQG_SYNC_PARKED = Gauge(
    "motcua_dvcqg_sync_parked", "Steps the national portal refused, waiting for an admin's re-sync",
    multiprocess_mode="mostrecent",
)
DVCQG_SYNC_OLDEST_PENDING = Gauge(
    "motcua_dvcqg_sync_oldest_pending_seconds", "Age of the oldest step not yet accepted by the national portal",
    multiprocess_mode="mostrecent",
)
