"""The worker process: `python -m intake.worker` (consumer of payment and shipment news + outbox relay)."""
from servicekit.db import Database
from servicekit.logs import configure_logging
from servicekit.worker import Worker

from .config import Settings
from .handlers import SUBSCRIPTION
from .models import inbox, outbox


def main() -> None:
    settings = Settings.from_env()
    configure_logging("intake", settings.kit.log_level)
    db = Database(settings.kit.database_url)
    Worker(settings.kit, db, outbox=outbox, inbox=inbox, subscription=SUBSCRIPTION).run_forever()


if __name__ == "__main__":
    main()
