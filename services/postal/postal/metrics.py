"""Postal's business metric families (the kit's HTTP, event and outbox families come with it)."""
from prometheus_client import Counter

SHIPMENTS = Counter("motcua_shipments_total", "Shipments created, by the status they were created in", ["status"])
