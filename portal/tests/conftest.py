"""Fixtures of the portal's tests: a fake intake and a fake processing (tests/fake_api.py) served in threads,
and the portal configured to call them."""
from __future__ import annotations

import os
import re
import sys

import pytest

from portal.app import create_app
from portal.config import Settings
from servicekit.config import KitSettings

sys.path.insert(0, os.path.dirname(__file__))  # importlib mode: the fake beside this file is not on the path
from fake_api import Running, World, intake_app, processing_app


@pytest.fixture(scope="session")
def _world_and_servers():
    world = World()
    intake = Running(intake_app(world))
    processing = Running(processing_app(world))
    yield world, intake, processing
    intake.stop()
    processing.stop()


@pytest.fixture
def world(_world_and_servers):
    world = _world_and_servers[0]
    World.__init__(world)  # a clean slate for every test, same object the fake servers hold
    return world


def portal_settings(tmp_path, intake_url, processing_url, env="development") -> Settings:
    return Settings(env=env, secret_key="test-secret", intake_url=intake_url, processing_url=processing_url,
                    public_url="http://portal.test", province="Phú Thọ", connect_timeout=1.0, read_timeout=3.0,
                    session_db=str(tmp_path / "sessions.db"), session_hours=1, log_level="WARNING",
                    kit=KitSettings.from_env("portal"))


@pytest.fixture
def settings(tmp_path, _world_and_servers):
    _, intake, processing = _world_and_servers
    return portal_settings(tmp_path, intake.url, processing.url)


@pytest.fixture
def app(settings, world):
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(response) -> str:
    match = CSRF.search(response.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1)
