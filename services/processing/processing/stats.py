"""The Decision 766 indicators an agency can compute from its own dossiers, and the province's targets.

Formulas as DOMAIN.md transcribes the national technical note (its authority is unconfirmed, so the
populations are spelled out here and in the answer):
- population R ("received or handled in the period"): received before the period's end and not finished
  before its start; population P ("received in the period"): received within it.
- on time (2.1): the end of processing (result ready, else stopped / withdrawn) — or the period's end when
  unfinished — is on or before the due date, which already carries the supplement time (the clock pause
  moved it); a dossier with more than one supplement request counts as late.
- score: full marks at or above the threshold, below it rate × max ÷ threshold (as a % of full marks).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .calendar import VN_TZ, WorkingCalendar

# indicator -> (what it measures, full marks at this rate, points when DOMAIN.md gives them)
INDICATORS = {
    "2.1": ("Hồ sơ giải quyết đúng hạn hoặc trước hạn", 1.0, 20),
    "2.2": ("Thời gian giải quyết trung bình (ngày làm việc)", None, None),
    "3.3": ("Tỷ lệ hồ sơ nộp trực tuyến", 0.5, None),
    "3.6": ("Tỷ lệ hồ sơ thanh toán trực tuyến", None, None),
    "4.1": ("Tỷ lệ hồ sơ có kết quả điện tử", None, None),
    "4.2": ("Tỷ lệ hồ sơ được số hóa", 0.8, None),
    "5.4": ("Mức độ hài lòng", 0.9, None),
}
DISLIKE = 2  # a rating of 1 or 2 out of 5 counts as "dislike" (unconfirmed mapping of the 5-point scale)


@dataclass
class Period:
    start: datetime
    end: datetime  # exclusive

    @classmethod
    def of_days(cls, first: date, last: date) -> "Period":
        return cls(datetime.combine(first, time(0), VN_TZ), datetime.combine(last + timedelta(days=1), time(0), VN_TZ))


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _indicator(key: str, num: float, den: float, rate: float | None = None) -> dict:
    name, threshold, points = INDICATORS[key]
    rate = _ratio(num, den) if rate is None else rate
    out = {"id": key, "name": name, "numerator": num, "denominator": den, "rate": rate}
    if threshold is not None:
        out["full_marks_at"] = threshold
        out["score"] = None if rate is None else round(min(rate / threshold, 1.0) * 100, 2)
        if points is not None:
            out["max_points"] = points
            out["points"] = None if rate is None else round(min(rate / threshold, 1.0) * points, 2)
    return out


def _effective_due(case, end: datetime, calendar: WorkingCalendar) -> datetime | None:
    """The due date, moved by the pause still running at `end` (a dossier waiting for a supplement)."""
    if case.due_at is None:
        return None
    if case.status == "supplement_requested" and case.paused_at is not None:
        return calendar.add(case.due_at, calendar.working_seconds_between(case.paused_at, end))
    return case.due_at


def on_time(case, period: Period, calendar: WorkingCalendar) -> bool:
    if case.supplement_count > 1:
        return False  # a second supplement request counts as late (766 rule)
    finished = case.finished_at if case.finished_at is not None and case.finished_at < period.end else None
    end = finished or period.end
    due = _effective_due(case, end, calendar)
    return due is not None and end <= due


def _digitised(case) -> bool:
    documents = json.loads(case.documents or "[]")
    has_files = bool(documents) and all(d.get("upload_id") or d.get("sha256") for d in documents)
    issued = case.status in ("result_ready", "returned")
    return has_files and (not (issued and case.result_is_paper) or case.result_file_id is not None)


def compute(cases, period: Period, calendar: WorkingCalendar, targets: dict) -> dict:
    """The indicators over the agency's `cases` (already narrowed to those the period may touch)."""
    handled = [c for c in cases if c.received_at is not None and c.received_at < period.end
               and (c.finished_at is None or c.finished_at >= period.start)]
    received = [c for c in cases if c.received_at is not None and period.start <= c.received_at < period.end]
    late = [c for c in handled if not on_time(c, period, calendar)]
    finished = [c for c in handled if c.finished_at is not None and period.start <= c.finished_at < period.end
                and c.status in ("result_ready", "returned")]
    hours = sum(
        max(calendar.working_seconds_between(c.received_at, c.finished_at) - c.paused_seconds, 0) / 3600
        for c in finished
    )
    online = [c for c in received if c.channel == "online"]
    online_33 = [c for c in online if not c.result_is_paper or c.status not in ("result_ready", "returned")
                 or c.result_file_id is not None]
    fee_bearing = [c for c in received if c.fee_vnd > 0]
    paper = [c for c in received if c.result_is_paper and c.status in ("result_ready", "returned")]
    disliked = [c for c in handled if c.rating_score is not None and c.rating_score <= DISLIKE]
    satisfied = max(len(handled) - len(late) - len(disliked), 0)
    day_hours = calendar.day_seconds / 3600
    indicators = [
        _indicator("2.1", len(handled) - len(late), len(handled)),
        _indicator("2.2", round(hours / day_hours, 2), len(finished),
                   rate=round(hours / day_hours / len(finished), 2) if finished else None),
        _indicator("3.3", len(online_33), len(received)),
        _indicator("3.6", sum(1 for c in fee_bearing if c.paid_online), len(fee_bearing)),
        _indicator("4.1", sum(1 for c in paper if c.result_file_id is not None), len(paper)),
        _indicator("4.2", sum(1 for c in received if _digitised(c)), len(received)),
        _indicator("5.4", satisfied, len(handled)),
    ]
    actual = {
        "online": _ratio(len(online), len(received)),
        "full_online": _ratio(sum(1 for c in online if c.procedure_level == "full_online"), len(received)),
        "on_time": indicators[0]["rate"],
        "e_result": indicators[4]["rate"],
    }
    standing = [
        {"target": key, "required": float(required), "actual": actual[key],
         "met": actual[key] is not None and actual[key] >= float(required)}
        for key, required in targets.items()
    ]
    return {"indicators": indicators, "targets": standing}
