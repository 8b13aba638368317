"""Intake's event catalogue: every published type has a description and an example its own schema accepts."""
import json

import sqlalchemy as sa

from intake.events import PUBLISHES
from intake.models import outbox


def shape(value):
    """Keys and value kinds, recursively: what a consumer relies on, without the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__ if value is not None else "null"


def test_every_published_event_has_a_description_and_an_example_that_validates():
    assert [event.name for event in PUBLISHES] == ["dossier.submitted.v1", "dossier.supplemented.v1",
                                                   "dossier.withdrawal_requested.v1", "dossier.rated.v1"]
    for event in PUBLISHES:
        assert event.description
        assert event.schema().validate(event.example) == {}
        assert event.dump(event.example) == event.example


def test_submitted_example_has_the_shape_filing_publishes(db, file_dossier, filing_body):
    body = filing_body()
    body["delivery"]["address"]["phone"] = "0912345678"  # the example fills every optional field
    file_dossier(body)
    with db.transaction(readonly=True) as conn:
        published = json.loads(conn.execute(sa.select(outbox.c.body)).scalar_one())["data"]
    assert shape(published) == shape(PUBLISHES["dossier.submitted.v1"].example)


def test_a_submitted_event_without_the_procedures_field_still_validates_and_a_null_field_too():
    # The field (lĩnh vực) came later: events already published lack it, a procedure without one sends nulls.
    event = PUBLISHES["dossier.submitted.v1"]
    old = json.loads(json.dumps(event.example))
    del old["procedure"]["field_code"], old["procedure"]["field_name"]
    assert event.schema().validate(old) == {}
    unknown = json.loads(json.dumps(event.example))
    unknown["procedure"].update(field_code=None, field_name=None)
    assert event.schema().validate(unknown) == {}
    assert event.schema().validate({**unknown, "procedure": {**unknown["procedure"], "field_code": 7}})
