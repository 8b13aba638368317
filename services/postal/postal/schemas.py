"""HTTP request and response schemas of postal's API."""
from marshmallow import EXCLUDE, Schema, fields, validate

from .pricing import EXEMPTIONS, MAX_WEIGHT_G, MIN_WEIGHT_G, SERVICES
from .use_cases import CARRIER_STATUSES


class QuoteQuerySchema(Schema):
    province = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "the recipient's province, one of the 34 since 1/7/2025, with or without diacritics or "
                       "'Tỉnh'/'Thành phố' (a province's pre-merger name is read as the one it joined)"})
    commune = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "the recipient's commune, ward or special zone (with or without 'Xã'/'Phường')"})
    weight_g = fields.Integer(required=True, validate=validate.Range(min=MIN_WEIGHT_G, max=MAX_WEIGHT_G),
                              metadata={"description": "weight of the item in grams"})
    service = fields.String(required=True, validate=validate.OneOf(SERVICES),
                            metadata={"description": "collect (dossier from the citizen) | return (result to the citizen)"})
    exemption = fields.String(load_default="none", validate=validate.OneOf(EXEMPTIONS), metadata={
        "description": "Circular 22/2017/TT-BTTTT: none | free | half (50% off), on the citizen's price"})
    fee_transfer = fields.Boolean(load_default=False, metadata={
        "description": "the postman also collects the procedure fee (8,000 VND, added to both prices)"})
    agency = fields.String(validate=validate.Length(min=1, max=40), metadata={
        "description": "the agency whose address is the sender; the default sender when absent or unknown"})
    on = fields.Date(metadata={"description": "price on this day (YYYY-MM-DD); today in Vietnam by default"})


class _Place(Schema):
    province = fields.String()
    commune = fields.String()
    region = fields.String(metadata={"description": "north | central | south"})


class _Line(Schema):
    item = fields.String()
    rule = fields.String()
    vnd = fields.Integer()


class _Breakdown(Schema):
    zone_rule = fields.String()
    operator = fields.List(fields.Nested(_Line))
    citizen = fields.List(fields.Nested(_Line))
    subsidy = fields.Dict()
    versions = fields.Dict(metadata={"description": "tariff, citizen_policy and zoning versions used"})


class QuoteSchema(Schema):
    service = fields.String()
    weight_g = fields.Integer()
    on = fields.Date()
    zone = fields.String(metadata={"description": "intra_district | intra_province | intra_region | inter_region"})
    sender = fields.Nested(_Place)
    recipient = fields.Nested(_Place)
    exemption = fields.String()
    fee_transfer = fields.Boolean()
    operator_vnd = fields.Integer(metadata={"description": "the operator's whole price for one item"})
    citizen_vnd = fields.Integer(metadata={"description": "what the citizen pays"})
    subsidy_vnd = fields.Integer(metadata={"description": "operator − citizen: what the agency pays"})
    tariff_version = fields.String()
    citizen_policy = fields.String(allow_none=True)
    zoning_version = fields.String()
    breakdown = fields.Nested(_Breakdown)


class RecipientSchema(Schema):
    name = fields.String()
    phone = fields.String(allow_none=True)
    street = fields.String()
    commune = fields.String()
    province = fields.String()


class HistorySchema(Schema):
    at = fields.DateTime()
    status = fields.String()
    source = fields.String(metadata={"description": "postal (its own steps) | carrier (the operator's reports)"})
    event_id = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": "applied | stale | after_close | not_dispatched"})
    received_at = fields.DateTime()


class ShipmentSchema(Schema):
    dossier_code = fields.String()
    tracking_no = fields.String()
    agency_code = fields.String()
    service = fields.String(metadata={"description": "return | collect"})
    status = fields.String(metadata={"description": "awaiting_result | awaiting_payment | dispatched | accepted | "
                                                    "picked_up | in_transit | failed_attempt | delivered | "
                                                    "returned_to_sender | cancelled"})
    recipient = fields.Nested(RecipientSchema)
    weight_g = fields.Integer(allow_none=True)
    zone = fields.String(allow_none=True)
    exemption = fields.String(allow_none=True)
    fee_transfer = fields.Boolean(allow_none=True)
    operator_vnd = fields.Integer(allow_none=True)
    citizen_vnd = fields.Integer(allow_none=True)
    cod_amount_vnd = fields.Integer(allow_none=True)
    pricing = fields.Dict(allow_none=True, metadata={"description": "the quote made at creation, with its breakdown"})
    pricing_error = fields.String(allow_none=True)
    fee_mode = fields.String(allow_none=True)
    fee_paid_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    dispatched_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    history = fields.List(fields.Nested(HistorySchema))


class CarrierEventSchema(Schema):
    """A status report from the postal operator (CONTRACT.md), signed."""

    class Meta:
        unknown = EXCLUDE

    event_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    tracking_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    status = fields.String(required=True, validate=validate.OneOf(CARRIER_STATUSES))
    at = fields.AwareDateTime(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class CarrierAnswerSchema(Schema):
    event_id = fields.String()
    tracking_no = fields.String()
    outcome = fields.String(metadata={"description": "applied | stale | after_close | not_dispatched | "
                                                     "unknown_tracking_no | duplicate"})
    shipment_status = fields.String(allow_none=True)


class StatementQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class StatementSchema(Schema):
    agency = fields.String()
    month = fields.String()
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    totals = fields.Dict(metadata={"description": "shipments, operator_vnd, citizen_vnd (charged), "
                                                  "collected_vnd (COD of delivered items), subsidy_vnd, "
                                                  "exempted_vnd, unpriced"})
    exemptions = fields.Dict(metadata={"description": "shipments by exemption: none, half, free"})
    statuses = fields.Dict()
    shipments = fields.List(fields.Dict())


class _ProvinceLine(Schema):
    name = fields.String()
    region = fields.String(metadata={"description": "north | central | south"})
    communes = fields.Integer()


class PlacesSchema(Schema):
    version = fields.String(metadata={"description": "the administrative map's version, e.g. vn-34-2025-07"})
    effective_from = fields.Date()
    provinces = fields.List(fields.Nested(_ProvinceLine))


class _Commune(Schema):
    name = fields.String()
    inner_city = fields.Boolean()


class ProvinceSchema(Schema):
    version = fields.String()
    name = fields.String()
    region = fields.String()
    communes = fields.List(fields.Nested(_Commune))
