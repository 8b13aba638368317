"""The worker process: `python -m payment.worker` (consumer + outbox relay)."""
from servicekit.worker import run_worker

from .config import Settings
from .handlers import create_subscription
from .models import inbox, outbox


def main() -> None:
    settings = Settings.from_env()
    run_worker(settings, outbox=outbox, inbox=inbox, subscription=create_subscription(settings))


if __name__ == "__main__":
    main()
