"""The procedure catalogue as filing reads it: held in process for a few seconds, one query to refresh."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import Connection

from . import queries


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    level: str
    processing_days: int
    fee_vnd: int
    fee_mode: str
    documents: tuple[dict, ...]
    delivery_methods: tuple[str, ...]
    result_is_paper: bool
    agency_code: str
    agency_name: str
    withdrawn: bool = False  # gone from the national catalogue: closed to new filings, kept for its dossiers
    field_code: str | None = None  # the field (lĩnh vực), null when unknown
    field_name: str | None = None

    @property
    def document_codes(self) -> frozenset[str]:
        return frozenset(doc["code"] for doc in self.documents)

    @property
    def required_documents(self) -> tuple[str, ...]:
        return tuple(doc["code"] for doc in self.documents if doc["required"])

    @classmethod
    def from_row(cls, row) -> "Procedure":
        return cls(
            code=row.code, name=row.name, level=row.level, processing_days=row.processing_days,
            fee_vnd=row.fee_vnd, fee_mode=row.fee_mode, documents=tuple(row.documents),
            delivery_methods=tuple(row.delivery_methods), result_is_paper=bool(row.result_is_paper),
            agency_code=row.agency_code, agency_name=row.agency_name,
            withdrawn=getattr(row, "withdrawn_at", None) is not None,
            field_code=row.field_code, field_name=row.field_name,
        )


class ProcedureCatalogue:
    """Every filing needs its procedure; reading ~25 rows once every few seconds beats a query per filing.

    Safe because the catalogue changes rarely (`manage seed` at a deploy, the national catalogue sync once a
    day or on an admin's request): a change reaches filings within `ttl_seconds`. The dossier keeps the procedure's name and fees as filed, so nothing later
    depends on which snapshot a filing saw. `ttl_seconds <= 0` reads the database every time.
    """

    def __init__(self, ttl_seconds: float):
        self.ttl_seconds = ttl_seconds
        self._items: dict[str, Procedure] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def get(self, conn: Connection, code: str) -> Procedure | None:
        if self.ttl_seconds <= 0:
            row = queries.get_procedure(conn, code)
            return Procedure.from_row(row) if row else None
        loaded_at = self._loaded_at
        if loaded_at is None or time.monotonic() - loaded_at > self.ttl_seconds:
            self._refresh(conn)
        return self._items.get(code)

    def _refresh(self, conn: Connection) -> None:
        items = {row.code: Procedure.from_row(row) for row in queries.list_all_procedures(conn)}
        with self._lock:  # readers see the old dict or the new one, never a half-built one
            self._items, self._loaded_at = items, time.monotonic()
