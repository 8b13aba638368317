"""Officer API: flask-smorest blueprints, one transaction per request, own agency only."""
from flask import g
from flask_smorest import Blueprint

from servicekit.auth import officer_required
from servicekit.web import NotFound, current_db, current_settings

from . import queries
from .schemas import PaymentOrderSchema

blp = Blueprint("payments", __name__, url_prefix="/v1/payments", description="Thanh toán lệ phí (payment orders)")


def _kit():
    return current_settings().kit


@blp.get("/<dossier_code>")
@officer_required(_kit)
@blp.doc(security=[{"bearer": []}])
@blp.response(200, PaymentOrderSchema)
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_payment(dossier_code):
    """The dossier's payment order; another agency's order is a 404, like an unknown one."""
    with current_db().transaction(readonly=True) as conn:
        order = queries.get_order(conn, dossier_code, agency=g.officer["agency"])
    if order is None:
        raise NotFound("Không tìm thấy lệnh thanh toán (payment order not found)")
    return order._mapping
