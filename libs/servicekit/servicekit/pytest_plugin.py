"""Fixtures every test folder shares: `db_url` over each backend, `amqp_url` in a throwaway vhost."""
from __future__ import annotations

import os

# Before any service module is imported, and inherited by every process a test starts.
os.environ.setdefault("MOTCUA_VALIDATE_OUTGOING_EVENTS", "1")

import pytest  # noqa: E402

from .testing import backends, throwaway_database, throwaway_vhost  # noqa: E402


@pytest.fixture(params=backends())
def db_url(request, tmp_path):
    with throwaway_database(request.param, str(tmp_path)) as url:
        yield url


@pytest.fixture
def amqp_url():
    with throwaway_vhost() as url:
        yield url
