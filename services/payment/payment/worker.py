"""The worker process: `python -m payment.worker` (consumer + outbox relay + expiry, reconciliation, refunds)."""
from servicekit.db import Database, Doorbell
from servicekit.worker import PeriodicJob, run_worker

from . import jobs
from .bank import BankClient
from .config import Settings
from .handlers import create_subscription
from .models import inbox, outbox


def periodic_jobs(settings: Settings, db: Database) -> list[PeriodicJob]:
    """Each job runs in its own thread, so each gets its own bank client (a Session is not shared)."""
    def bank() -> BankClient:
        return BankClient(settings.bank_url, settings.bank_webhook_secret, settings.bank_timeout_seconds)

    expiry, reconciliation, refunds = bank(), bank(), bank()
    return [
        PeriodicJob("payment-expiry", settings.expiry_every_seconds,
                    lambda: jobs.expire_due_orders(db, expiry, settings)),
        PeriodicJob("payment-reconciliation", settings.reconcile_every_seconds,
                    lambda: jobs.reconcile(db, reconciliation, settings)),
        PeriodicJob("payment-refunds", settings.refund_every_seconds,
                    lambda: jobs.send_refunds(db, refunds, settings)),
    ]


def main() -> None:
    settings = Settings.from_env()
    # The jobs' own engine; the doorbell rings this process's relay after a commit that wrote events.
    db = Database(settings.kit.database_url, doorbell=Doorbell(settings.kit.relay_doorbell), pool_size=2)
    run_worker(settings, outbox=outbox, inbox=inbox, subscription=create_subscription(settings),
               jobs=periodic_jobs(settings, db))


if __name__ == "__main__":
    main()
