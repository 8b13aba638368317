"""The wrong person at every door (issue 13, part 3), against one running suite (SQLite).

The matrix is generated from the OpenAPI documents the five services serve (`/openapi.json`): every route behind
the officers' bearer scheme meets no token, a garbage one, a forged, an expired and an `alg=none` token and a
citizen's access token (401 each), a role the route does not allow (403), and, where the route takes a dossier
code or id, an officer of another agency (the same 404, byte for byte, as for a dossier that does not exist).
Every route behind the citizen's access token meets no token (401), another citizen's token, a garbage token and
an officer's JWT (404, the same body as for an unknown code). A new route is in the matrix the day it is served.

Then mass assignment (`status`, `paid`, `agency`, `assignee`... added to every JSON body: 422, nothing changed),
the signed webhooks of the three outside parties (missing, wrong, stale and future signatures: 401; a replay:
accepted once, no second effect), and the limits (oversized and deeply nested bodies, huge pages, repeated
lookups and filings: 413 / 400-422 / 422 / 429).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import timedelta

import jwt
import pytest

from scripts.suite import start_suite
from servicekit.config import KitSettings
from servicekit.testing import throwaway_vhost

pytestmark = pytest.mark.slow

J = sys.modules["motcua_tests_support_journeys"]  # tests/support/journeys.py, loaded by tests/conftest.py

# Services 8561-8565, simulators 8661-8664: clear of the other suites' offsets (+300, +450, +520, +700...).
PORT_OFFSET = 560
SERVICES = ("intake", "processing", "payment", "postal", "notify")
AGENCY, OTHER_AGENCY = "000.00.06.H56", "000.00.07.H56"
NO_FEE, FEE_BEFORE = "1.001193.H56", "1.004873.H56"
METHODS = ("get", "post", "put", "patch", "delete")
LOOKUP_MISSES = 5
FILINGS_PER_PHONE = 3

# Routes restricted to some roles besides the workflow actions (whose roles the spec states: "Roles: clerk.").
# A route not listed here nor in an action's description must answer every role of the agency.
ROLES = ("clerk", "specialist", "leader", "admin")
RESTRICTED = {
    ("processing", "POST", "/v1/files"): ("clerk", "specialist", "leader"),
    ("processing", "PUT", "/v1/calendar/days/{day}"): ("admin",),
    ("processing", "DELETE", "/v1/calendar/days/{day}"): ("admin",),
    ("processing", "GET", "/v1/sync/dvcqg"): ("admin",),
    ("processing", "POST", "/v1/sync/dvcqg/{code}/resync"): ("admin",),
    ("intake", "POST", "/v1/admin/catalogue/runs"): ("admin",),
    ("intake", "GET", "/v1/admin/catalogue/runs"): ("admin",),
    ("intake", "GET", "/v1/admin/catalogue/runs/{run_id}"): ("admin",),
    ("intake", "GET", "/v1/admin/catalogue/mappings"): ("admin",),
    ("intake", "PUT", "/v1/admin/catalogue/mappings/{national_code}"): ("admin",),
    ("intake", "DELETE", "/v1/admin/catalogue/mappings/{national_code}"): ("admin",),
    ("notify", "GET", "/v1/templates"): ("admin",),
    ("notify", "GET", "/v1/templates/{kind}/{channel}"): ("admin",),
    ("notify", "PUT", "/v1/templates/{kind}/{channel}"): ("admin",),
}
# Path parameters that name a dossier (or an object of one): the ownership rows of the matrix.
DOSSIER_PARAMS = ("code", "dossier_code", "file_id")
MASS_FIELDS = ("status", "status_code", "paid", "fee_paid", "agency", "agency_code", "assignee", "approval",
               "due_at", "amount_vnd", "role", "code", "channel_verified", "is_admin")

WEBHOOK_SECRETS = {"payment": "dev-bank-webhook-secret", "postal": "dev-postal-webhook-secret",
                   "notify": "dev-sms-webhook-secret"}


# ---- the suite and what it holds ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    base = tmp_path_factory.mktemp("security")
    with ExitStack() as stack:
        vhost = stack.enter_context(throwaway_vhost())
        env = {"MOTCUA_AMQP_URL": vhost, "POSTAL_SIM_AUTO_DELIVER": "0", "MOTCUA_SMTP_URL": "smtp://127.0.0.1:9",
               "INTAKE_LOOKUP_MAX_MISSES": str(LOOKUP_MISSES), "INTAKE_FILING_MAX_PER_PHONE": str(FILINGS_PER_PHONE)}
        running = start_suite(base, env, PORT_OFFSET)
        stack.callback(running.stop)
        yield running


@pytest.fixture(scope="module")
def world(suite):
    """Citizen A's dossier dispatched by post (case, order, shipment, SMS, a result file), citizen B's, and a
    pending order for the bank's webhook."""
    officers = J.Officers(suite, AGENCY)
    a = J.Citizen.file(suite, NO_FEE, "84970000001", post=True)
    b = J.Citizen.file(suite, NO_FEE, "84970000002")
    c = J.Citizen.file(suite, FEE_BEFORE, "84970000003")
    officers.receive(a.code)
    officers.review_and_issue(a.code)
    shipment = J.wait_for("A's result dispatched", lambda: (lambda s: s if s and s.get("tracking_no") and
                          s["status"] not in ("created", "pending") else None)(officers.shipment(a.code)))
    order_c = J.wait_for("C's order", lambda: (lambda o: o if o and o["status"] == "pending" else None)(officers.order(c.code)))
    J.wait_for("B's case", lambda: officers.case(b.code))
    sms = J.wait_for("an SMS to A", lambda: a.sms())
    return {"officers": officers, "a": a, "b": b, "c": c, "file_id": officers.case(a.code)["result_file_id"],
            "tracking": shipment["tracking_no"], "order_c": order_c, "sms_a": sms[0]}


@pytest.fixture(scope="module")
def specs(suite):
    out = {}
    for service in SERVICES:
        r = J.HTTP.get(suite.url(service, "/openapi.json"), timeout=10)
        assert r.status_code == 200, (service, r.status_code)
        out[service] = r.json()
    return out


def operations(specs):
    """(service, METHOD, path template, operation) of every route in the documents."""
    for service, spec in specs.items():
        for path, item in spec["paths"].items():
            for method in METHODS:
                if method in item:
                    yield service, method.upper(), path, item[method]


def scheme_of(op) -> str | None:
    names = {name for requirement in (op.get("security") or []) for name in requirement}
    if "bearer" in names or "officerJWT" in names and {} not in op.get("security", []):
        return "officer"
    if "citizenToken" in names:
        return "citizen"
    return None


def allowed_roles(service, method, path, op) -> tuple[str, ...]:
    m = re.search(r"Roles: ([a-z, ]+)\.", op.get("description") or "")
    if m:
        return tuple(r.strip() for r in m.group(1).split(","))
    return RESTRICTED.get((service, method, path), ROLES)


# ---- request bodies from the documents ------------------------------------------------------------------------
def resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(spec, schema):
    """A value the schema accepts (required properties only)."""
    schema = resolve(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: sample(spec, prop) for name, prop in schema.get("properties", {}).items()
                if name in schema.get("required", [])}
    if kind == "array":
        return [sample(spec, schema.get("items", {"type": "string"}))] * max(schema.get("minItems", 1), 1)
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), 1)
    if schema.get("format") == "date":
        return (J.vn_today() + timedelta(days=7)).isoformat()
    if schema.get("format") == "date-time":
        return "2030-01-01T00:00:00Z"
    if schema.get("pattern") == "^[0-9a-f]{32}$":
        return "0" * 32
    return "Nội dung kiểm thử"


def json_schema(spec, op):
    content = (op.get("requestBody") or {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def body_for(spec, op):
    schema = json_schema(spec, op)
    return None if schema is None else sample(spec, schema)


# ---- identities -------------------------------------------------------------------------------------------------
def token(agency=AGENCY, role="clerk", *, secret=None, exp_in=3600, algorithm="HS256", **extra) -> str:
    settings = KitSettings.from_env("processing")
    now = int(time.time())
    claims = {"sub": f"matrix-{role}", "role": role, "agency": agency, "iat": now, "exp": now + exp_in, **extra}
    if algorithm == "none":
        return jwt.encode(claims, None, algorithm="none")
    return jwt.encode(claims, secret or settings.jwt_secret, algorithm=algorithm)


def bearer(value: str | None) -> dict:
    return {} if value is None else {"Authorization": f"Bearer {value}"}


def fill(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def call(suite, service, method, path, headers, body=None, **kwargs):
    return J.HTTP.request(method, suite.url(service, path), headers=headers, json=body, timeout=15, **kwargs)


def test_the_matrix_every_route_every_wrong_identity(suite, world, specs, figures):
    a, b = world["a"], world["b"]
    missing = f"{AGENCY}-010101-9999"
    real = {"code": a.code, "dossier_code": a.code, "file_id": world["file_id"], "agency": AGENCY,
            "month": J.vn_today().strftime("%Y-%m"), "day": "2031-01-02", "kind": "dossier.received", "channel": "sms",
            "province": "Phú Thọ", "run_id": "1", "national_code": "1.000001.H56"}
    absent = {**real, "code": missing, "dossier_code": missing, "file_id": "f" * 32}
    wrong_tokens = {
        "no token": None,
        "garbage": "abc.def.ghi",
        "forged": token(role="admin", secret="not-the-secret-" + "x" * 32),
        "expired": token(role="admin", exp_in=-3600),
        "alg=none": token(role="admin", algorithm="none"),
        "citizen's access token": a.token,
    }
    cells, failures = 0, []
    routes = {"officer": 0, "citizen": 0, "officer_ownership": 0}

    def expect(label, response, statuses):
        nonlocal cells
        cells += 1
        if response.status_code not in statuses:
            failures.append(f"{label}: {response.status_code} (expected {statuses}) {response.text[:200]}")

    before = {"a": a.view(), "a_case": world["officers"].case(a.code)}
    for service, method, path, op in operations(specs):
        spec = specs[service]
        scheme = scheme_of(op)
        params = re.findall(r"\{(\w+)\}", path)
        body = body_for(spec, op)
        label = f"{service} {method} {path}"
        if scheme == "officer":
            routes["officer"] += 1
            target = fill(path, real)
            for name, value in wrong_tokens.items():
                expect(f"{label} [{name}]", call(suite, service, method, target, bearer(value), body), (401,))
            roles = allowed_roles(service, method, path, op)
            for role in ROLES:
                if role not in roles:
                    expect(f"{label} [role {role}]", call(suite, service, method, target, bearer(token(role=role)), body),
                           (403,))
            if any(p in DOSSIER_PARAMS for p in params):
                routes["officer_ownership"] += 1
                role = roles[0]
                other = call(suite, service, method, target, bearer(token(OTHER_AGENCY, role)), body)
                unknown = call(suite, service, method, fill(path, absent), bearer(token(AGENCY, role)), body)
                expect(f"{label} [another agency's officer]", other, (404,))
                expect(f"{label} [unknown dossier]", unknown, (404,))
                cells += 1
                if other.status_code == 404 and other.content != unknown.content:
                    failures.append(f"{label}: 'not yours' and 'does not exist' differ: {other.text} / {unknown.text}")
            elif "agency" in params:
                expect(f"{label} [another agency's officer]",
                       call(suite, service, method, target, bearer(token(OTHER_AGENCY, roles[0])), body), (403, 404))
        elif scheme == "citizen":
            routes["citizen"] += 1
            target = fill(path, real)
            unknown = call(suite, service, method, fill(path, absent), bearer(a.token), body)
            expect(f"{label} [no token]", call(suite, service, method, target, {}, body), (401,))
            expect(f"{label} [unknown dossier, own token]", unknown, (404,))
            for name, value in {"another citizen's token": b.token, "garbage token": "x" * 43,
                                "an officer's JWT": token(role="admin")}.items():
                response = call(suite, service, method, target, bearer(value), body)
                expect(f"{label} [{name}]", response, (404,))
                cells += 1
                if response.status_code == 404 and response.content != unknown.content:
                    failures.append(f"{label} [{name}]: 404 body differs from an unknown code's: "
                                    f"{response.text} / {unknown.text}")
    assert routes["officer"] >= 30 and routes["citizen"] >= 7 and routes["officer_ownership"] >= 15, routes
    figures("SECURITY-MATRIX", {"routes": routes, "requests_checked": cells, "failures": len(failures)})
    assert not failures, "\n".join(failures)
    # Nothing any of it changed A's dossier.
    after_case = world["officers"].case(a.code)
    assert (after_case["status"], len(after_case["audit"]) >= len(before["a_case"]["audit"])) == (before["a_case"]["status"], True)
    assert [a for a in after_case["audit"] if a["action"] not in ("notified",)] == \
        [a for a in before["a_case"]["audit"] if a["action"] not in ("notified",)]
    assert a.view()["status"] == before["a"]["status"]


def test_mass_assignment_every_json_body_rejects_fields_it_does_not_declare_and_changes_nothing(
        suite, world, specs, figures):
    a = world["a"]
    officers = world["officers"]
    before_case, before_view = officers.case(a.code), a.view()
    tried, failures = 0, []
    for service, method, path, op in operations(specs):
        spec = specs[service]
        schema = json_schema(spec, op)
        scheme = scheme_of(op)
        if schema is None or scheme is None and service != "intake":
            continue  # the webhooks are signed: their own test below
        declared = set(resolve(spec, schema).get("properties", {}))
        if path == "/v1/dossiers" and service == "intake":
            body = J.Citizen.body(suite, J.Citizen.procedure(suite, NO_FEE), "84970000009", post=False,
                                  email_address=None)
            headers_for = lambda: {"Idempotency-Key": str(uuid.uuid4())}  # noqa: E731
        else:
            body = body_for(spec, op)
            roles = allowed_roles(service, method, path, op)
            auth = bearer(a.token) if scheme == "citizen" else bearer(token(role=roles[0])) if scheme else {}
            headers_for = lambda auth=auth: auth  # noqa: E731
        target = fill(path, {"code": a.code, "dossier_code": a.code, "day": "2031-01-02", "kind": "dossier.received",
                             "channel": "sms", "file_id": world["file_id"], "run_id": "1",
                             "national_code": "1.000001.H56"})
        for field in MASS_FIELDS:
            if field in declared:
                continue
            value = {"status": "returned", "status_code": 10, "paid": True, "fee_paid": True, "amount_vnd": 0,
                     "agency": OTHER_AGENCY, "agency_code": OTHER_AGENCY, "role": "admin"}.get(field, "x")
            r = call(suite, service, method, target, headers_for(), {**body, field: value})
            tried += 1
            if r.status_code != 422 or field not in r.text:
                failures.append(f"{service} {method} {path} + {field}: {r.status_code} {r.text[:200]}")
    figures("MASS-ASSIGNMENT", {"requests": tried, "failures": len(failures)})
    assert not failures, "\n".join(failures[:40])
    after_case, after_view = officers.case(a.code), a.view()
    assert after_case["status"] == before_case["status"] and after_case["assignee"] == before_case["assignee"]
    assert [x for x in after_case["audit"] if x["action"] != "notified"] == \
        [x for x in before_case["audit"] if x["action"] != "notified"]
    assert {k: after_view[k] for k in ("status", "payment", "delivery", "withdrawal", "rating")} == \
        {k: before_view[k] for k in ("status", "payment", "delivery", "withdrawal", "rating")}


# ---- webhooks -----------------------------------------------------------------------------------------------------
def signed(secret: str, raw: bytes, t: int | None = None) -> str:
    t = int(time.time()) if t is None else t
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + raw, hashlib.sha256).hexdigest()}"


def webhook_cases(world):
    order, a = world["order_c"], world["a"]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "payment": ("/v1/gateway/callbacks", {"event_id": str(uuid.uuid4()), "reference": order["reference"],
                                               "amount_vnd": order["amount_vnd"], "result_code": "00",
                                               "bank_txn_id": "SIMMATRIX0001", "paid_at": now}),
        "postal": ("/v1/carrier/events", {"event_id": str(uuid.uuid4()), "tracking_no": world["tracking"],
                                          "status": "accepted", "at": now, "note": None}),
        "notify": ("/v1/providers/receipts", {"event_id": str(uuid.uuid4()), "message_id": world["sms_a"]["message_id"],
                                              "status": "delivered", "at": now}),
    }


def test_webhooks_of_all_three_parties_refuse_missing_wrong_stale_and_future_signatures_and_absorb_replays(
        suite, world, figures):
    officers = world["officers"]
    results = {}
    cases = webhook_cases(world)
    for service, (path, payload) in cases.items():
        raw = json.dumps(payload).encode()
        secret = WEBHOOK_SECRETS[service]
        url = suite.url(service, path)

        def post(signature, data=raw):
            headers = {"Content-Type": "application/json", **({"X-Motcua-Signature": signature} if signature else {})}
            return J.HTTP.post(url, data=data, headers=headers, timeout=10)

        refused = {
            "missing": post(None),
            "wrong secret": post(signed("not-the-secret", raw)),
            "garbage header": post("t=abc,v1=zz"),
            "stale (301 s)": post(signed(secret, raw, int(time.time()) - 301)),
            "future (301 s)": post(signed(secret, raw, int(time.time()) + 301)),
            "body changed after signing": post(signed(secret, raw), raw.replace(b'"', b' "', 1)),
        }
        bad = {k: (r.status_code, r.text[:150]) for k, r in refused.items() if r.status_code != 401}
        assert not bad, (service, bad)
        signature = signed(secret, raw)
        first, replay = post(signature), post(signature)
        assert first.status_code in (200, 202), (service, first.text)
        assert replay.status_code in (200, 202), (service, replay.text)
        results[service] = {"refused": len(refused), "first": first.status_code, "replay": replay.status_code}

    # Each took effect once.
    order = officers.order(world["c"].code)
    assert order["status"] == "paid" and sum(1 for h in order["history"] if h["to_status"] == "paid") == 1, order
    shipment = officers.shipment(world["a"].code)
    assert sum(1 for h in shipment["history"] if h["event_id"] == cases["postal"][1]["event_id"]) == 1, shipment
    notes = J.HTTP.get(suite.url("notify", "/v1/notifications"), params={"dossier_code": world["a"].code},
                       headers=officers.headers["clerk"], timeout=10).json()["items"]
    ours = [r for n in notes for r in n["receipts"] if r["event_id"] == cases["notify"][1]["event_id"]]
    assert len(ours) == 1, notes
    figures("WEBHOOKS", results)


# ---- limits -----------------------------------------------------------------------------------------------------------
def test_limits_oversized_and_deep_bodies_huge_pages_and_repeated_lookups_and_filings(suite, world, figures):
    officers, a = world["officers"], world["a"]
    seen = {}
    big = b'{"reason": "' + b"a" * (12 * 1024 * 1024) + b'"}'
    for service, path, headers in (
            ("intake", "/v1/dossiers", {"Idempotency-Key": "big-1"}),
            ("intake", f"/v1/dossiers/{a.code}/withdrawal", a.auth),
            ("processing", f"/v1/dossiers/{a.code}/refuse", officers.headers["clerk"]),
            ("payment", "/v1/gateway/callbacks", {}),
            ("postal", "/v1/carrier/events", {}),
            ("notify", "/v1/providers/receipts", {})):
        r = J.HTTP.post(suite.url(service, path), data=big, timeout=30,
                        headers={"Content-Type": "application/json", **headers})
        seen[f"12 MiB to {service}{path.split(a.code)[-1]}"] = r.status_code
        assert r.status_code == 413, (service, path, r.status_code, r.text[:200])

    deep = b"[" * 100_000 + b"]" * 100_000
    for service, path, headers in (
            ("intake", "/v1/dossiers", {"Idempotency-Key": "deep-1"}),
            ("intake", "/v1/dossiers/lookup", {}),
            ("processing", f"/v1/dossiers/{a.code}/refuse", officers.headers["clerk"]),
            ("notify", "/v1/templates/dossier.received/sms", officers.headers["admin"])):
        r = J.HTTP.request("PUT" if "templates" in path else "POST", suite.url(service, path), data=deep, timeout=30,
                           headers={"Content-Type": "application/json", **headers})
        seen[f"deep JSON to {service}"] = r.status_code
        assert r.status_code in (400, 413, 422), (service, path, r.status_code, r.text[:200])

    for service, path, headers in (("intake", "/v1/procedures", {}),
                                   ("processing", "/v1/dossiers", officers.headers["clerk"])):
        r = J.HTTP.get(suite.url(service, path), params={"per_page": 1_000_000}, headers=headers, timeout=10)
        seen[f"per_page=1000000 at {service}"] = r.status_code
        assert r.status_code == 422, (service, r.status_code, r.text[:200])

    statuses = [J.HTTP.post(suite.url("intake", "/v1/dossiers/lookup"), json={"code": a.code, "id_number": "079099000000"},
                            timeout=10).status_code for _ in range(LOOKUP_MISSES + 2)]
    seen["lookups with a wrong ID number"] = statuses
    assert statuses[:LOOKUP_MISSES] == [404] * LOOKUP_MISSES and statuses[-1] == 429, statuses
    blocked = J.HTTP.post(suite.url("intake", "/v1/dossiers/lookup"), json={"code": a.code, "id_number": "001190012345"},
                          timeout=10)
    assert blocked.status_code == 429 and blocked.headers.get("Retry-After"), blocked.text  # even the right one, now

    procedure = J.Citizen.procedure(suite, NO_FEE)
    filings = []
    for n in range(FILINGS_PER_PHONE + 1):
        body = J.Citizen.body(suite, procedure, "84970000077", post=False, email_address=None)
        filings.append(J.HTTP.post(suite.url("intake", "/v1/dossiers"), json=body, timeout=10,
                                   headers={"Idempotency-Key": f"limit-{n}-{uuid.uuid4()}"}).status_code)
    seen["filings from one phone"] = filings
    assert filings == [201] * FILINGS_PER_PHONE + [429], filings
    figures("LIMITS", seen)


def test_a_counter_filing_takes_only_a_valid_clerk_token_of_the_procedures_agency(suite, world):
    """`channel: counter` is the one citizen door with an optional officer JWT: every wrong token is refused and
    nothing is filed."""
    procedure = J.Citizen.procedure(suite, NO_FEE)
    expected = {
        "no token": (None, 401), "garbage": ("abc.def.ghi", 401),
        "forged": (token(secret="not-the-secret-" + "x" * 32), 401), "expired": (token(exp_in=-3600), 401),
        "alg=none": (token(algorithm="none"), 401), "a citizen's access token": (world["a"].token, 401),
        "another agency's clerk": (token(OTHER_AGENCY), 403), "a specialist": (token(role="specialist"), 403),
    }
    got = {}
    for name, (value, _) in expected.items():
        body = {**J.Citizen.body(suite, procedure, "84970000055", post=False, email_address=None), "channel": "counter"}
        r = J.HTTP.post(suite.url("intake", "/v1/dossiers"), json=body, timeout=10,
                        headers={"Idempotency-Key": f"counter-{uuid.uuid4()}", **bearer(value)})
        got[name] = r.status_code
    assert got == {name: status for name, (_, status) in expected.items()}, got
