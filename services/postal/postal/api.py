"""Postal's HTTP API: public quotes, the shipment of a dossier and the monthly statement for officers of its
agency, and the postal operator's signed status reports."""
from __future__ import annotations

import csv
import io

from flask import Response, g, request
from flask_smorest import Blueprint

from servicekit.auth import officer_required
from servicekit.web import Forbidden, Invalid, NotFound, current_db, current_settings
from servicekit.webhooks import SIGNATURE_DOC, signed_json

from . import pricing, queries, use_cases, zones
from .schemas import (
    CarrierAnswerSchema, CarrierEventSchema, PlacesSchema, ProvinceSchema, QuoteQuerySchema, QuoteSchema,
    ShipmentSchema, StatementQuerySchema, StatementSchema,
)

quotes_blp = Blueprint("quotes", __name__, url_prefix="/v1/quotes", description="Báo giá bưu chính công ích (public)")
shipments_blp = Blueprint("shipments", __name__, url_prefix="/v1/shipments", description="Bưu gửi của hồ sơ (officer view)")
carrier_blp = Blueprint("carrier", __name__, url_prefix="/v1/carrier",
                        description="Báo cáo trạng thái từ doanh nghiệp bưu chính (signed callbacks)")
statements_blp = Blueprint("statements", __name__, url_prefix="/v1/statements",
                           description="Bảng kê bưu gửi hằng tháng của cơ quan (officer view)")
places_blp = Blueprint("places", __name__, url_prefix="/v1/places",
                       description="Danh mục tỉnh, xã/phường dùng để tính vùng giá (public)")
_CARRIER_EVENT = CarrierEventSchema()


def _kit():
    return current_settings().kit


@quotes_blp.get("")
@quotes_blp.arguments(QuoteQuerySchema, location="query")
@quotes_blp.response(200, QuoteSchema)
@quotes_blp.alt_response(422, response="DEFAULT_ERROR")
def get_quote(args):
    """Zone, operator price and citizen price of one item from the agency's address to the citizen's, with the
    breakdown and the tariff, policy and zoning versions in force on the day. Intake's quote reads through here."""
    settings = current_settings()
    with current_db().transaction(readonly=True) as conn:
        try:
            quote = pricing.quote(
                conn, service=args["service"], province=args["province"], commune=args["commune"],
                weight_g=args["weight_g"], sender=settings.sender_for(args.get("agency")),
                exemption=args["exemption"], fee_transfer=args["fee_transfer"], on=args.get("on"),
            )
        except pricing.QuoteError as exc:
            raise Invalid(exc.message, errors={"query": {exc.field: [exc.message]}}) from None
    return quote.as_dict()


@shipments_blp.get("/<dossier_code>")
@officer_required(_kit)
@shipments_blp.doc(security=[{"bearer": []}])
@shipments_blp.response(200, ShipmentSchema)
@shipments_blp.alt_response(401, response="DEFAULT_ERROR")
@shipments_blp.alt_response(404, response="DEFAULT_ERROR")
def get_shipment(dossier_code):
    """The dossier's shipment with its prices and its history (postal's steps and every carrier report, applied
    or not); another agency's shipment is a 404, like an unknown one."""
    with current_db().transaction(readonly=True) as conn:
        shipment = queries.get_shipment(conn, dossier_code, agency=g.officer["agency"])
        if shipment is None:
            raise NotFound("Không tìm thấy bưu gửi (shipment not found)")
        return use_cases.shipment_view(conn, shipment)


@carrier_blp.post("/events")
@carrier_blp.doc(parameters=[SIGNATURE_DOC], requestBody={
    "required": True, "content": {"application/json": {"schema": CarrierEventSchema}}})
@carrier_blp.response(200, CarrierAnswerSchema)
@carrier_blp.alt_response(400, response="DEFAULT_ERROR")
@carrier_blp.alt_response(401, response="DEFAULT_ERROR")
@carrier_blp.alt_response(422, response="DEFAULT_ERROR")
def post_carrier_event():
    """A status report from the postal operator, signed. Kept as history whatever it says; a duplicate
    (same event_id), a report older than the shipment's state, or one for an unknown tracking number is
    answered 200 and changes nothing (`outcome` says which)."""
    report = signed_json(list(current_settings().webhook_secrets), _CARRIER_EVENT)
    with current_db().transaction() as conn:
        outcome = use_cases.record_carrier_report(conn, report)
    return {"event_id": outcome.event_id, "tracking_no": outcome.tracking_no, "outcome": outcome.outcome,
            "shipment_status": outcome.shipment_status}


@statements_blp.get("/<agency>/<month>")
@officer_required(_kit)
@statements_blp.doc(security=[{"bearer": []}])
@statements_blp.arguments(StatementQuerySchema, location="query")
@statements_blp.response(200, StatementSchema, description="JSON; CSV with ?format=csv or Accept: text/csv")
@statements_blp.alt_response(401, response="DEFAULT_ERROR")
@statements_blp.alt_response(403, response="DEFAULT_ERROR")
@statements_blp.alt_response(422, response="DEFAULT_ERROR")
def get_statement(args, agency, month):
    """The agency's shipments dispatched in the month (Vietnam time): the operator's cost, what citizens pay,
    the exemptions granted and the subsidy the agency owes the operator. Officers of that agency only."""
    if g.officer["agency"] != agency:
        raise Forbidden("Chỉ cán bộ của cơ quan được xem bảng kê này (another agency's statement)")
    if not use_cases.valid_month(month):
        raise Invalid("Tháng phải có dạng YYYY-MM (month must be YYYY-MM)",
                      errors={"path": {"month": ["Must be YYYY-MM, e.g. 2026-11."]}})
    with current_db().transaction(readonly=True) as conn:
        body = use_cases.statement(conn, agency, month)
    wants_csv = args["format"] == "csv" or request.accept_mimetypes.best == "text/csv"
    if not wants_csv:
        return body
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(use_cases.STATEMENT_COLUMNS)
    for row in body["shipments"]:
        writer.writerow(["" if row[c] is None else row[c] for c in use_cases.STATEMENT_COLUMNS])
    totals = body["totals"]
    writer.writerow(["TOTAL", totals["shipments"], "", "", "", "", "", "", "", totals["operator_vnd"],
                     totals["citizen_vnd"], totals["subsidy_vnd"]])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="postal-statement-{agency}-{month}.csv"'})


@places_blp.get("")
@places_blp.response(200, PlacesSchema)
def list_provinces():
    """The 34 provinces of the map in force today, with their region and how many communes each has."""
    zoning = zones.zoning_on(pricing.today())
    return {"version": zoning.code, "effective_from": zoning.effective_from,
            "provinces": [{"name": name, "region": zoning.regions[name], "communes": len(zoning.communes_of(name))}
                          for name in zoning.province_names]}


@places_blp.get("/<province>")
@places_blp.response(200, ProvinceSchema)
@places_blp.alt_response(404, response="DEFAULT_ERROR")
def get_province(province):
    """A province's communes, wards and special zones as quotes accept them (any spelling of the province)."""
    zoning = zones.zoning_on(pricing.today())
    try:
        official = zoning.province(province)
    except zones.AddressError as exc:
        raise NotFound(exc.message) from None
    return {"version": zoning.code, "name": official, "region": zoning.regions[official],
            "communes": zoning.communes_of(official)}
