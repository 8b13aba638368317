"""The working calendar: working hours, weekends, Vietnamese holidays and the admin's extra days off / working days.

Legal deadlines count working time (DOMAIN.md "Deadlines"): a procedure's N working days are N × the length
of a working day (8 h with the default 07:00–11:30 and 13:30–17:00), counted only inside working hours of
working days. All arithmetic happens in Vietnam's local time (UTC+7, no daylight saving); callers pass and
receive aware datetimes in any zone and get UTC back.

Boundary convention: a moment exactly at the close of a working period (11:30, 17:00) is still "in hours",
so adding working time can end there, and adding zero never moves a moment that is in hours. That is what
makes add(add(t, a), b) == add(t, a + b) hold exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import holidays as holidays_lib

VN_TZ = timezone(timedelta(hours=7), "ICT")
DEFAULT_HOURS = "07:00-11:30,13:30-17:00"
OFF, WORK = "off", "work"
_MAX_DAYS_SCANNED = 3660  # ten years of days off in a row would be a configuration error, not a calendar


def parse_hours(spec: str) -> tuple[tuple[time, time], ...]:
    """'07:00-11:30,13:30-17:00' -> ((07:00, 11:30), (13:30, 17:00)); ValueError when malformed or overlapping."""
    periods = []
    for part in spec.split(","):
        start_s, _, end_s = part.strip().partition("-")
        start, end = time.fromisoformat(start_s.strip()), time.fromisoformat(end_s.strip())
        if end <= start:
            raise ValueError(f"working period {part!r} ends before it starts")
        periods.append((start, end))
    periods.sort()
    for (_, end), (start, _) in zip(periods, periods[1:]):
        if start < end:
            raise ValueError(f"working periods overlap in {spec!r}")
    if not periods:
        raise ValueError("no working period given")
    return tuple(periods)


@lru_cache(maxsize=1)
def _vn_holidays():
    # Years expand on demand; 0.109 lists the announced substitutions (2026's 31/8, Tết 2027 as 4–10/2).
    return holidays_lib.country_holidays("VN", language="vi")  # names shown to officers, in Vietnamese


@dataclass
class WorkingCalendar:
    periods: tuple[tuple[time, time], ...] = field(default_factory=lambda: parse_hours(DEFAULT_HOURS))
    overrides: dict[date, str] = field(default_factory=dict)  # the admin table: day -> "off" | "work"

    @property
    def day_seconds(self) -> int:
        return sum(_seconds(end) - _seconds(start) for start, end in self.periods)

    # ---- days --------------------------------------------------------------------------------------
    def holiday_name(self, day: date) -> str | None:
        return _vn_holidays().get(day)

    def is_working_day(self, day: date) -> bool:
        kind = self.overrides.get(day)
        if kind is not None:
            return kind == WORK
        return day.weekday() < 5 and day not in _vn_holidays()

    def next_working_day(self, day: date) -> date:
        for _ in range(_MAX_DAYS_SCANNED):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError("no working day within ten years")

    def previous_working_day(self, day: date) -> date:
        for _ in range(_MAX_DAYS_SCANNED):
            day -= timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError("no working day within ten years")

    def days_off_between(self, start: date, end: date) -> list[date]:
        """Days strictly after `start` and strictly before `end` that are not working days."""
        out, day = [], start + timedelta(days=1)
        while day < end:
            if not self.is_working_day(day):
                out.append(day)
            day += timedelta(days=1)
        return out

    # ---- moments -----------------------------------------------------------------------------------
    def _periods_of(self, day: date) -> list[tuple[datetime, datetime]]:
        return [(datetime.combine(day, s, VN_TZ), datetime.combine(day, e, VN_TZ)) for s, e in self.periods]

    def is_in_hours(self, moment: datetime) -> bool:
        """In a working period of a working day, its two ends included."""
        local = moment.astimezone(VN_TZ)
        if not self.is_working_day(local.date()):
            return False
        return any(start <= local <= end for start, end in self._periods_of(local.date()))

    def normalize(self, moment: datetime) -> datetime:
        """The moment the clock starts for something arriving at `moment` (DOMAIN.md): in hours, itself;
        before 07:00, 07:00; at lunch, 13:30; after hours or on a day off, the next working morning."""
        local = moment.astimezone(VN_TZ)
        day = local.date()
        if self.is_working_day(day):
            for start, end in self._periods_of(day):
                if local <= end:
                    return max(local, start).astimezone(timezone.utc)
        day = self.next_working_day(day)
        return self._periods_of(day)[0][0].astimezone(timezone.utc)

    def add(self, moment: datetime, seconds: float) -> datetime:
        """`moment` + `seconds` of working time (seconds >= 0); the result is always in hours."""
        if seconds < 0:
            raise ValueError("add() takes a non-negative amount; use subtract()")
        local = self.normalize(moment).astimezone(VN_TZ)
        remaining = timedelta(seconds=seconds)
        day = local.date()
        for _ in range(_MAX_DAYS_SCANNED * 2):
            if self.is_working_day(day):
                for start, end in self._periods_of(day):
                    if local > end:
                        continue
                    begin = max(local, start)
                    room = end - begin
                    if remaining <= room:
                        return (begin + remaining).astimezone(timezone.utc)
                    remaining -= room
                    local = end
            day = self.next_working_day(day)
            local = self._periods_of(day)[0][0]
        raise ValueError("working time too large")

    def subtract(self, moment: datetime, seconds: float) -> datetime:
        """The earliest in-hours moment m with working_seconds_between(m, moment) == seconds."""
        local = moment.astimezone(VN_TZ)
        remaining = timedelta(seconds=seconds)
        day = local.date()
        for _ in range(_MAX_DAYS_SCANNED * 2):
            if self.is_working_day(day):
                for start, end in reversed(self._periods_of(day)):
                    if local < start:
                        continue
                    finish = min(local, end)
                    room = finish - start
                    if remaining <= room:
                        return (finish - remaining).astimezone(timezone.utc)
                    remaining -= room
                    local = start
            day = self.previous_working_day(day)
            local = self._periods_of(day)[-1][1]
        raise ValueError("working time too large")

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working time from `start` to `end` (0 when end <= start)."""
        if end <= start:
            return 0.0
        a, b = start.astimezone(VN_TZ), end.astimezone(VN_TZ)
        total = timedelta(0)
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                for p_start, p_end in self._periods_of(day):
                    lo, hi = max(p_start, a), min(p_end, b)
                    if hi > lo:
                        total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds()

    def due_date(self, received_at: datetime, working_days: int) -> datetime:
        """Reception + working_days × the working day (8 h by default), from the normalized reception moment."""
        return self.add(received_at, working_days * self.day_seconds)

    def close_of(self, day: date) -> datetime:
        """The end of the last working period of `day` (the moment a date-only promise expires)."""
        return self._periods_of(day)[-1][1].astimezone(timezone.utc)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(VN_TZ).date()


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second
