"""HTTP request and response schemas of the citizen API."""
from __future__ import annotations

import re
import unicodedata

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from servicekit import fields as kit_fields
from servicekit.events import rfc3339
from servicekit.text import normalize_phone
from servicekit.web import PageArgs

from .events import APPLICANT_TYPES, CHANNELS, DELIVERY_METHODS, FEE_MODES, LEVELS, NOTIFY_CHANNELS

# ASCII digits only: `\d` would let fullwidth (０１２…) and other scripts' digits through, and such a
# dossier could then never be looked up by the number the citizen types.
CITIZEN_ID = re.compile(r"^[0-9]{12}$")  # căn cước công dân: 12 digits
TAX_CODE = re.compile(r"^[0-9]{10}(?:-?[0-9]{3})?$")  # 10 digits, or 13 for a branch (0123456789-001)
_PHONE_CHARS = re.compile(r"^[0-9+ .\-()]+$")

# Bidirectional controls (RLO/LRO/isolates, LRM/RLM/ALM) can make a name or address display as something
# other than what is stored; they and every other format, control or private character are refused.
_REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
_REFUSED_MESSAGE = "Chứa ký tự điều khiển hoặc ký tự ẩn không được phép (control, NUL or bidirectional characters)"


def refuse_hidden_characters(text: str, *, multiline: bool = False) -> None:
    for ch in text:
        if multiline and ch == "\n":
            continue
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            raise ValidationError(_REFUSED_MESSAGE)


class Text(kit_fields.Text):
    """Text from outside: surrounding whitespace dropped and blank counted as missing (the kit's Text),
    NFC-normalised, control / NUL / bidirectional and other invisible characters refused. `multiline`
    allows line breaks (free text such as a note)."""

    def __init__(self, *args, multiline: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.multiline:
            text = text.replace("\r\n", "\n")
        refuse_hidden_characters(text, multiline=self.multiline)
        return unicodedata.normalize("NFC", text)


# A person's name as it may reach an SMS: letters (any script, with their marks), spaces and . ' -
# only; no digits, links or symbols, so filing cannot carry a message of its own to any number.
_PERSON_NAME = re.compile(r"^[^\W\d_]+(?:[ .'\-]+[^\W\d_]+)*\.?$")
# A business or organisation name may also hold digits and a few signs (&, comma, parentheses).
_ORGANISATION_NAME = re.compile(r"^[\w .,'&()\-]+$")
_NAME_MESSAGE = ("Họ tên chỉ gồm chữ cái, dấu cách và các dấu . ' - "
                 "(a person's name holds letters, spaces and . ' - only)")


class Phone(fields.String):
    """A Vietnamese mobile number, stored and sent on in 84… form; ASCII digits only."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        if not raw.strip():
            return None
        if not _PHONE_CHARS.match(raw.strip()):
            raise ValidationError("Số điện thoại chỉ gồm chữ số 0-9 (ASCII digits only, e.g. 0912345678)")
        phone = normalize_phone(raw)
        if phone is None:
            raise ValidationError("Số điện thoại di động không hợp lệ (not a Vietnamese mobile number, e.g. 0912345678)")
        return phone


class UtcTime(fields.DateTime):
    """RFC 3339 in UTC with milliseconds, the same form events carry (2026-11-24T02:00:00.000Z)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else rfc3339(value)


# ---- catalogue ----------------------------------------------------------------------------------
class ProcedureQuerySchema(PageArgs):
    q = fields.String(validate=validate.Length(max=200))
    agency = fields.String()
    level = fields.String(validate=validate.OneOf(LEVELS))


class AgencySchema(Schema):
    code = fields.String()
    name = fields.String()


class DocumentSchema(Schema):
    code = fields.String()
    name = fields.String()
    required = fields.Boolean()


class FieldSchema(Schema):
    code = fields.String(metadata={"description": "the national field code (MALINHVUC)"})
    name = fields.String(metadata={"description": "its name (TENLINHVUC), e.g. Hộ tịch"})


class ProcedureSchema(Schema):
    code = fields.String()
    name = fields.String()
    agency = fields.Nested(AgencySchema)
    field = fields.Nested(FieldSchema, allow_none=True,
                          metadata={"description": "the procedure's field (lĩnh vực); null when not known"})
    level = fields.String(metadata={"enum": list(LEVELS)})
    processing_days = fields.Integer(metadata={"description": "working days (ngày làm việc)"})
    fee_vnd = fields.Integer(metadata={"description": "whole VND"})
    fee_mode = fields.String(metadata={"enum": list(FEE_MODES)})
    documents = fields.List(fields.Nested(DocumentSchema))
    delivery_methods = fields.List(fields.String(metadata={"enum": list(DELIVERY_METHODS)}))
    result_is_paper = fields.Boolean()


class ProcedurePageSchema(Schema):
    items = fields.List(fields.Nested(ProcedureSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


# ---- filing -------------------------------------------------------------------------------------
class ApplicantSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(APPLICANT_TYPES))
    full_name = Text(required=True, validate=validate.Length(max=200))
    id_number = Text(required=True, metadata={
        "description": "12-digit citizen ID (citizen), or a 10- or 13-digit tax code (0123456789 or 0123456789-001)"})
    phone = Phone(load_default=None, allow_none=True)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    address = Text(required=True, validate=validate.Length(max=500))

    # Runs beside field errors too, so one answer names every bad field; a field that failed is absent here.
    @validates_schema(skip_on_field_errors=False)
    def _check(self, data, **kwargs):
        errors = {}
        if "full_name" in data and data["full_name"]:
            pattern = _PERSON_NAME if data.get("type") == "citizen" else _ORGANISATION_NAME
            if not pattern.match(data["full_name"]) or (data.get("type") != "citizen" and "_" in data["full_name"]):
                errors["full_name"] = [_NAME_MESSAGE if data.get("type") == "citizen" else
                                       "Tên chỉ gồm chữ, số, dấu cách và . , ' & ( ) - (letters, digits, spaces, . , ' & ( ) -)"]
        if "type" in data and "id_number" in data:
            id_number = "".join(data["id_number"].split())
            if data["type"] == "citizen" and not CITIZEN_ID.match(id_number):
                errors["id_number"] = ["Số căn cước công dân gồm 12 chữ số (citizen ID is 12 digits)"]
            elif data["type"] != "citizen" and not TAX_CODE.match(id_number):
                errors["id_number"] = ["Mã số thuế gồm 10 hoặc 13 chữ số (tax code is 10 or 13 digits)"]
        if "phone" in data and "email" in data and not data["phone"] and not data["email"]:
            errors["phone"] = ["Cần số điện thoại hoặc email để nhận thông báo (give a phone or an email)"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _canonical(self, data, **kwargs):
        compact = "".join(data["id_number"].split())
        data["id_number"] = f"{compact[:10]}-{compact[10:]}" if len(compact) == 13 and compact.isdigit() else compact
        return data


class DocumentRefSchema(Schema):
    code = Text(required=True, validate=validate.Length(max=40))
    upload_id = Text(required=True, validate=validate.Length(max=100))


class AddressSchema(Schema):
    street = Text(required=True, validate=validate.Length(max=300))
    commune = Text(required=True, validate=validate.Length(max=100))
    province = Text(required=True, validate=validate.Length(max=100))
    recipient_name = Text(load_default=None, allow_none=True, validate=validate.Length(max=200))
    phone = Phone(load_default=None, allow_none=True)


class DeliverySchema(Schema):
    method = fields.String(required=True, validate=validate.OneOf(DELIVERY_METHODS))
    address = fields.Nested(AddressSchema, load_default=None, allow_none=True)

    @validates_schema
    def _address_for_post(self, data, **kwargs):
        if data["method"] == "post" and not data.get("address"):
            raise ValidationError("Cần địa chỉ nhận kết quả qua bưu chính (address required for post)",
                                  field_name="address")


class FilingSchema(Schema):
    procedure_code = Text(required=True, validate=validate.Length(max=40))
    applicant = fields.Nested(ApplicantSchema, required=True)
    documents = fields.List(fields.Nested(DocumentRefSchema), load_default=list, validate=validate.Length(max=100))
    delivery = fields.Nested(DeliverySchema, required=True)
    notify_channels = fields.List(fields.String(validate=validate.OneOf(NOTIFY_CHANNELS)), load_default=None,
                                  metadata={"description": "default: [\"sms\"] with a phone, else [\"email\"]"})
    channel = fields.String(load_default="online", validate=validate.OneOf(CHANNELS),
                            metadata={"description": "counter when a clerk files on someone's behalf"})

    @validates_schema
    def _channels_reachable(self, data, **kwargs):
        applicant = data["applicant"]
        for channel in data.get("notify_channels") or ():
            if channel in ("sms", "zalo") and not applicant.get("phone"):
                raise ValidationError(f"Kênh {channel} cần số điện thoại (needs applicant.phone)", field_name="notify_channels")
            if channel == "email" and not applicant.get("email"):
                raise ValidationError("Kênh email cần địa chỉ email (needs applicant.email)", field_name="notify_channels")

    @post_load
    def _defaults(self, data, **kwargs):
        channels = data.get("notify_channels")
        if channels is None:
            channels = ["sms"] if data["applicant"].get("phone") else ["email"]
        data["notify_channels"] = list(dict.fromkeys(channels))  # unique, in the order given
        return data


class FeesSchema(Schema):
    procedure_vnd = fields.Integer()
    postal_vnd = fields.Integer()


class FiledSchema(Schema):
    code = fields.String()
    status = fields.String()
    status_code = fields.Integer()
    access_token = fields.String(metadata={"description": "Bearer token for GET /v1/dossiers/{code}; shown once"})
    submitted_at = fields.String()
    fees = fields.Nested(FeesSchema)
    links = fields.Dict()


# ---- citizen view -------------------------------------------------------------------------------
class ProcedureRefSchema(Schema):
    code = fields.String()
    name = fields.String()


class TimelineEntrySchema(Schema):
    at = UtcTime()
    status = fields.String()
    note = fields.String(allow_none=True)


class PaymentViewSchema(Schema):
    status = fields.String(metadata={"enum": ["pending", "paid", "expired", "cancelled", "refunded"]})
    amount_vnd = fields.Integer()
    qr_payload = fields.String(allow_none=True)
    expires_at = UtcTime(allow_none=True)
    paid_at = UtcTime(allow_none=True)
    refunded_at = UtcTime(allow_none=True)


class DeliveryViewSchema(Schema):
    method = fields.String()
    tracking_no = fields.String(allow_none=True)
    status = fields.String(allow_none=True)


class RequestedDocumentSchema(Schema):
    code = fields.String()
    name = fields.String()


class SupplementRequestSchema(Schema):
    request_no = fields.Integer()
    reason = fields.String()
    documents = fields.List(fields.Nested(RequestedDocumentSchema))
    deadline = fields.String(metadata={"description": "YYYY-MM-DD"})
    requested_at = UtcTime()
    answered_at = UtcTime(allow_none=True, metadata={"description": "when the citizen sent the supplement"})


class WithdrawalViewSchema(Schema):
    status = fields.String(metadata={"enum": ["requested", "accepted", "refused"]})
    reason = fields.String()
    requested_at = UtcTime()
    answer = fields.String(allow_none=True, metadata={"description": "the agency's reason, once it answered"})


class RatingViewSchema(Schema):
    score = fields.Integer()
    comment = fields.String(allow_none=True)
    rated_at = UtcTime()


class ResultViewSchema(Schema):
    available = fields.Boolean(metadata={"description": "the PDF can be downloaded (GET .../result.pdf)"})
    paper_original = fields.Boolean(metadata={"description": "a paper original is also returned by the agency"})
    sha256 = fields.String(metadata={"description": "SHA-256 (hex) of the result PDF, as issued"})


class DossierViewSchema(Schema):
    code = fields.String()
    procedure = fields.Nested(ProcedureRefSchema)
    status = fields.String()
    status_code = fields.Integer(metadata={"description": "national status code 1-10"})
    overdue = fields.Boolean()
    submitted_at = UtcTime()
    received_at = UtcTime(allow_none=True)
    due_at = UtcTime(allow_none=True)
    completed_at = UtcTime(allow_none=True)
    payment = fields.Nested(PaymentViewSchema, allow_none=True)
    delivery = fields.Nested(DeliveryViewSchema)
    supplement_request = fields.Nested(SupplementRequestSchema, allow_none=True,
                                       metadata={"description": "the open supplement request (form 02), if any"})
    withdrawal = fields.Nested(WithdrawalViewSchema, allow_none=True)
    rating = fields.Nested(RatingViewSchema, allow_none=True)
    result = fields.Nested(ResultViewSchema, allow_none=True,
                           metadata={"description": "the electronic result, null until processing issued it"})
    timeline = fields.List(fields.Nested(TimelineEntrySchema))


class LookupSchema(Schema):
    code = Text(required=True, validate=validate.Length(max=40))
    id_number = Text(required=True, validate=validate.Length(max=20))


class LookupAnswerSchema(DossierViewSchema):
    access_token = fields.String(metadata={"description": "a fresh token; tokens given before keep working"})


# ---- uploads and the citizen's actions ------------------------------------------------------------
class UploadedSchema(Schema):
    id = fields.String(metadata={"description": "unguessable id to put in documents[].upload_id"})
    filename = fields.String()
    size = fields.Integer(metadata={"description": "bytes"})
    sha256 = fields.String()
    content_type = fields.String(metadata={"enum": ["application/pdf", "image/jpeg", "image/png"]})


class UploadFormSchema(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"})


class SupplementSchema(Schema):
    documents = fields.List(fields.Nested(DocumentRefSchema), required=True,
                            validate=validate.Length(min=1, max=100))
    note = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(max=1000))


class SupplementedSchema(Schema):
    code = fields.String()
    request_no = fields.Integer()
    documents = fields.List(fields.Dict())
    supplemented_at = UtcTime()


class WithdrawalSchema(Schema):
    reason = Text(required=True, multiline=True, validate=validate.Length(max=500))


class RatingSchema(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(max=1000))


class RevokeSchema(Schema):
    scope = fields.String(required=True, validate=validate.OneOf(("current", "lookups")), metadata={
        "description": "current: this (lookup) token stops working; lookups: every lookup token stops working "
                       "(only with the filing token)"})


class RevokedSchema(Schema):
    revoked = fields.Integer()


POSTAL_SERVICES = ("return", "collect")


class PostalQuoteQuerySchema(Schema):
    province = Text(required=True, validate=validate.Length(max=100))
    commune = Text(required=True, validate=validate.Length(max=100))
    weight_g = fields.Integer(load_default=100, validate=validate.Range(min=1, max=30_000))
    service = fields.String(load_default="return", validate=validate.OneOf(POSTAL_SERVICES))


class PostalQuoteSchema(Schema):
    service = fields.String()
    weight_g = fields.Integer()
    operator_vnd = fields.Integer(metadata={"description": "the postal operator's price for one item"})
    citizen_vnd = fields.Integer(metadata={"description": "what the citizen pays; the agency is billed the rest"})
