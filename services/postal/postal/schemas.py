"""HTTP request and response schemas of postal's API."""
from marshmallow import Schema, fields, validate

from .pricing import SERVICES


class QuoteQuerySchema(Schema):
    zone = fields.String(required=True, metadata={
        "description": "intra_district | intra_province | intra_region | inter_region (the tariff's zones)"})
    weight_g = fields.Integer(required=True, validate=validate.Range(min=1, max=30_000),
                             metadata={"description": "weight of the item in grams"})
    service = fields.String(required=True, validate=validate.OneOf(SERVICES),
                            metadata={"description": "collect (dossier from the citizen) | return (result to the citizen)"})
    on = fields.Date(metadata={"description": "price on this day (YYYY-MM-DD); today in Vietnam by default"})


class QuoteSchema(Schema):
    service = fields.String()
    zone = fields.String()
    weight_g = fields.Integer()
    on = fields.Date()
    operator_vnd = fields.Integer(metadata={"description": "the operator's price for one item"})
    citizen_vnd = fields.Integer(metadata={"description": "what the citizen pays; the agency is billed the rest"})
    tariff_version = fields.String()
    citizen_policy = fields.String(allow_none=True)


class RecipientSchema(Schema):
    name = fields.String()
    phone = fields.String(allow_none=True)
    street = fields.String()
    commune = fields.String()
    province = fields.String()


class ShipmentSchema(Schema):
    dossier_code = fields.String()
    tracking_no = fields.String()
    agency_code = fields.String()
    service = fields.String(metadata={"description": "return | collect"})
    status = fields.String(metadata={"description": "awaiting_result (the result is not ready yet), ..."})
    recipient = fields.Nested(RecipientSchema)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
