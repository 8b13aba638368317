"""Marshmallow fields every service's request schemas share."""
from __future__ import annotations

from datetime import date

from marshmallow import ValidationError, fields


class Text(fields.String):
    """A string with surrounding whitespace dropped; blank is missing.

    A blank optional string (`"recipient_name": ""`) becomes None before any validator sees it
    (marshmallow would otherwise run `Length(max=...)` on None: a TypeError, a 500); a blank required
    one is a 422 naming the field.
    """

    BLANK = "Không được để trống (must not be blank)"

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if isinstance(value, str) and not value.strip() and not self.required:
            return None
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ValidationError(self.BLANK)
        return text


class Day(fields.Date):
    """A calendar day a service can compute with: 1900-01-01 to 9998-12-31.

    Python's dates stop at years 1 and 9999, so the day before 0001-01-01 or after 9999-12-31 (a day
    turned into a UTC range for Vietnam time, a due date moved by a week) is an OverflowError, a 500.
    """

    FIRST, LAST = date(1900, 1, 1), date(9998, 12, 31)

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not self.FIRST <= day <= self.LAST:
            raise ValidationError(f"Ngày phải trong khoảng {self.FIRST} đến {self.LAST} (day out of range)")
        return day
