"""HTTP request and response schemas of payment's officer API."""
from marshmallow import Schema, fields


class PaymentOrderSchema(Schema):
    dossier_code = fields.String()
    reference = fields.String(metadata={"description": "payment reference the bank reports back (QR tag 62.05)"})
    agency_code = fields.String()
    procedure_code = fields.String()
    amount_vnd = fields.Integer(metadata={"description": "whole VND owed through this order; 0 when not required"})
    fee_mode = fields.String(metadata={"description": "before | after | none"})
    status = fields.String(metadata={"description": "not_required | pending | deferred"})
    qr_payload = fields.String(allow_none=True, metadata={"description": "VietQR (EMVCo) string, when pending"})
    expires_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
