"""`python -m intake.manage migrate|seed|declare|replay-dead`."""
import os
import sys

from servicekit.cli import run_manage

from .config import Settings
from .handlers import SUBSCRIPTION
from .seed import seed

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def main(argv=None) -> int:
    return run_manage(argv, kit=Settings.from_env().kit, migrations_dir=MIGRATIONS, seed=seed,
                      subscription=SUBSCRIPTION)


if __name__ == "__main__":
    sys.exit(main())
