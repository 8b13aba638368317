"""Postal's business metric families (the kit's HTTP, event and outbox families come with it)."""
from prometheus_client import Counter, Gauge

SHIPMENTS = Counter("motcua_shipments_total", "Shipments entering each status (created, dispatched, delivered, ...)",
                    ["status"])
SUBSIDY = Counter("motcua_postal_subsidy_vnd_total",
                  "VND the agencies owe the operator above what citizens pay, counted at dispatch")
# Set by the worker's sweep; "mostrecent" as the kit's worker gauges (a killed worker's last value is replaced).
STUCK = Gauge("motcua_shipments_stuck", "Shipments under way without news for POSTAL_STUCK_HOURS, by status",
              ["status"], multiprocess_mode="mostrecent")
