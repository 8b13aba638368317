"""T1's baseline: a bare Flask app whose POST answers a small JSON body, served by the same gunicorn settings as intake."""
from flask import Flask, request

app = Flask("bare")


@app.post("/v1/dossiers")
def create():
    # Parse the body like intake must, so the baseline pays for reading the request too.
    body = request.get_json(silent=True) or {}
    return {"code": "000.00.00.H00-000000-0000", "status": "submitted", "fields": len(body)}, 201


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
