"""`python -m payment.manage migrate|seed|declare|replay-dead`."""
import os
import sys

from servicekit.cli import run_manage

from .config import Settings
from .handlers import create_subscription

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def main(argv=None) -> int:
    settings = Settings.from_env()
    # No reference data: the bank BIN and account come from the environment, fees from each event.
    return run_manage(argv, kit=settings.kit, migrations_dir=MIGRATIONS, seed=None,
                      subscription=create_subscription(settings))


if __name__ == "__main__":
    sys.exit(main())
