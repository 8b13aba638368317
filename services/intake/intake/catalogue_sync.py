"""The procedure catalogue brought down from the national database (CSDL TTHC, through the DVCQG gateway).

A run asks `LayDanhSachTTHC` for the list, then `LayThuTuc` for each procedure that is new, changed (its list mark
`NGAYCAPNHAT` moved; every one when the portal gives no mark), withdrawn here but public again, or every one on a
full run. All the answers are read before anything is written; then one transaction maps national codes to the
province's own (`procedure_code_map`), upserts the catalogue and stores the run's change report. An answer the
suite cannot read, or an error code, fails the run with nothing applied. A procedure is never deleted (dossiers
name it): one the portal no longer lists, or lists as not public, is withdrawn (hidden, closed to new filings).

What comes from the national record and what stays the province's own (docs/dvcqg.md "The catalogue sync"):
name, agency, field (lĩnh vực), service level, processing days, fee amount and the document list come down; the fee
mode (before or after processing), the delivery methods and whether the result is on paper are local decisions, set
once for a new procedure and never overwritten.
"""
from __future__ import annotations

import logging
import math
import re
from datetime import datetime, timedelta
from typing import Any, Callable

from servicekit import dvcqg
from servicekit.db import Database
from servicekit.tables import now as utcnow
from servicekit.text import fold_ascii

from . import queries
from .config import Settings
from .metrics import CATALOGUE_LAST_SUCCESS, CATALOGUE_PROCEDURES_CHANGED, CATALOGUE_RUNS
from .seed import search_text

log = logging.getLogger(__name__)

# MUCDO: the newer names (the simulator's, OpenCPS's "TOAN_TRINH"/"MOT_PHAN") and the older numeric levels.
LEVELS = {"TOAN_TRINH": "full_online", "MOT_PHAN": "partial_online", "4": "full_online", "3": "partial_online",
          "2": "partial_online"}
# The fields a run compares and may change, in the order the report lists them.
SYNCED_FIELDS = ("name", "agency_code", "field_code", "field_name", "level", "processing_days", "fee_vnd", "fee_mode",
                 "documents")
LOCAL_CODE = re.compile(r"^\d\.\d{6}(\.\d{3}\.\d{2}\.\d{2})?\.[A-Z]\d{2}$")  # the seed's rule for a code
DOCUMENT_CODE = re.compile(r"^[A-Z0-9_]{2,40}$")
ONLINE, COUNTER, POST = "2", "1", "3"  # KENH: the channel a time and fee apply to
MAX_TIME, MAX_FEE_VND = 10_000, 1_000_000_000  # beyond these a value is a mistake, not a procedure
MAX_FIELD_CODE = 40  # procedures.field_code
STALE_RUN = timedelta(minutes=30)  # a run still "running" after this died with its worker


class BadAnswer(Exception):
    """The portal answered something the suite cannot read as a procedure: the run fails, nothing is applied."""


# ---- reading the national record --------------------------------------------------------------------------
def _text(value: Any, where: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadAnswer(f"{where}: expected text, got {value!r}"[:300])
    return value.strip()


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadAnswer(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _number(value: Any, where: str, limit: float) -> float:
    if isinstance(value, bool):
        raise BadAnswer(f"{where}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+([.,]\d+)?\s*", value):
        number = float(value.strip().replace(",", "."))
    else:
        raise BadAnswer(f"{where}: expected a number, got {value!r}"[:300])
    if math.isnan(number) or not 0 <= number <= limit:
        raise BadAnswer(f"{where}: expected a number from 0 to {limit:,}, got {value!r}"[:300])
    return number


def _document_code(raw: str) -> str:
    code = re.sub(r"[^A-Z0-9]+", "_", fold_ascii(raw).upper()).strip("_")[:40]
    return code if DOCUMENT_CODE.match(code) else ""


def _way(item: dict, code: str) -> tuple[dict | None, list[str]]:
    """The time-and-fee entry of the online channel (else at the counter, else the first) and the channels."""
    ways = [w for w in _list(item.get("CACHTHUCTHUCHIEN"), f"{code}.CACHTHUCTHUCHIEN") if isinstance(w, dict)]
    channels = [str(w.get("KENH", "")) for w in ways]
    for wanted in (ONLINE, COUNTER, None):
        for way in ways:
            if wanted is None or str(way.get("KENH", "")) == wanted:
                times = _list(way.get("THOIGIAN"), f"{code}.THOIGIAN")
                if times:
                    if not isinstance(times[0], dict):
                        raise BadAnswer(f"{code}.THOIGIAN: expected objects")
                    return times[0], channels
    return None, channels


def read_procedure(item: Any, code: str) -> dict:
    """The intake fields a LayThuTuc answer gives; BadAnswer when it is not a procedure the suite can read.

    Returns {name, agencies [(code, name)], field_code?, field_name?, level?, processing_days?, fee_vnd?, documents?,
    channels, public}."""
    if not isinstance(item, dict):
        raise BadAnswer(f"LayThuTuc {code}: the result is not an object")
    answered = _text(item.get("MATTHC"), f"{code}.MATTHC")
    if answered != code:
        raise BadAnswer(f"LayThuTuc {code}: answered for another procedure ({answered})")
    out: dict = {"name": _text(item.get("TENTTHC"), f"{code}.TENTTHC"),
                 "public": str(item.get("TRANGTHAI", "1")) == "1"}
    out["agencies"] = [(_text(unit.get("MADONVI"), f"{code}.COQUANTHUCHIEN.MADONVI"),
                        _text(unit.get("TENDONVI"), f"{code}.COQUANTHUCHIEN.TENDONVI", required=False))
                       for unit in _list(item.get("COQUANTHUCHIEN"), f"{code}.COQUANTHUCHIEN")
                       if isinstance(unit, dict)]
    # The field (lĩnh vực): the first of LINHVUCTHUCHIEN, as OpenCPS takes it for MaLinhVuc / TenLinhVuc. Optional:
    # absent or an empty list leaves the procedure's field as it is (null for a new one).
    domains = _list(item.get("LINHVUCTHUCHIEN"), f"{code}.LINHVUCTHUCHIEN")
    if domains:
        if not isinstance(domains[0], dict):
            raise BadAnswer(f"{code}.LINHVUCTHUCHIEN: expected objects")
        field_code = _text(domains[0].get("MALINHVUC"), f"{code}.LINHVUCTHUCHIEN.MALINHVUC")
        if len(field_code) > MAX_FIELD_CODE:
            raise BadAnswer(f"{code}.LINHVUCTHUCHIEN.MALINHVUC: longer than {MAX_FIELD_CODE} ({field_code!r})"[:300])
        out["field_code"] = field_code
        out["field_name"] = _text(domains[0].get("TENLINHVUC"), f"{code}.LINHVUCTHUCHIEN.TENLINHVUC")
    level = item.get("MUCDO")
    if level not in (None, ""):
        if str(level) not in LEVELS:
            raise BadAnswer(f"{code}.MUCDO: unknown service level {level!r}")
        out["level"] = LEVELS[str(level)]
    way, out["channels"] = _way(item, code)
    if way is not None:
        amount = _number(way.get("THOIGIANGIAIQUYET"), f"{code}.THOIGIANGIAIQUYET", MAX_TIME)
        unit = fold_ascii(str(way.get("DONVITINH") or "ngay")).lower()
        # Hours become working days of 8 hours, rounded up: the citizen is never promised less than the law allows.
        out["processing_days"] = math.ceil(amount / 8) if "gio" in unit else math.ceil(amount)
        fees = [f for f in _list(way.get("PHILEPHI"), f"{code}.PHILEPHI")]
        if not all(isinstance(f, dict) for f in fees):
            raise BadAnswer(f"{code}.PHILEPHI: expected objects")
        total = sum(_number(f.get("SOTIEN", 0), f"{code}.PHILEPHI.SOTIEN", MAX_FEE_VND) for f in fees)
        if total != int(total) or total > MAX_FEE_VND:
            raise BadAnswer(f"{code}.PHILEPHI: a fee that is not whole VND or beyond {MAX_FEE_VND:,} ({total})")
        out["fee_vnd"] = int(total)
    documents, seen = [], set()
    for group in _list(item.get("THANHPHANHOSO"), f"{code}.THANHPHANHOSO"):
        if not isinstance(group, dict):
            raise BadAnswer(f"{code}.THANHPHANHOSO: expected objects")
        for paper in _list(group.get("GIAYTO"), f"{code}.GIAYTO"):
            if not isinstance(paper, dict):
                raise BadAnswer(f"{code}.GIAYTO: expected objects")
            name = _text(paper.get("TENGIAYTO"), f"{code}.GIAYTO.TENGIAYTO")
            doc_code = _document_code(_text(paper.get("MAGIAYTO"), f"{code}.GIAYTO.MAGIAYTO"))
            if not doc_code:
                raise BadAnswer(f"{code}.GIAYTO.MAGIAYTO: no usable code in {paper.get('MAGIAYTO')!r}")
            if doc_code in seen:
                continue
            seen.add(doc_code)
            flag = paper.get("BATBUOC")  # absent in the reference's fields: the province's flag stays
            documents.append({"code": doc_code, "name": name,
                              "required": None if flag in (None, "") else str(flag) != "0"})
    if documents:
        out["documents"] = documents
    return out


def read_list(answer: list[dict]) -> dict[str, dict]:
    """LayDanhSachTTHC's items by MATTHC: {name, public, marker}."""
    listed: dict[str, dict] = {}
    for item in answer:
        code = _text(item.get("MATTHC"), "LayDanhSachTTHC.MATTHC")
        if code in listed:
            raise BadAnswer(f"LayDanhSachTTHC: {code} listed twice")
        marker = item.get("NGAYCAPNHAT")
        listed[code] = {"public": str(item.get("TRANGTHAI", "1")) == "1",
                        "marker": str(marker)[:40] if marker not in (None, "") else None}
    return listed


# ---- deciding what changes -----------------------------------------------------------------------------------
def _row_fields(row) -> dict:
    return {"name": row.name, "agency_code": row.agency_code, "field_code": row.field_code,
            "field_name": row.field_name, "level": row.level,
            "processing_days": row.processing_days, "fee_vnd": row.fee_vnd, "fee_mode": row.fee_mode,
            "documents": list(row.documents)}


def _merge(national: dict, row, agencies: set[str]) -> tuple[dict | None, str | None]:
    """The procedure's fields after the national record, or (None, why it is skipped)."""
    agency = next((code for code, _ in national["agencies"] if code in agencies), None)
    if agency is None:
        named = ", ".join(code for code, _ in national["agencies"]) or "none"
        return None, f"no agency of the province handles it (COQUANTHUCHIEN: {named})"
    current = _row_fields(row) if row is not None else None
    if current is None and "documents" not in national:
        return None, "the national record lists no documents (THANHPHANHOSO)"
    if current is None and "processing_days" not in national:
        return None, "the national record gives no processing time (CACHTHUCTHUCHIEN)"
    merged = dict(current or {})
    merged.update(name=national["name"], agency_code=agency)
    for name in ("field_code", "field_name", "level", "processing_days", "fee_vnd"):
        if name in national:
            merged[name] = national[name]
    merged.setdefault("field_code", None)
    merged.setdefault("field_name", None)
    merged.setdefault("level", "partial_online")
    if "documents" in national:
        # The province's "required" flag stays where the national record does not say (no BATBUOC).
        before = {doc["code"]: doc for doc in (current or {}).get("documents", [])}
        merged["documents"] = [{**doc, "required": doc["required"] if doc["required"] is not None
                                else before.get(doc["code"], {}).get("required", True)}
                               for doc in national["documents"]]
    # The fee mode is the province's: kept while there is a fee; "none" exactly when the fee is 0 (the seed's rule);
    # a fee that appears is paid after processing unless an admin decides otherwise.
    if merged["fee_vnd"] == 0:
        merged["fee_mode"] = "none"
    elif merged.get("fee_mode") in (None, "none"):
        merged["fee_mode"] = "after"
    return merged, None


def diff(before: dict, after: dict) -> dict:
    return {name: {"from": before.get(name), "to": after[name]} for name in SYNCED_FIELDS
            if before.get(name) != after[name]}


def plan(listed: dict[str, dict], fetched: dict[str, dict | None], rows: list, mappings: dict[str, str],
         agencies: set[str], dossier_counts: Callable[[list[str]], dict[str, int]]) -> dict:
    """What a run does to the catalogue, as writes and a report; pure (the caller applies it)."""
    by_code = {row.code: row for row in rows}
    report: dict[str, list] = {"added": [], "changed": [], "withdrawn": [], "restored": [], "skipped": []}
    inserts, updates, seen_local = [], [], set()
    unchanged = 0
    mapped_to = {local: national for national, local in mappings.items() if national in listed}
    for national_code, entry in sorted(listed.items()):
        local = mappings.get(national_code, national_code)
        seen_local.add(local)
        row = by_code.get(local)
        if mapped_to.get(local, national_code) != national_code:  # an admin mapped another national code here
            report["skipped"].append({"national_code": national_code, "code": local,
                                      "reason": f"the province's code {local} is mapped from {mapped_to[local]}"})
            continue
        if not LOCAL_CODE.match(local):
            report["skipped"].append({"national_code": national_code, "code": local,
                                      "reason": "not a code of the province's form; add a mapping"})
            continue
        if national_code not in fetched:  # the mark did not move: only the public flag can have changed
            if row is not None and not entry["public"] and row.withdrawn_at is None:
                updates.append((local, {"withdrawn_at": "now"}))
                report["withdrawn"].append({"code": local, "national_code": national_code, "reason": "not_public"})
            else:
                unchanged += 1
            continue
        national = fetched[national_code]
        if national is None:
            report["skipped"].append({"national_code": national_code, "code": local,
                                      "reason": "listed by LayDanhSachTTHC but LayThuTuc does not know it"})
            continue
        public = entry["public"] and national["public"]
        merged, why = _merge(national, row, agencies)
        if merged is None:
            report["skipped"].append({"national_code": national_code, "code": local, "reason": why})
            continue
        if row is None:
            if not public:
                report["skipped"].append({"national_code": national_code, "code": local,
                                          "reason": "not public (TRANGTHAI)"})
                continue
            post = POST in national["channels"]
            inserts.append({**merged, "code": local, "national_code": national_code, "marker": entry["marker"],
                            "delivery_methods": ["counter", "post"] if post else ["counter"],
                            "result_is_paper": True})
            report["added"].append({"code": local, "national_code": national_code, **merged})
            continue
        changes = diff(_row_fields(row), merged)
        values: dict = {name: change["to"] for name, change in changes.items()}
        if changes:
            report["changed"].append({"code": local, "national_code": national_code, "changes": changes})
        if public and row.withdrawn_at is not None:
            values["withdrawn_at"] = None
            report["restored"].append({"code": local, "national_code": national_code})
        elif not public and row.withdrawn_at is None:
            values["withdrawn_at"] = "now"
            report["withdrawn"].append({"code": local, "national_code": national_code, "reason": "not_public"})
        if not values:
            unchanged += 1
        updates.append((local, {**values, "national_code": national_code, "national_marker": entry["marker"]}))
    missing = [row for row in rows if row.code not in seen_local and row.withdrawn_at is None]
    counts = dossier_counts([row.code for row in missing])
    for row in missing:
        updates.append((row.code, {"withdrawn_at": "now"}))
        report["withdrawn"].append({"code": row.code, "national_code": row.national_code or row.code,
                                    "reason": "missing_upstream", "dossiers": counts.get(row.code, 0)})
    summary = {"listed": len(listed), "fetched": len(fetched), "unchanged": unchanged,
               **{kind: len(items) for kind, items in report.items()}}
    return {"inserts": inserts, "updates": updates, "report": report, "summary": summary}


# ---- the run ---------------------------------------------------------------------------------------------------
class CatalogueSync:
    """The worker's job: each tick runs the run an admin asked for, else a scheduled run when one is due."""

    def __init__(self, db: Database, settings: Settings, client: dvcqg.DvcqgClient | None = None,
                 clock: Callable[[], datetime] = utcnow):
        self.db, self.settings, self.clock = db, settings, clock
        self.client = client or settings.dvcqg.client()

    def __call__(self) -> dict | None:
        return self.tick()

    def tick(self) -> dict | None:
        now = self.clock()
        with self.db.transaction() as conn:
            queries.fail_stale_catalogue_runs(conn, now - STALE_RUN, now)
            requested = queries.find_requested_catalogue_run(conn)
            if requested is not None:
                if not queries.claim_catalogue_run(conn, requested.id, now):
                    return None  # another worker replica took it
                run_id, full = requested.id, bool(requested.full)
            else:
                interval = self.settings.dvcqg_catalogue_interval_seconds
                last = queries.last_catalogue_run_started(conn)
                if interval <= 0 or (last is not None and now - last < timedelta(seconds=interval)):
                    return None
                run_id = queries.insert_catalogue_run(conn, trigger="schedule", state="running", full=False,
                                                      requested_at=now, started_at=now)
                full = False
        return self.run(run_id, full)

    def run(self, run_id: int, full: bool = False) -> dict:
        """One claimed run: read everything from the portal, then apply it all in one transaction."""
        try:
            listed = read_list(self.client.list_procedures())
            if not listed:
                raise BadAnswer("LayDanhSachTTHC answered an empty catalogue; nothing is withdrawn on that")
            with self.db.transaction(readonly=True) as conn:
                known = {row.code: row for row in queries.list_catalogue_rows(conn)}
                mappings = {m.national_code: m.local_code for m in queries.list_code_mappings(conn)}
            fetched = {}
            for national_code, entry in listed.items():
                row = known.get(mappings.get(national_code, national_code))
                if full or row is None or entry["marker"] is None or row.national_marker != entry["marker"] \
                        or (row.withdrawn_at is not None and entry["public"]):
                    answer = self.client.get_procedure(national_code)
                    fetched[national_code] = None if answer is None else read_procedure(answer, national_code)
            now = self.clock()
            with self.db.transaction() as conn:
                rows = queries.list_catalogue_rows(conn)
                mappings = {m.national_code: m.local_code for m in queries.list_code_mappings(conn)}
                result = plan(listed, fetched, rows, mappings, queries.list_agency_codes(conn),
                              lambda codes: queries.count_dossiers_by_procedure(conn, codes))
                active = sum(1 for row in rows if row.withdrawn_at is None)
                share = self.settings.dvcqg_catalogue_max_withdraw_share
                gone = sum(1 for item in result["report"]["withdrawn"] if item["reason"] == "missing_upstream")
                if active and gone / active > share:
                    raise BadAnswer(f"the national list lacks {gone} of {active} procedures (more than "
                                    f"{share:.0%}); refusing to withdraw them on one answer")
                self._apply(conn, result, now)
                queries.finish_catalogue_run(conn, run_id, state="ok", finished_at=now,
                                             summary=result["summary"], report=result["report"])
        except Exception as exc:  # noqa: BLE001 - every failure ends the run as failed, nothing applied
            message = exc.message if isinstance(exc, dvcqg.DvcqgError) else str(exc)
            if not isinstance(exc, (dvcqg.DvcqgError, BadAnswer)):
                log.exception("DVCQG catalogue run broke", extra={"event": "dvcqg.catalogue_broke", "run_id": run_id})
            with self.db.transaction() as conn:
                queries.finish_catalogue_run(conn, run_id, state="failed", finished_at=self.clock(),
                                             error=f"{type(exc).__name__}: {message}"[:1000])
            CATALOGUE_RUNS.labels("failed").inc()
            log.warning("DVCQG catalogue run failed; nothing applied",
                        extra={"event": "dvcqg.catalogue_failed", "run_id": run_id, "error_type": type(exc).__name__})
            return {"run_id": run_id, "state": "failed", "error": message}
        CATALOGUE_RUNS.labels("ok").inc()
        CATALOGUE_LAST_SUCCESS.set(now.timestamp())
        for kind in ("added", "changed", "withdrawn", "restored"):
            if result["summary"][kind]:
                CATALOGUE_PROCEDURES_CHANGED.labels(kind).inc(result["summary"][kind])
        log.info("DVCQG catalogue run done", extra={"event": "dvcqg.catalogue_done", "run_id": run_id,
                                                    **{f"procedures_{k}": v for k, v in result["summary"].items()}})
        return {"run_id": run_id, "state": "ok", **result["summary"]}

    def _apply(self, conn, result: dict, now: datetime) -> None:
        names = {row.code: row.name for row in queries.list_agencies(conn)}
        for item in result["inserts"]:
            queries.insert_procedure(
                conn, code=item["code"], name=item["name"], agency_code=item["agency_code"],
                search_text=search_text(item["name"], item["code"], names.get(item["agency_code"], "")),
                field_code=item["field_code"], field_name=item["field_name"],
                level=item["level"], processing_days=item["processing_days"], fee_vnd=item["fee_vnd"],
                fee_mode=item["fee_mode"], documents=item["documents"], delivery_methods=item["delivery_methods"],
                result_is_paper=item["result_is_paper"], updated_at=now, source="dvcqg",
                national_code=item["national_code"], national_marker=item["marker"], synced_at=now)
        for code, values in result["updates"]:
            values = {k: (now if v == "now" else v) for k, v in values.items()}
            if set(values) & set(SYNCED_FIELDS) or "withdrawn_at" in values:
                values["updated_at"] = now
            if "name" in values or "agency_code" in values:
                row = next(r for r in queries.list_catalogue_rows(conn) if r.code == code)
                name, agency = values.get("name", row.name), values.get("agency_code", row.agency_code)
                values["search_text"] = search_text(name, code, names.get(agency, ""))
            queries.update_procedure(conn, code, source="dvcqg", synced_at=now, **values)


def request_run(conn, *, officer: dict, full: bool, now: datetime | None = None) -> tuple[object, bool]:
    """An admin's request: a new run for the worker, or the one already waiting or running (created=False)."""
    existing = queries.find_open_catalogue_run(conn)
    if existing is not None:
        return existing, False
    run_id = queries.insert_catalogue_run(conn, trigger="admin", requested_by=officer["sub"], full=full,
                                          state="requested", requested_at=now or utcnow())
    return queries.get_catalogue_run(conn, run_id), True
