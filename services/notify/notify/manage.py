"""`python -m notify.manage migrate|seed|declare|replay-dead`; the seed loads the message templates."""
import functools
import os
import sys

import yaml

from servicekit.cli import run_manage
from servicekit.db import Database

from . import use_cases
from .config import Settings
from .handlers import build_subscription

PACKAGE = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS = os.path.join(os.path.dirname(PACKAGE), "migrations")
TEMPLATES = os.path.join(PACKAGE, "data", "templates.yaml")


def seed(db: Database, path: str = TEMPLATES, settings: Settings | None = None) -> dict:
    settings = settings or Settings.from_env()
    with open(path, encoding="utf-8") as fh:
        items = yaml.safe_load(fh)["templates"]
    with db.transaction() as conn:
        return {"templates": use_cases.load_templates(conn, items, portal_url=settings.portal_url,
                                                      max_segments=settings.sms_max_segments)}


def main(argv=None) -> int:
    settings = Settings.from_env()
    return run_manage(argv, kit=settings.kit, migrations_dir=MIGRATIONS, seed=functools.partial(seed, settings=settings),
                      subscription=build_subscription(settings))


if __name__ == "__main__":
    sys.exit(main())
