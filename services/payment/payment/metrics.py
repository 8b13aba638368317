"""Payment's business metric families (the kit's HTTP, event and outbox families come with it).

Amounts are whole VND counted as integers by our code; Prometheus stores samples as doubles, exact up to
2^53 VND, far beyond a province's takings.
"""
from prometheus_client import Counter, Gauge

PAYMENTS = Counter(
    "motcua_payments_total",
    "Payment orders entering a status (opened as pending/deferred/not_required, then paid, expired, cancelled, "
    "refunded), plus failed attempts",
    ["status"],
)
PAYMENT_AMOUNT = Counter(
    "motcua_payments_amount_vnd_total", "Whole VND moved, by status (paid: received; refunded: given back)", ["status"]
)
OLDEST_PENDING = Gauge(
    "motcua_payments_oldest_pending_seconds", "Age of the oldest order still pending (0 when none)",
    multiprocess_mode="mostrecent",
)
CALLBACKS = Counter(
    "motcua_payment_callbacks_total",
    "Signed bank callbacks by outcome (paid, duplicate, already_paid, failed, amount_mismatch, unknown_reference, ...)",
    ["outcome"],
)
BANK_QUERIES = Counter(
    "motcua_payment_bank_queries_total",
    "Status queries to the bank by job and answer (paid, pending, failed, not_found, unreachable)",
    ["job", "answer"],
)
FLAGS = Counter("motcua_payment_reconciliation_flags_total", "Payments flagged for a person to reconcile", ["kind"])
REFUND_ATTEMPTS = Counter(
    "motcua_payment_refund_attempts_total", "Refund requests sent to the bank by outcome", ["outcome"]
)
