"""The worker process: `python -m payment.worker` (consumer + outbox relay)."""
from servicekit.db import Database
from servicekit.logs import configure_logging
from servicekit.worker import Worker

from .config import Settings
from .handlers import create_subscription
from .models import inbox, outbox


def main() -> None:
    settings = Settings.from_env()
    configure_logging("payment", settings.kit.log_level)
    settings.kit.warn_dev_defaults(settings.dev_defaults)
    db = Database(settings.kit.database_url)
    Worker(settings.kit, db, outbox=outbox, inbox=inbox, subscription=create_subscription(settings)).run_forever()


if __name__ == "__main__":
    main()
