"""The worker process: `python -m intake.worker` (consumer of payment and shipment news + outbox relay)."""
from servicekit.worker import run_worker

from .config import Settings
from .handlers import SUBSCRIPTION
from .models import inbox, outbox


def main() -> None:
    settings = Settings.from_env()
    run_worker(settings, outbox=outbox, inbox=inbox, subscription=SUBSCRIPTION)


if __name__ == "__main__":
    main()
