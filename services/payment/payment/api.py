"""Payment's HTTP API: flask-smorest blueprints, one transaction per request.

Officers (own agency only) read an order with its history and the daily report; the bank posts signed
payment callbacks.
"""
from flask import Response, g, request
from flask_smorest import Blueprint

from servicekit.auth import officer_required
from servicekit.web import NotFound, current_db, current_settings
from servicekit.webhooks import SIGNATURE_DOC, signed_json

from . import queries, reports, use_cases
from .schemas import BankCallbackSchema, CallbackResultSchema, DailyReportQuerySchema, PaymentOrderSchema

blp = Blueprint("payments", __name__, url_prefix="/v1/payments", description="Thanh toán lệ phí (payment orders)")
gateway_blp = Blueprint("gateway", __name__, url_prefix="/v1/gateway",
                        description="Bank callbacks (signed, CONTRACT.md 'Signatures on callbacks')")
reports_blp = Blueprint("reports", __name__, url_prefix="/v1/reports", description="Báo cáo đối soát (reconciliation)")

_CALLBACK = BankCallbackSchema()


def _kit():
    return current_settings().kit


@blp.get("/<dossier_code>")
@officer_required(_kit)
@blp.doc(security=[{"bearer": []}])
@blp.response(200, PaymentOrderSchema)
@blp.alt_response(401, response="DEFAULT_ERROR")
@blp.alt_response(404, response="DEFAULT_ERROR")
def get_payment(dossier_code):
    """The dossier's payment order and its history; another agency's order is a 404, like an unknown one."""
    with current_db().transaction(readonly=True) as conn:
        order = queries.get_order(conn, dossier_code, agency=g.officer["agency"])
        if order is None:
            raise NotFound("Không tìm thấy lệnh thanh toán (payment order not found)")
        history = queries.history(conn, order.id)
    return {**order._mapping, "history": [row._mapping for row in history]}


@gateway_blp.post("/callbacks")
@gateway_blp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": BankCallbackSchema}}},
    parameters=[SIGNATURE_DOC],
)
@gateway_blp.response(200, CallbackResultSchema)
@gateway_blp.alt_response(400, response="DEFAULT_ERROR", description="body is not a JSON object")
@gateway_blp.alt_response(401, response="DEFAULT_ERROR", description="missing, wrong or stale signature")
@gateway_blp.alt_response(422, response="DEFAULT_ERROR", description="a field is missing or malformed (named)")
def bank_callback():
    """The bank confirms a payment (result_code 00) or reports a failed attempt.

    Recorded once per event_id; the exact amount marks the order paid (once, however many callbacks race);
    another amount or an unknown reference is recorded and flagged for reconciliation, not paid. Answers 200
    with what happened, so the bank stops resending.
    """
    callback = signed_json(current_settings().webhook_secrets, _CALLBACK)
    with current_db().transaction() as conn:
        outcome = use_cases.apply_callback(conn, callback)
    return {"result": outcome}


@reports_blp.get("/daily")
@officer_required(_kit)
@reports_blp.doc(security=[{"bearer": []}], responses={200: {"content": {"text/csv": {
    "schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}})
@reports_blp.arguments(DailyReportQuerySchema, location="query")
@reports_blp.response(200)
@reports_blp.alt_response(401, response="DEFAULT_ERROR")
@reports_blp.alt_response(422, response="DEFAULT_ERROR")
def daily_report(args):
    """One day (Vietnam time) of the officer's agency: orders opened, payments, refunds, mismatches, totals.

    JSON by default; CSV with `Accept: text/csv` or `?format=csv`. Admins also see payments to unknown
    references (they belong to no agency).
    """
    with current_db().transaction(readonly=True) as conn:
        report = reports.daily_report(conn, g.officer["agency"], args["date"],
                                      with_unknown=g.officer["role"] == "admin")
    wants_csv = args["format"] == "csv" or (
        args["format"] is None and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv")
    if wants_csv:
        filename = f"payments-{report['agency_code']}-{report['date']}.csv"
        return Response(reports.as_csv(report), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{filename}"'})
    return report

