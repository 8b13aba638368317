"""Postal's HTTP API: public quotes, and the shipment of a dossier for officers of its agency."""
from dataclasses import asdict

from flask import g
from flask_smorest import Blueprint

from servicekit.auth import officer_required
from servicekit.web import Invalid, NotFound, current_db, current_settings

from . import pricing, queries
from .schemas import QuoteQuerySchema, QuoteSchema, ShipmentSchema

quotes_blp = Blueprint("quotes", __name__, url_prefix="/v1/quotes", description="Báo giá bưu chính công ích (public)")
shipments_blp = Blueprint("shipments", __name__, url_prefix="/v1/shipments", description="Bưu gửi của hồ sơ (officer view)")


def _kit():
    return current_settings().kit


@quotes_blp.get("")
@quotes_blp.arguments(QuoteQuerySchema, location="query")
@quotes_blp.response(200, QuoteSchema)
@quotes_blp.alt_response(422, response="DEFAULT_ERROR")
def get_quote(args):
    """Operator price and citizen price of one item, from the tariff and policy in force on the day."""
    with current_db().transaction(readonly=True) as conn:
        try:
            quote = pricing.quote(conn, args["service"], args["zone"], args["weight_g"], on=args.get("on"))
        except pricing.QuoteError as exc:
            raise Invalid(exc.message, errors={"query": {exc.field: [exc.message]}}) from None
    return asdict(quote)


@shipments_blp.get("/<dossier_code>")
@officer_required(_kit)
@shipments_blp.doc(security=[{"bearer": []}])
@shipments_blp.response(200, ShipmentSchema)
@shipments_blp.alt_response(401, response="DEFAULT_ERROR")
@shipments_blp.alt_response(404, response="DEFAULT_ERROR")
def get_shipment(dossier_code):
    """The dossier's shipment; another agency's shipment is a 404, like an unknown one."""
    with current_db().transaction(readonly=True) as conn:
        shipment = queries.get_shipment(conn, dossier_code, agency=g.officer["agency"])
    if shipment is None:
        raise NotFound("Không tìm thấy bưu gửi (shipment not found)")
    return shipment._mapping
