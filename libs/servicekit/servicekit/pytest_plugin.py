"""Fixtures every test folder shares: `db_url` over each backend, `amqp_url` in a throwaway vhost."""
from __future__ import annotations

import pytest

from .testing import backends, throwaway_database, throwaway_vhost


@pytest.fixture(params=backends())
def db_url(request, tmp_path):
    with throwaway_database(request.param, str(tmp_path)) as url:
        yield url


@pytest.fixture
def amqp_url():
    with throwaway_vhost() as url:
        yield url
