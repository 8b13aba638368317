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


class DossierResultReadySchema(EventSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agency_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    procedure_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    fee_mode = fields.String(required=True, validate=validate.OneOf(FEE_MODES))
    fee_vnd = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


CONSUMES.add(
    "dossier.result_ready.v1",
    DossierResultReadySchema,
    example={
        "code": "000.00.06.H56-261124-0002", "agency_code": "000.00.06.H56", "procedure_code": "1.001612.000.00.00.H56",
        "status": "result_ready", "status_code": 9, "at": "2026-11-26T03:00:00.000Z", "seq": 6, "actor": "officer-7",
        "result_file_id": "f-1", "result_sha256": "0" * 64, "paper_original": False, "delivery_method": "counter",
        "fee_mode": "after", "fee_vnd": 100000,
    },
    description="a fee due after processing (fee_mode after) becomes payable: the deferred order gets its QR",
)


class DossierClosedSchema(EventSchema):
    """dossier.refused / dossier.withdrawn / dossier.stopped: the fields payment reads."""

    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agency_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    reason = fields.String(load_default="", allow_none=True)
    at = fields.AwareDateTime(load_default=None, allow_none=True)


for _type, _status, _code, _extra, _why in (
    ("dossier.refused.v1", "refused", 3, {"cause": "officer"}, "refused at reception"),
    ("dossier.withdrawn.v1", "withdrawn", 7, {"from_status": "received"}, "withdrawn by the applicant"),
    ("dossier.stopped.v1", "stopped", 8, {"cause": "officer"}, "processing stopped"),
):
    CONSUMES.add(
        _type,
        DossierClosedSchema,
        example={
            "code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56",
            "procedure_code": "1.001612.000.00.00.H56", "status": _status, "status_code": _code,
            "at": "2026-11-25T03:00:00.000Z", "seq": 3, "actor": "officer-2", "reason": "Hồ sơ không hợp lệ", **_extra,
        },
        description=f"dossier {_why}: a pending order is cancelled, a paid one refunded through the bank",
    )


_REFERENCE = fields.String(required=True, validate=validate.Length(min=1, max=25))
_EXAMPLE_CODE = "000.00.06.H56-261124-0001"


class PaymentRequestedSchema(EventSchema):
    dossier_code = fields.String(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=25))
    amount_vnd = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    qr_payload = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)
    agency_code = fields.String(required=True)
    fee_mode = fields.String(required=True, validate=validate.OneOf(("before", "after")))


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
        "agency_code": "000.00.06.H56",
        "fee_mode": "before",
    },
    description=("a fee is due (before processing, or after it once the result is ready): the citizen pays by "
                 "scanning qr_payload before expires_at"),
)


class PaymentCompletedSchema(EventSchema):
    dossier_code = fields.String(required=True)
    agency_code = fields.String(required=True)
    reference = _REFERENCE
    amount_vnd = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    paid_at = fields.AwareDateTime(required=True)
    bank_txn_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    method = fields.String(required=True, validate=validate.Equal("online"))


PUBLISHES.add(
    "payment.completed.v1",
    PaymentCompletedSchema,
    example={"dossier_code": _EXAMPLE_CODE, "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A",
             "amount_vnd": 50000, "paid_at": "2026-11-24T02:10:00.000Z", "bank_txn_id": "SIM3F2A9C1D00E4B7A1",
             "method": "online"},
    description="the bank confirmed the exact amount (callback, or a status query at expiry or reconciliation)",
)


class PaymentFailedSchema(EventSchema):
    dossier_code = fields.String(required=True)
    agency_code = fields.String(required=True)
    reference = _REFERENCE
    result_code = fields.String(required=True, validate=validate.Regexp(r"^\d{2}$"))
    reason = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


PUBLISHES.add(
    "payment.failed.v1",
    PaymentFailedSchema,
    example={"dossier_code": _EXAMPLE_CODE, "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A",
             "result_code": "99", "reason": "Ngân hàng từ chối giao dịch (mã 99)", "at": "2026-11-24T02:10:00.000Z"},
    description="one payment attempt failed at the bank; the order stays open (pending) until it expires",
)


class PaymentExpiredSchema(EventSchema):
    dossier_code = fields.String(required=True)
    agency_code = fields.String(required=True)
    reference = _REFERENCE
    amount_vnd = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    expired_at = fields.AwareDateTime(required=True)


PUBLISHES.add(
    "payment.expired.v1",
    PaymentExpiredSchema,
    example={"dossier_code": _EXAMPLE_CODE, "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A",
             "amount_vnd": 50000, "expired_at": "2026-11-27T02:00:05.000Z"},
    description="the order's lifetime passed unpaid, and the bank confirmed it holds no payment for it",
)


class PaymentCancelledSchema(EventSchema):
    dossier_code = fields.String(required=True)
    agency_code = fields.String(required=True)
    reference = _REFERENCE
    reason = fields.String(required=True)
    cancelled_at = fields.AwareDateTime(required=True)


PUBLISHES.add(
    "payment.cancelled.v1",
    PaymentCancelledSchema,
    example={"dossier_code": _EXAMPLE_CODE, "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A",
             "reason": "Hồ sơ đã được rút: Không còn nhu cầu", "cancelled_at": "2026-11-25T03:00:00.000Z"},
    description="an unpaid order is withdrawn because the dossier was refused, withdrawn or stopped",
)


class PaymentRefundedSchema(EventSchema):
    dossier_code = fields.String(required=True)
    agency_code = fields.String(required=True)
    reference = _REFERENCE
    amount_vnd = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    refund_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    reason = fields.String(required=True)
    refunded_at = fields.AwareDateTime(required=True)


PUBLISHES.add(
    "payment.refunded.v1",
    PaymentRefundedSchema,
    example={"dossier_code": _EXAMPLE_CODE, "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A",
             "amount_vnd": 50000, "refund_id": "RF-MCK7QX2MZP4A", "reason": "Hồ sơ không được tiếp nhận: Thiếu giấy tờ",
             "refunded_at": "2026-11-25T03:00:02.000Z"},
    description="the bank returned a paid fee because the dossier was refused, withdrawn or stopped",
)
