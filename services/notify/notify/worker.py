"""The worker process: `python -m notify.worker` (consumer + outbox relay + sender threads + sweeper)."""
from servicekit.db import Database
from servicekit.logs import configure_logging
from servicekit.worker import PeriodicJob, Worker

from .config import Settings
from .handlers import build_subscription
from .models import inbox, outbox
from .sender import Sender


class NotifyWorker(Worker):
    """The kit's worker plus the sender. The sender starts after the consumer and relay, and stops
    first, so the notification.sent/failed events of its last sends still reach the relay."""

    def __init__(self, settings: Settings, db: Database, *, sender: Sender | None = None):
        self.sender = sender or Sender(settings, db)
        super().__init__(
            settings.kit, db, outbox=outbox, inbox=inbox,
            subscription=build_subscription(settings, wake=self.sender.wake),
            jobs=[PeriodicJob("notify-sweeper", 5.0, self.sender.sweep)],
        )

    def start(self) -> None:
        super().start()
        self.sender.start()

    def stop(self) -> None:
        if self.consumer:
            self.consumer.stop()  # no new messages while the sender drains its hands
        self.sender.stop()
        super().stop()


def main() -> None:
    settings = Settings.from_env()
    configure_logging("notify", settings.kit.log_level)
    settings.kit.warn_dev_defaults(settings.dev_defaults)
    # Sender threads, consumer, relay and sweeper share the pool.
    db = Database(settings.kit.database_url, pool_size=settings.sender_threads + 4)
    NotifyWorker(settings, db).run_forever()


if __name__ == "__main__":
    main()
