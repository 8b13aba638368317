"""The worker process: `python -m processing.worker` (consumer + outbox relay + the deadline watch + the DVCQG sync)."""
from servicekit.db import Database
from servicekit.worker import PeriodicJob, run_worker

from .config import Settings
from .handlers import SUBSCRIPTION
from .jobs import DvcqgSync, deadline_watch, refresh_indicators
from .models import inbox, outbox


def main() -> None:
    settings = Settings.from_env()
    db = Database(settings.kit.database_url)
    watch = PeriodicJob("deadline-watch", settings.deadline_watch_seconds, lambda: deadline_watch(db, settings))
    indicators = PeriodicJob("indicators-766", settings.indicators_refresh_seconds,
                             lambda: refresh_indicators(db, settings))
    jobs = [watch, indicators]
    if settings.dvcqg.url:  # steps queue either way; they are sent once the portal's URL is configured
        jobs.append(PeriodicJob("dvcqg-sync", settings.dvcqg_sync_seconds, DvcqgSync(db, settings)))
    run_worker(settings, outbox=outbox, inbox=inbox, subscription=SUBSCRIPTION, jobs=jobs)


if __name__ == "__main__":
    main()
