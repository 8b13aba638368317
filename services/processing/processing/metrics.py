"""Processing's business metric families (the kit's HTTP and outbox families come with servicekit.metrics)."""
from prometheus_client import Gauge

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
