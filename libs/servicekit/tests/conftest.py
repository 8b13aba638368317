"""The kit's tests import kit_fixtures (a tiny service built on the kit) from this folder; `db` is its database."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from servicekit.db import Database  # noqa: E402

from kit_fixtures import metadata  # noqa: E402


@pytest.fixture
def db(db_url):
    """The tiny service's tables (kit tables included) on a throwaway database of each backend."""
    database = Database(db_url)
    metadata.create_all(database.engine)
    yield database
    database.dispose()
