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


class ShipmentCreatedSchema(EventSchema):
    dossier_code = fields.String(required=True)
    tracking_no = fields.String(required=True, validate=validate.Length(equal=13))
    service = fields.String(required=True, validate=validate.OneOf(("return", "collect")))
    status = fields.String(required=True)


PUBLISHES.add(
    "shipment.created.v1",
    ShipmentCreatedSchema,
    example={
        "dossier_code": "000.00.06.H56-261124-0001",
        "tracking_no": "MC000000014VN",
        "service": "return",
        "status": "awaiting_result",
    },
    description="a shipment exists for the dossier; awaiting_result until the result is ready to dispatch",
)
