"""Event types payment consumes (only the fields it reads) and publishes."""
from marshmallow import fields, validate

from servicekit.events import Catalog, EventSchema

CONSUMES = Catalog("payment")
PUBLISHES = Catalog("payment")

FEE_MODES = ("before", "after", "none")


class _Procedure(EventSchema):
    code = fields.String(required=True)
    fee_vnd = fields.Integer(required=True, validate=validate.Range(min=0))
    # An unknown mode is dead-lettered rather than guessed: it decides whether a citizen is asked for money.
    fee_mode = fields.String(required=True, validate=validate.OneOf(FEE_MODES))


class _Agency(EventSchema):
    code = fields.String(required=True)


class DossierSubmittedSchema(EventSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    procedure = fields.Nested(_Procedure, required=True)
    agency = fields.Nested(_Agency, required=True)


CONSUMES.add(
    "dossier.submitted.v1",
    DossierSubmittedSchema,
    example={
        "code": "000.00.06.H56-261124-0001",
        "procedure": {"code": "1.001612.000.00.00.H56", "fee_vnd": 50000, "fee_mode": "before"},
        "agency": {"code": "000.00.06.H56"},
    },
    description="opens the dossier's payment order (a QR to pay when the fee is due before processing)",
)


class PaymentRequestedSchema(EventSchema):
    dossier_code = fields.String(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=25))
    amount_vnd = fields.Integer(required=True, validate=validate.Range(min=1))
    qr_payload = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)


PUBLISHES.add(
    "payment.requested.v1",
    PaymentRequestedSchema,
    example={
        "dossier_code": "000.00.06.H56-261124-0001",
        "reference": "MCK7QX2MZP4A",
        "amount_vnd": 50000,
        "qr_payload": (
            "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA53037045405500005802VN"
            "62740125000.00.06.H56-261124-00010512MCK7QX2MZP4A0825Le phi ho so MCK7QX2MZP4A63047B68"
        ),
        "expires_at": "2026-11-27T02:00:00.000Z",
    },
    description="a fee is due before processing: the citizen pays by scanning qr_payload before expires_at",
)
