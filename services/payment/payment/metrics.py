"""Payment's business metric families (the kit's HTTP, event and outbox families come with it)."""
from prometheus_client import Counter

PAYMENTS = Counter("motcua_payments_total", "Payment orders opened, by the status they opened in", ["status"])
