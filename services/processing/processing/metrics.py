"""Processing's business metric families (the kit's HTTP and outbox families come with servicekit.metrics)."""
from prometheus_client import Gauge

# Set by the worker's deadline watch; "mostrecent" for the same reason as the kit's worker gauges.
DOSSIERS_OVERDUE = Gauge(
    "motcua_dossiers_overdue", "Dossiers past their due date while the clock runs (received or in review)",
    ["agency"], multiprocess_mode="mostrecent",
)
