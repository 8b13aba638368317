"""The kit's shared request fields: blank optional text is missing, days stay computable."""
from datetime import date

import pytest
from marshmallow import Schema, ValidationError, validate

from servicekit.fields import Day, Text


class Address(Schema):
    street = Text(required=True, validate=validate.Length(max=10))
    recipient_name = Text(load_default=None, allow_none=True, validate=validate.Length(max=10))
    due = Day()


def test_a_blank_optional_text_is_none_before_any_validator_sees_it():
    assert Address().load({"street": " 12 Trần Phú ".strip()[:10], "recipient_name": "  "})["recipient_name"] is None
    assert Address().load({"street": "x", "recipient_name": " An "})["recipient_name"] == "An"


def test_a_blank_required_text_is_a_field_error():
    with pytest.raises(ValidationError) as caught:
        Address().load({"street": "   "})
    assert "street" in caught.value.messages


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_a_day_python_cannot_move_a_week_from_is_a_field_error(day):
    with pytest.raises(ValidationError) as caught:
        Address().load({"street": "x", "due": day})
    assert "due" in caught.value.messages


def test_an_ordinary_day_loads():
    assert Address().load({"street": "x", "due": "2026-11-24"})["due"] == date(2026, 11, 24)
