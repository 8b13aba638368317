"""Marshmallow fields every service's request schemas share."""
from __future__ import annotations

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
