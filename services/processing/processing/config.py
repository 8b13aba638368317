"""Settings.from_env(): the only place processing reads the environment."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from servicekit.config import ConfigError, KitSettings, dev_secret, env, env_int
from servicekit.dvcqg import DvcqgSettings

from .calendar import DEFAULT_HOURS, parse_hours

# The Hà Nội seed article's targets for every commune (applied to any agency without its own line).
DEFAULT_TARGETS = {"*": {"online": 0.60, "full_online": 0.20, "on_time": 1.00, "e_result": 1.00}}
TARGET_KEYS = ("online", "full_online", "on_time", "e_result")


def _targets(raw: str | None) -> dict:
    if raw is None:
        return DEFAULT_TARGETS
    try:
        targets = json.loads(raw)
        ok = isinstance(targets, dict) and "*" in targets and all(
            isinstance(t, dict) and set(t) <= set(TARGET_KEYS) and all(0 <= float(v) <= 1 for v in t.values())
            for t in targets.values()
        )
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ConfigError(
            'PROCESSING_766_TARGETS must be JSON like {"*": {"online": 0.6, "full_online": 0.2, "on_time": 1, '
            '"e_result": 1}, "<agency code>": {...}} with rates between 0 and 1'
        )
    return targets


# Shared with intake: signs the short-lived links through which intake fetches an issued result for the citizen.
DEV_FILE_LINK_SECRET = "dev-only-file-link-secret-change-me"


def _positive(name: str, default: float) -> float:
    raw = env(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number of seconds, not {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    kit: KitSettings
    working_hours: str = DEFAULT_HOURS
    files_dir: str = "var/files/processing"
    max_result_bytes: int = 10 * 1024 * 1024
    deadline_watch_seconds: int = 60
    indicators_refresh_seconds: int = 300
    targets: dict = field(default_factory=lambda: DEFAULT_TARGETS)
    # The national public service portal (DVCQG) sync; an empty URL turns it off.
    dvcqg: DvcqgSettings = DvcqgSettings()
    dvcqg_sync_seconds: float = 2.0
    dvcqg_max_backoff_seconds: float = 300.0
    file_link_secret: str = DEV_FILE_LINK_SECRET
    dev_defaults: tuple[str, ...] = ()

    @classmethod
    def from_env(cls) -> "Settings":
        kit = KitSettings.from_env("processing")
        hours = env("PROCESSING_WORKING_HOURS", DEFAULT_HOURS)
        try:
            parse_hours(hours)
        except ValueError as exc:
            raise ConfigError(f"PROCESSING_WORKING_HOURS {hours!r}: {exc} (e.g. 07:00-11:30,13:30-17:00)") from None
        national = DvcqgSettings.from_env("PROCESSING", timeout_default=10.0)
        link_secret, link_secret_is_dev = dev_secret("MOTCUA_FILE_LINK_SECRET", DEV_FILE_LINK_SECRET)
        if len(link_secret) < 16:
            raise ConfigError("MOTCUA_FILE_LINK_SECRET must be at least 16 characters")
        return cls(
            kit=kit,
            working_hours=hours,
            files_dir=env("PROCESSING_FILES_DIR", os.path.join(kit.var_dir, "files", "processing")),
            max_result_bytes=env_int("PROCESSING_MAX_RESULT_BYTES", 10 * 1024 * 1024),
            deadline_watch_seconds=env_int("PROCESSING_DEADLINE_WATCH_SECONDS", 60),
            indicators_refresh_seconds=env_int("PROCESSING_766_REFRESH_SECONDS", 300),
            targets=_targets(env("PROCESSING_766_TARGETS")),
            dvcqg=national,
            dvcqg_sync_seconds=_positive("PROCESSING_DVCQG_SYNC_SECONDS", 2),
            dvcqg_max_backoff_seconds=_positive("PROCESSING_DVCQG_MAX_BACKOFF_SECONDS", 300),
            file_link_secret=link_secret,
            dev_defaults=national.dev_defaults + (("MOTCUA_FILE_LINK_SECRET",) if link_secret_is_dev else ()),
        )

    def targets_for(self, agency: str) -> dict:
        return {**self.targets["*"], **self.targets.get(agency, {})}
