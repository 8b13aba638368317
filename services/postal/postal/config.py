"""Settings.from_env(): the only place postal reads the environment."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from servicekit.config import ConfigError, KitSettings, dev_secret, env, env_int

from .pricing import MAX_WEIGHT_G, MIN_WEIGHT_G, Sender, today
from .zones import AddressError, zoning_on

DEV_WEBHOOK_SECRET = "dev-postal-webhook-secret"  # the postal operator simulator's default too
SENDERS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "senders.json")


@dataclass(frozen=True)
class Settings:
    kit: KitSettings
    # The agency's own address is the sender of its results; agencies without one use the default.
    default_sender: Sender = Sender("Bộ phận Một cửa", "Trung tâm Phục vụ hành chính công", None, "Phú Thọ",
                                    "Phường Việt Trì")
    senders: dict = field(default_factory=dict)  # agency code -> Sender
    webhook_secrets: tuple[str, ...] = (DEV_WEBHOOK_SECRET,)  # the current key first; two during a rotation
    result_weight_g: int = 100  # a result in its envelope, when nothing says otherwise
    stuck_hours: float = 72.0  # a shipment under way without news for this long counts as stuck
    dev_defaults: tuple[str, ...] = ()

    def sender_for(self, agency_code: str | None) -> Sender:
        return self.senders.get(agency_code or "", self.default_sender)

    @classmethod
    def from_env(cls) -> "Settings":
        kit = KitSettings.from_env("postal")
        secret, is_dev = dev_secret("POSTAL_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET)
        old = env("POSTAL_WEBHOOK_SECRET_OLD")
        default = Sender(
            name=env("POSTAL_SENDER_NAME", cls.default_sender.name),
            address=env("POSTAL_SENDER_ADDRESS", cls.default_sender.address),
            phone=env("POSTAL_SENDER_PHONE"),
            province=env("POSTAL_SENDER_PROVINCE", cls.default_sender.province),
            commune=env("POSTAL_SENDER_COMMUNE", cls.default_sender.commune),
        )
        settings = cls(
            kit=kit,
            default_sender=default,
            senders=load_senders(env("POSTAL_SENDERS_FILE", SENDERS_FILE)),
            webhook_secrets=(secret, old) if old else (secret,),
            result_weight_g=env_int("POSTAL_RESULT_WEIGHT_G", 100),
            stuck_hours=float(env_int("POSTAL_STUCK_HOURS", 72)),
            dev_defaults=("POSTAL_WEBHOOK_SECRET",) if is_dev else (),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Every sender must be on today's map, or no shipment of that agency could be priced."""
        if not MIN_WEIGHT_G <= self.result_weight_g <= MAX_WEIGHT_G:
            raise ConfigError(f"POSTAL_RESULT_WEIGHT_G must be {MIN_WEIGHT_G}–{MAX_WEIGHT_G} g")
        zoning = zoning_on(today())
        for who, sender in [("POSTAL_SENDER_*", self.default_sender), *self.senders.items()]:
            try:
                zoning.place(sender.province, sender.commune)
            except AddressError as exc:
                raise ConfigError(f"sender of {who}: {exc.message}") from None


def load_senders(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"POSTAL_SENDERS_FILE {path}: {exc}") from None
    senders = {}
    for code, entry in data.get("agencies", {}).items():
        try:
            senders[code] = Sender(entry["name"], entry["address"], entry.get("phone"), entry["province"],
                                   entry["commune"])
        except KeyError as exc:
            raise ConfigError(f"POSTAL_SENDERS_FILE: agency {code} lacks {exc}") from None
    return senders
