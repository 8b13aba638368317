"""CloudEvents 1.0 envelope and the per-service catalogue of event types with their schemas and examples."""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

SPECVERSION = "1.0"

# Checking outgoing data against the producer's own schema costs ~0.5 ms per dossier.submitted.v1
# (a fifth of the filing's CPU). Tests run with it on (the kit's pytest plugin sets the variable), so
# every event any test makes is checked; production trusts the tested code unless this is set.
VALIDATE_OUTGOING = os.environ.get("MOTCUA_VALIDATE_OUTGOING_EVENTS", "0") == "1"


class MalformedEvent(Exception):
    """A message that can never be handled as it is: dead-lettered at once, with this as the reason."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventSchema(Schema):
    """Base of every event payload schema: consumers ignore fields they do not read, nested ones too."""

    class Meta:
        unknown = EXCLUDE


class EnvelopeSchema(Schema):
    """The attributes every event carries; `data` is checked by the type's own schema."""

    class Meta:
        unknown = EXCLUDE

    specversion = fields.String(required=True, validate=validate.Equal(SPECVERSION))
    id = fields.UUID(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+(\.[a-z_]+)+\.v\d+$"))
    time = fields.AwareDateTime(required=True)
    subject = fields.String(load_default=None, allow_none=True)
    datacontenttype = fields.String(load_default="application/json")
    correlationid = fields.String(load_default=None, allow_none=True)
    data = fields.Dict(required=True)


_ENVELOPE = EnvelopeSchema()


def make_envelope(
    type_: str, source: str, data: dict, *, subject: str | None = None, correlation_id: str | None = None
) -> dict:
    return {
        "specversion": SPECVERSION,
        "id": str(uuid.uuid4()),
        "source": source,
        "type": type_,
        "time": rfc3339(utcnow()),
        "subject": subject,
        "datacontenttype": "application/json",
        "correlationid": correlation_id,
        "data": data,
    }


def parse_envelope(body: bytes) -> dict:
    """Bytes off the wire to a checked envelope (raw `data` dict kept); MalformedEvent when impossible."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedEvent(f"body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise MalformedEvent("body is not a JSON object")
    try:
        checked = _ENVELOPE.load(raw)
    except ValidationError as exc:
        raise MalformedEvent(f"envelope invalid: {exc.messages}") from None
    checked["id"] = str(checked["id"])
    return checked


@dataclass
class EventType:
    name: str  # versioned, e.g. dossier.submitted.v1; also the routing key
    schema: type[Schema]
    example: dict | None = None  # producers give one (docs/events.md); consumers need not
    description: str = ""

    def __post_init__(self):
        # Schema instances are reusable and costly to build (fields deep-copied, nested schemas built):
        # about 1 ms for dossier.submitted.v1, on paths that are benchmarked. Build them once.
        self._loader = self.schema(unknown=EXCLUDE)
        self._checker = self.schema()

    def load(self, data: dict) -> dict:
        try:
            return self._loader.load(data)
        except ValidationError as exc:
            raise MalformedEvent(f"{self.name} data invalid: {exc.messages}") from None

    def dump(self, data: dict) -> dict:
        """Outgoing data, checked against our own schema when VALIDATE_OUTGOING is on."""
        if not VALIDATE_OUTGOING:
            return data  # the envelope is serialised once, by the outbox
        errors = self._checker.validate(data)
        if errors:
            raise ValueError(f"{self.name}: refusing to publish invalid data: {errors}")
        return json.loads(json.dumps(data, default=str, ensure_ascii=False))


@dataclass
class Catalog:
    """What one service publishes (with schemas and examples) or consumes (with the fields it reads)."""

    source: str
    types: dict[str, EventType] = field(default_factory=dict)

    def add(self, name: str, schema: type[Schema], example: dict | None = None, description: str = "") -> EventType:
        if name in self.types:
            raise ValueError(f"event type {name} declared twice")
        self.types[name] = EventType(name, schema, example, description)
        return self.types[name]

    def __getitem__(self, name: str) -> EventType:
        return self.types[name]

    def __contains__(self, name: str) -> bool:
        return name in self.types

    def __iter__(self):
        return iter(self.types.values())


def to_json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
