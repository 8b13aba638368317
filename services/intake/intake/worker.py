"""The worker process: `python -m intake.worker` (consumer of processing, payment and postal news, outbox
relay, the periodic removal of uploads never attached to a dossier, and the national catalogue sync)."""
from servicekit.db import Database
from servicekit.files import FileStore
from servicekit.worker import PeriodicJob, run_worker

from .catalogue_sync import CatalogueSync
from .config import Settings
from .handlers import SUBSCRIPTION
from .models import inbox, outbox
from .use_cases import sweep_uploads


def jobs(settings: Settings) -> list[PeriodicJob]:
    db, store = Database(settings.kit.database_url), FileStore(settings.uploads_dir)
    found = [PeriodicJob("sweep-uploads", settings.upload_sweep_seconds, lambda: sweep_uploads(db, store, settings))]
    if settings.dvcqg.url:  # the catalogue sync is off until the national portal's URL is configured
        found.append(PeriodicJob("dvcqg-catalogue", settings.dvcqg_catalogue_poll_seconds, CatalogueSync(db, settings)))
    return found


def main() -> None:
    settings = Settings.from_env()
    run_worker(settings, outbox=outbox, inbox=inbox, subscription=SUBSCRIPTION, jobs=jobs(settings))


if __name__ == "__main__":
    main()
