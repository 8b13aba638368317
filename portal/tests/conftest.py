"""Fixtures of the portal's tests: a fake intake and a fake processing (tests/fake_api.py) served in threads,
and the portal configured to call them."""
from __future__ import annotations

import os
import sys

import pytest

# pytest's importlib mode names this file "portal.tests.conftest" after its folder and so registers the folder
# `portal/` as a namespace package called "portal", which hides the Flask app's package `portal/portal/`.
_shadow = sys.modules.get("portal")
if _shadow is not None and getattr(_shadow, "__file__", None) is None:
    del sys.modules["portal"]

from portal.app import create_app  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))  # importlib mode: the fake beside this file is not on the path
from fake_api import Running, World, intake_app, processing_app  # noqa: E402
from support import portal_settings  # noqa: E402


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


@pytest.fixture(scope="session")
def settings(tmp_path_factory, _world_and_servers):
    _, intake, processing = _world_and_servers
    return portal_settings(tmp_path_factory.mktemp("portal"), intake.url, processing.url)


@pytest.fixture(scope="session")
def _app(settings):
    # One app for the session: compiling the GOV.UK macros takes seconds; each test gets its own client (cookies,
    # hence its own server-side session) and a clean world.
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def app(_app, world):
    return _app


@pytest.fixture
def client(app):
    return app.test_client()



# ---- browser tests (pytest-playwright with Debian's Chromium; never a downloaded browser) ---------------------
@pytest.fixture(scope="session")
def browser_type_launch_args():
    from browser import CHROMIUM, CHROMIUM_ARGS

    assert os.path.exists(CHROMIUM), "the browser tests need Debian's chromium: make tools (apt-get install chromium)"
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_url(_app):
    server = Running(_app)
    yield server.url
    server.stop()
