"""The worker process: `python -m postal.worker` (consumer + outbox relay + the stuck-shipment sweep)."""
from servicekit.db import Database
from servicekit.worker import PeriodicJob, run_worker

from . import handlers, use_cases
from .config import Settings
from .handlers import SUBSCRIPTION
from .metrics import STUCK
from .models import inbox, outbox


def sweep_stuck(db: Database, settings: Settings) -> dict[str, int]:
    """Shipments under way without news for POSTAL_STUCK_HOURS, into the gauge ops alert on."""
    with db.transaction(readonly=True) as conn:
        counts = use_cases.stuck_counts(conn, settings.stuck_hours)
    for status, count in counts.items():
        STUCK.labels(status).set(count)
    return counts


def main() -> None:
    settings = Settings.from_env()
    handlers.configure(settings)
    db = Database(settings.kit.database_url)  # the sweep's own pool; the worker opens its own
    run_worker(settings, outbox=outbox, inbox=inbox, subscription=SUBSCRIPTION,
               jobs=[PeriodicJob("stuck-shipments", 60.0, lambda: sweep_stuck(db, settings))])


if __name__ == "__main__":
    main()
