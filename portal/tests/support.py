"""Helpers the portal's tests share (importable because conftest.py puts this folder on the path)."""
from __future__ import annotations

import re

from portal.config import Settings
from servicekit.config import KitSettings


def portal_settings(tmp_path, intake_url, processing_url, env="development") -> Settings:
    return Settings(env=env, secret_key="test-secret", intake_url=intake_url, processing_url=processing_url,
                    public_url="http://portal.test", province="Phú Thọ", connect_timeout=1.0, read_timeout=3.0,
                    session_db=str(tmp_path / "sessions.db"), session_hours=1, log_level="WARNING",
                    kit=KitSettings.from_env("portal"))


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(response) -> str:
    match = CSRF.search(response.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1)
