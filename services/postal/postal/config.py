"""Settings.from_env(): the only place postal reads the environment."""
from __future__ import annotations

from dataclasses import dataclass

from servicekit.config import KitSettings


@dataclass(frozen=True)
class Settings:
    kit: KitSettings

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(kit=KitSettings.from_env("postal"))
