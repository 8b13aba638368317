"""The worker process: `python -m intake.worker` (outbox relay; intake consumes no events yet)."""
from servicekit.db import Database
from servicekit.logs import configure_logging
from servicekit.worker import Worker

from .config import Settings
from .models import inbox, outbox


def main() -> None:
    settings = Settings.from_env()
    configure_logging("intake", settings.kit.log_level)
    db = Database(settings.kit.database_url)
    Worker(settings.kit, db, outbox=outbox, inbox=inbox, subscription=None).run_forever()


if __name__ == "__main__":
    main()
