"""Intake's business metric families (the kit's HTTP and outbox families come with servicekit.metrics)."""
from prometheus_client import Counter, Gauge

DOSSIERS_SUBMITTED = Counter(
    "motcua_dossiers_submitted_total",
    "Dossiers filed at intake (counted once per dossier, after commit; idempotent replays are not counted)",
    ["procedure", "channel"],
)

# The national catalogue sync (catalogue_sync.py), counted by the worker's job after each run's transaction.
CATALOGUE_RUNS = Counter(
    "motcua_dvcqg_catalogue_runs_total", "Catalogue sync runs from the national portal, by outcome (ok | failed)",
    ["outcome"],
)
CATALOGUE_PROCEDURES_CHANGED = Counter(
    "motcua_dvcqg_catalogue_procedures_changed_total",
    "Procedures a catalogue sync run changed, by change (added | changed | withdrawn | restored)", ["change"],
)
CATALOGUE_LAST_SUCCESS = Gauge(
    "motcua_dvcqg_catalogue_last_success_timestamp_seconds",
    "When the last catalogue sync run succeeded (Unix time; 0 before the first)", multiprocess_mode="mostrecent",
)
