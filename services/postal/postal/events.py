"""Event types postal consumes (only the fields it reads) and publishes."""
from marshmallow import ValidationError, fields, validate, validates_schema

from servicekit.events import Catalog, EventSchema

CONSUMES = Catalog("postal")
PUBLISHES = Catalog("postal")


class _Agency(EventSchema):
    code = fields.String(required=True)
    name = fields.String(load_default=None, allow_none=True)


class _Applicant(EventSchema):
    full_name = fields.String(required=True)
    phone = fields.String(load_default=None, allow_none=True)


class _Address(EventSchema):
    street = fields.String(required=True)
    commune = fields.String(required=True)
    province = fields.String(required=True)
    recipient_name = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)


class _Delivery(EventSchema):
    method = fields.String(required=True)  # not an enum: a method postal does not serve is simply not its business
    address = fields.Nested(_Address, load_default=None, allow_none=True)
    # Optional, read when intake sends them (not in the contract yet): the applicant's exemption under
    # Circular 22/2017 and whether the postman should collect the procedure fee.
    exemption = fields.String(load_default="none", validate=validate.OneOf(("none", "free", "half")))
    fee_transfer = fields.Boolean(load_default=False)


class DossierSubmittedSchema(EventSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    agency = fields.Nested(_Agency, required=True)
    applicant = fields.Nested(_Applicant, required=True)
    delivery = fields.Nested(_Delivery, required=True)

    @validates_schema
    def _post_needs_an_address(self, data, **_kwargs):
        delivery = data.get("delivery") or {}
        if delivery.get("method") == "post" and not delivery.get("address"):
            raise ValidationError("delivery by post needs delivery.address", "delivery")


CONSUMES.add(
    "dossier.submitted.v1",
    DossierSubmittedSchema,
    example={
        "code": "000.00.06.H56-261124-0001",
        "agency": {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"},
        "applicant": {"full_name": "Đặng Thị Ngọc Ánh", "phone": "84912345678"},
        "delivery": {"method": "post", "address": {"street": "12 Trần Phú", "commune": "Phường Phúc Yên",
                                                   "province": "Phú Thọ", "recipient_name": "Đặng Thị Ngọc Ánh",
                                                   "phone": "84912345678"}},
    },
    description="a result to return by post: opens the return shipment, waiting for the result",
)


_DOSSIER_CODE = validate.Length(min=1, max=40)


class _ProcessingBase(EventSchema):
    """The BASE of every processing dossier event, as far as postal reads it."""

    code = fields.String(required=True, validate=_DOSSIER_CODE)
    agency_code = fields.String(required=True)
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    at = fields.AwareDateTime(required=True)


class ResultReadySchema(_ProcessingBase):
    delivery_method = fields.String(required=True, validate=validate.OneOf(("counter", "post")))
    fee_mode = fields.String(required=True, validate=validate.OneOf(("before", "after", "none")))
    fee_vnd = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


class DossierClosedSchema(_ProcessingBase):
    reason = fields.String(load_default=None, allow_none=True)


class PaymentCompletedSchema(EventSchema):
    dossier_code = fields.String(required=True, validate=_DOSSIER_CODE)
    paid_at = fields.AwareDateTime(required=True)


_BASE_EXAMPLE = {"code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56",
                 "procedure_code": "1.001193.H56", "status_code": 9, "actor": "officer-7"}
CONSUMES.add(
    "dossier.result_ready.v1",
    ResultReadySchema,
    example={**_BASE_EXAMPLE, "status": "result_ready", "seq": 6, "at": "2026-11-26T03:00:00.000Z",
             "result_file_id": "f-1", "result_sha256": "0" * 64, "paper_original": True, "delivery_method": "post",
             "fee_mode": "after", "fee_vnd": 50000},
    description="a result delivered by post is dispatched now, or once the fee is paid when fee_mode is after",
)
for _type, _status, _code in (("dossier.refused.v1", "refused", 3), ("dossier.withdrawn.v1", "withdrawn", 7),
                              ("dossier.stopped.v1", "stopped", 8)):
    CONSUMES.add(
        _type,
        DossierClosedSchema,
        example={**_BASE_EXAMPLE, "status": _status, "status_code": _code, "seq": 3, "at": "2026-11-25T03:00:00.000Z",
                 "reason": "Hồ sơ không đủ điều kiện"},
        description="the shipment is cancelled before pickup (dispatch.cancelled to the operator when it was ordered)",
    )
CONSUMES.add(
    "payment.completed.v1",
    PaymentCompletedSchema,
    example={"dossier_code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56", "reference": "MCK7QX2MZP4A",
             "amount_vnd": 50000, "paid_at": "2026-11-26T04:00:00.000Z", "bank_txn_id": "FT2633012345",
             "method": "online"},
    description="a fee paid after the result releases its waiting dispatch order",
)

# ---- published --------------------------------------------------------------------------------------------
_TRACKING = validate.Length(equal=13)
SERVICES = ("return", "collect")


class _ShipmentBase(EventSchema):
    dossier_code = fields.String(required=True, validate=_DOSSIER_CODE)
    agency_code = fields.String(required=True)
    tracking_no = fields.String(required=True, validate=_TRACKING)


class ShipmentCreatedSchema(EventSchema):
    dossier_code = fields.String(required=True, validate=_DOSSIER_CODE)
    tracking_no = fields.String(required=True, validate=_TRACKING)
    service = fields.String(required=True, validate=validate.OneOf(SERVICES))
    status = fields.String(required=True)
    agency_code = fields.String(required=True)
    # Null when the address is not on the map (the shipment is kept, unpriced, for an officer to look at).
    zone = fields.String(required=True, allow_none=True)
    operator_vnd = fields.Integer(required=True, allow_none=True, validate=validate.Range(min=0))
    citizen_vnd = fields.Integer(required=True, allow_none=True, validate=validate.Range(min=0))


class ShipmentDispatchedSchema(_ShipmentBase):
    service = fields.String(required=True, validate=validate.OneOf(SERVICES))
    cod_amount_vnd = fields.Integer(required=True, validate=validate.Range(min=0))
    dispatched_at = fields.AwareDateTime(required=True)


class ShipmentProgressedSchema(_ShipmentBase):
    status = fields.String(required=True, validate=validate.OneOf(("accepted", "picked_up", "in_transit",
                                                                   "failed_attempt")))
    at = fields.AwareDateTime(required=True)
    note = fields.String(required=True, allow_none=True)


class ShipmentDeliveredSchema(_ShipmentBase):
    delivered_at = fields.AwareDateTime(required=True)


class ShipmentFailedSchema(_ShipmentBase):
    status = fields.String(required=True, validate=validate.Equal("returned_to_sender"))
    reason = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


class ShipmentCancelledSchema(_ShipmentBase):
    reason = fields.String(required=True)
    cancelled_at = fields.AwareDateTime(required=True)


_SHIPMENT = {"dossier_code": "000.00.06.H56-261124-0001", "agency_code": "000.00.06.H56",
             "tracking_no": "MC000000014VN"}
SHIPMENT_CREATED = PUBLISHES.add(
    "shipment.created.v1",
    ShipmentCreatedSchema,
    example={**_SHIPMENT, "service": "return", "status": "awaiting_result", "zone": "intra_province",
             "operator_vnd": 30000, "citizen_vnd": 10000},
    description=("a shipment exists for the dossier, priced once from the agency's and the citizen's addresses "
                 "(zone, the operator's price, the citizen's price; null when the address is not on the map); "
                 "awaiting_result until the result is ready to dispatch"),
)
SHIPMENT_DISPATCHED = PUBLISHES.add(
    "shipment.dispatched.v1",
    ShipmentDispatchedSchema,
    example={**_SHIPMENT, "service": "return", "cod_amount_vnd": 10000, "dispatched_at": "2026-11-26T03:00:00.120Z"},
    description="the dispatch order went to the postal operator (cod_amount_vnd: what the postman collects)",
)
SHIPMENT_PROGRESSED = PUBLISHES.add(
    "shipment.progressed.v1",
    ShipmentProgressedSchema,
    example={**_SHIPMENT, "status": "picked_up", "at": "2026-11-26T05:10:00.000Z", "note": "Bưu tá đã nhận bưu gửi"},
    description="the operator reported a step that moved the shipment forward (older and repeated reports never do)",
)
SHIPMENT_DELIVERED = PUBLISHES.add(
    "shipment.delivered.v1",
    ShipmentDeliveredSchema,
    example={**_SHIPMENT, "delivered_at": "2026-11-27T02:30:00.000Z"},
    description="the operator delivered the result to the citizen: processing returns the dossier (9 -> 10)",
)
SHIPMENT_FAILED = PUBLISHES.add(
    "shipment.failed.v1",
    ShipmentFailedSchema,
    example={**_SHIPMENT, "status": "returned_to_sender", "reason": "Người nhận vắng nhà 3 lần",
             "at": "2026-11-30T08:00:00.000Z"},
    description="the operator gave up and returns the item to the agency; the citizen collects at the counter",
)
SHIPMENT_CANCELLED = PUBLISHES.add(
    "shipment.cancelled.v1",
    ShipmentCancelledSchema,
    example={**_SHIPMENT, "reason": "dossier withdrawn", "cancelled_at": "2026-11-25T03:00:00.050Z"},
    description="the dossier was refused, withdrawn or stopped before pickup: nothing will be delivered",
)
