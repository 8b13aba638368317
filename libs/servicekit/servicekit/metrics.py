"""The kit's Prometheus metric families; multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set."""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401  (re-exported for the web layer)

HTTP_REQUESTS = Counter(
    "motcua_http_requests_total", "HTTP requests answered", ["service", "endpoint", "method", "status"]
)
HTTP_DURATION = Histogram(
    "motcua_http_request_duration_seconds",
    "HTTP request duration",
    ["service", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter(
    "motcua_events_published_total", "Events confirmed by the broker", ["service", "type"]
)
EVENTS_CONSUMED = Counter(
    "motcua_events_consumed_total", "Events handled, by outcome", ["service", "type", "outcome"]
)
# The worker's gauges are "mostrecent": a worker killed with -9 never has its files marked dead, so a
# "live" mode would keep its last values forever; the most recent write (its restarted successor's)
# is the truth. A worker that is simply gone shows in WORKER_HEARTBEAT growing old.
OUTBOX_PENDING = Gauge(
    "motcua_outbox_pending", "Outbox rows not yet confirmed by the broker", ["service"], multiprocess_mode="mostrecent"
)
OUTBOX_OLDEST_AGE = Gauge(
    "motcua_outbox_oldest_age_seconds", "Age of the oldest unsent outbox row", ["service"], multiprocess_mode="mostrecent"
)
OUTBOX_UNROUTABLE = Counter(
    "motcua_outbox_unroutable_total", "Events returned by the broker: no queue bound for them", ["service", "type"]
)
OUTBOX_REPUBLISHED = Counter(
    "motcua_outbox_republished_total",
    "Sent outbox rows published again because the broker came back without its data (MOTCUA_RELAY_REPLAY_SECONDS)",
    ["service"],
)
AMQP_CONNECTED = Gauge(
    "motcua_amqp_connected", "1 while the worker holds a broker connection for this role", ["service", "role"],
    multiprocess_mode="mostrecent",
)
WORKER_HEARTBEAT = Gauge(
    "motcua_worker_heartbeat_timestamp_seconds", "Unix time of the worker's last outbox sweep (every second)",
    ["service"], multiprocess_mode="mostrecent",
)
EVENT_HANDLE_SECONDS = Histogram(
    "motcua_event_handle_seconds", "Time to handle one event (transaction included)", ["service", "type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)


def render_latest() -> bytes:
    """Everything this service's processes recorded (web workers and the worker share one directory)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()

# ---- issue 5: nothing dropped or stalled without a number that says so --------------------------------------
OUTBOX_UNROUTABLE_PENDING = Gauge(
    "motcua_outbox_unroutable_pending",
    "Unsent outbox rows returned unroutable for longer than the give-up period (kept; an operator decides)",
    ["service"], multiprocess_mode="mostrecent",
)
WORKER_THREAD_RESTARTS = Counter(
    "motcua_worker_thread_restarts_total", "Worker threads restarted after an unexpected exception or exit",
    ["service", "thread"],
)
WORKER_THREAD_UP = Gauge(
    "motcua_worker_thread_up", "1 while the worker thread is alive and beats its heartbeat, else 0",
    ["service", "thread"], multiprocess_mode="mostrecent",
)
DEAD_LETTERS = Gauge(
    "motcua_dead_letters", "Messages waiting in <service>.events.dead (ours and the broker's at the delivery limit)",
    ["service"], multiprocess_mode="mostrecent",
)
QUEUE_DELIVERY_LIMIT = Gauge(
    "motcua_queue_delivery_limit", "x-delivery-limit of <service>.events: live on the broker, wanted by the settings",
    ["service", "kind"], multiprocess_mode="mostrecent",
)
CONSUMER_WAITING_FOR_DATABASE = Gauge(
    "motcua_consumer_waiting_for_database", "1 while the consumer holds a message until the database answers",
    ["service"], multiprocess_mode="mostrecent",
)
