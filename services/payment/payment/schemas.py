"""HTTP request and response schemas of payment's API (officers, and the bank's signed callbacks)."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from servicekit import fields as kit_fields

from .use_cases import SUCCESS

MAX_VND = 10 ** 13 - 1  # VietQR tag 54 holds at most 13 digits


class HistorySchema(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    cause = fields.String(metadata={"description": "the event, callback or job that made the change"})
    detail = fields.String(allow_none=True)
    at = fields.DateTime()


class PaymentOrderSchema(Schema):
    dossier_code = fields.String()
    reference = fields.String(metadata={"description": "payment reference the bank reports back (QR tag 62.05)"})
    agency_code = fields.String()
    procedure_code = fields.String()
    amount_vnd = fields.Integer(metadata={"description": "whole VND owed through this order; 0 when not required"})
    fee_mode = fields.String(metadata={"description": "before | after | none"})
    status = fields.String(metadata={
        "description": "not_required | deferred | pending | paid | expired | cancelled | refunded"})
    qr_payload = fields.String(allow_none=True, metadata={"description": "VietQR (EMVCo) string, once payable"})
    expires_at = fields.DateTime(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    bank_txn_id = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    history = fields.List(fields.Nested(HistorySchema))


class WholeVND(fields.Integer):
    """A JSON integer of VND: 50000.0, "50000", true and 1e5 are all refused (strict, no float ever)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=1, max=MAX_VND), **kwargs)


class BankCallbackSchema(Schema):
    """CONTRACT.md, Bank: the payment confirmation the bank signs and posts. Fields the bank adds later are
    ignored; every field we read is checked (422 naming it)."""

    class Meta:
        unknown = EXCLUDE

    event_id = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", error="1 to 64 letters, digits, '.', '_', ':' or '-'."))
    reference = fields.String(required=True, validate=validate.Regexp(
        r"^[\x21-\x7E]{1,25}$", error="1 to 25 printable ASCII characters (QR tag 62.05)."))
    amount_vnd = WholeVND(required=True)
    result_code = fields.String(required=True, validate=validate.Regexp(r"^\d{2}$", error="Two digits; 00 is success."))
    bank_txn_id = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", error="1 to 64 letters, digits, '.', '_', ':' or '-'."))
    paid_at = fields.AwareDateTime(required=True, allow_none=True, format="iso")

    @validates_schema
    def success_has_a_time(self, data, **kwargs):
        if data.get("result_code") == SUCCESS and data.get("paid_at") is None:
            raise ValidationError("Required when result_code is 00.", field_name="paid_at")


class CallbackResultSchema(Schema):
    result = fields.String(metadata={"description": (
        "paid | duplicate | already_paid | failed | failed_ignored | amount_mismatch | unknown_reference | "
        "paid_after_close | second_payment")})


class DailyReportQuerySchema(Schema):
    date = kit_fields.Day(required=True, metadata={"description": "YYYY-MM-DD, a day in Vietnam time (UTC+07:00)"})
    format = fields.String(load_default=None, validate=validate.OneOf(("json", "csv")))
