"""Notify's business metric families (the kit's families cover HTTP, events and the outbox)."""
from prometheus_client import Counter, Gauge, Histogram

NOTIFICATIONS = Counter(
    "motcua_notifications_total", "Notification messages by channel and the status they reached",
    ["channel", "status"],
)
NOTIFICATIONS_PENDING = Gauge(
    "motcua_notifications_pending", "Messages created or being sent, not yet accepted by the provider",
    multiprocess_mode="livemax",
)
NOTIFICATIONS_OLDEST_PENDING = Gauge(
    "motcua_notifications_oldest_pending_age_seconds", "Age of the oldest message not yet accepted by the provider",
    multiprocess_mode="livemax",
)
SEND_SECONDS = Histogram(
    "motcua_notification_send_seconds", "One call to the SMS/Zalo gateway or the SMTP server", ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
