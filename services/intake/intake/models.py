"""Intake's tables: the procedure catalogue, dossiers as filed with their timeline and what other services
report of them (payment requests, shipments), plus the kit's tables."""
import sqlalchemy as sa

from servicekit.tables import BigId, UTCDateTime, add_kit_tables

metadata = sa.MetaData()
outbox, inbox, idempotency_keys = add_kit_tables(metadata)

agencies = sa.Table(
    "agencies",
    metadata,
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("province", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

procedures = sa.Table(
    "procedures",
    metadata,
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    # Folded to lower-case ASCII (name, code, agency name): "dang ky khai sinh" finds "Đăng ký khai sinh"
    # with a plain LIKE on both backends.
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("agency_code", sa.String(40), sa.ForeignKey("agencies.code"), nullable=False, index=True),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("processing_days", sa.Integer, nullable=False),
    sa.Column("fee_vnd", sa.Integer, nullable=False),
    sa.Column("fee_mode", sa.String(10), nullable=False),
    sa.Column("documents", sa.JSON, nullable=False),  # [{code, name, required}], read whole, never queried
    sa.Column("delivery_methods", sa.JSON, nullable=False),
    sa.Column("result_is_paper", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # 0004: the national catalogue sync (catalogue_sync.py). `source` is who owns the row: "seed" (the shipped
    # file, upserted by `manage migrate|seed`) or "dvcqg" (taken over by the sync; the seed no longer touches it).
    # A procedure is never deleted (dossiers name it): one gone from the national list is withdrawn, hidden from
    # the citizen's catalogue and closed to new filings. `national_code` is its MATTHC, `national_marker` the
    # list's last-change mark (NGAYCAPNHAT) as last applied: an unchanged mark skips the LayThuTuc call.
    sa.Column("source", sa.String(10), nullable=False, server_default="seed"),
    sa.Column("withdrawn_at", UTCDateTime),
    sa.Column("national_code", sa.String(60)),
    sa.Column("national_marker", sa.String(40)),
    sa.Column("synced_at", UTCDateTime),
    # 0006: the procedure's field (lĩnh vực), LINHVUCTHUCHIEN[0] of the national record; null when unknown.
    # Dossiers carry it to processing, which sends it to the national portal as MaLinhVuc / TenLinhVuc.
    sa.Column("field_code", sa.String(40)),
    sa.Column("field_name", sa.Text),
)

# National procedure code (MATTHC) -> the province's own code, where they differ; edited by an admin
# (PUT /v1/admin/catalogue/mappings/{national_code}). A code without a row maps to itself.
procedure_code_map = sa.Table(
    "procedure_code_map",
    metadata,
    sa.Column("national_code", sa.String(60), primary_key=True),
    sa.Column("local_code", sa.String(40), nullable=False, unique=True),
    sa.Column("note", sa.Text),
    sa.Column("updated_by", sa.String(100), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One row per catalogue sync run: requested (by an admin) -> running -> ok | failed, with its change report.
catalogue_runs = sa.Table(
    "catalogue_runs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("trigger", sa.String(10), nullable=False),  # schedule | admin
    sa.Column("requested_by", sa.String(100)),  # the admin's sub
    sa.Column("full", sa.Boolean, nullable=False, server_default=sa.false()),  # fetch every procedure
    sa.Column("state", sa.String(10), nullable=False),  # requested | running | ok | failed
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("error", sa.Text),
    sa.Column("summary", sa.JSON),  # {listed, fetched, added, changed, withdrawn, restored, unchanged, skipped}
    sa.Column("report", sa.JSON),  # {added: [...], changed: [{code, national_code, changes: {field: {from, to}}}], ...}
    sa.Index("ix_catalogue_runs_state", "state", "id"),
)

dossiers = sa.Table(
    "dossiers",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(40), nullable=False, unique=True),
    sa.Column("procedure_code", sa.String(40), nullable=False),
    sa.Column("procedure_name", sa.Text, nullable=False),  # as filed: a later catalogue rename changes nothing here
    sa.Column("agency_code", sa.String(40), nullable=False, index=True),
    sa.Column("applicant_type", sa.String(20), nullable=False),
    sa.Column("applicant_name", sa.Text, nullable=False),
    sa.Column("id_number", sa.String(20), nullable=False),
    sa.Column("phone", sa.String(15)),
    sa.Column("email", sa.String(254)),
    sa.Column("applicant_address", sa.Text, nullable=False),
    sa.Column("documents", sa.JSON, nullable=False),
    sa.Column("delivery_method", sa.String(10), nullable=False),
    sa.Column("delivery_address", sa.JSON),
    sa.Column("notify_channels", sa.JSON, nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("fee_procedure_vnd", sa.Integer, nullable=False),
    sa.Column("fee_postal_vnd", sa.Integer, nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # The procedure as filed, for the appointment slip (null on dossiers filed before 0003).
    sa.Column("agency_name", sa.Text),
    sa.Column("processing_days", sa.Integer),
    sa.Column("fee_mode", sa.String(10)),
    sa.Column("filed_by", sa.String(100)),  # the clerk's `sub` for a counter filing
    # The read model processing's events keep current. `last_seq` is the highest processing seq applied:
    # an event at or below it changes no field (an older event never moves the view back).
    sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("received_at", UTCDateTime),
    sa.Column("due_at", UTCDateTime),
    sa.Column("completed_at", UTCDateTime),
    # The citizen's request to withdraw: requested, then refused or accepted by processing.
    sa.Column("withdrawal_status", sa.String(20)),
    sa.Column("withdrawal_reason", sa.Text),
    sa.Column("withdrawal_requested_at", UTCDateTime),
    sa.Column("withdrawal_answer", sa.Text),
    # The electronic result, from dossier.result_ready.v1: processing's file id (fetched by a signed link),
    # its SHA-256 (checked on every download) and whether a paper original also exists.
    sa.Column("result_file_id", sa.String(64)),
    sa.Column("result_sha256", sa.String(64)),
    sa.Column("result_paper_original", sa.Boolean),
)

# Access tokens of a dossier: several may be live at once (the filing's, and one per lookup), each with an
# expiry, each revocable. Only the SHA-256 is kept. A lookup adds a token and never revokes the others, so
# knowing a code and ID number cannot lock the citizen out, and a replayed filing's token stays valid.
access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(10), nullable=False),  # filing | lookup
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

# Files handed in before filing (or for a supplement). The bytes live under INTAKE_UPLOADS_DIR named by
# `id`; a row with no dossier_code is unattached and removed after INTAKE_UPLOAD_MAX_AGE_HOURS.
uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("content_type", sa.String(40), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
    sa.Column("dossier_code", sa.String(40), index=True),
    sa.Column("attached_at", UTCDateTime),
)

# Supplement requests processing opened (form 02): open until processing resumes or closes the dossier;
# `answered_at` is when the citizen sent the supplement.
supplement_requests = sa.Table(
    "supplement_requests",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False),
    sa.Column("request_no", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("documents", sa.JSON, nullable=False),  # [{code, name}]
    sa.Column("deadline", sa.String(10), nullable=False),  # YYYY-MM-DD
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("answered_at", UTCDateTime),
    sa.Column("closed_at", UTCDateTime),
    sa.UniqueConstraint("dossier_code", "request_no", name="uq_supplement_requests_dossier_no"),
)

ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), primary_key=True),  # once per dossier
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("rated_at", UTCDateTime, nullable=False),
)

# Filing limits per client address and per phone number, in a fixed window from the first hit; in the
# database so the limit holds across gunicorn workers and hosts.
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("bucket", sa.String(120), primary_key=True),
    sa.Column("window_started_at", UTCDateTime, nullable=False),
    sa.Column("hits", sa.Integer, nullable=False),
)

# Circular 01/2018 art. 19: the dossier code's last part counts per receiving unit per day. One row per
# (agency, day), bumped by an upsert inside the filing transaction, so concurrent filings queue on the row.
dossier_sequences = sa.Table(
    "dossier_sequences",
    metadata,
    sa.Column("agency_code", sa.String(40), primary_key=True),
    sa.Column("day", sa.String(6), primary_key=True),  # YYMMDD in Asia/Ho_Chi_Minh
    sa.Column("last_number", sa.Integer, nullable=False),
)

dossier_timeline = sa.Table(
    "dossier_timeline",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("note", sa.Text),
    # What made the entry (e.g. "seq:4", "payment:MCK7..:paid"): a republished event adds no second entry.
    sa.Column("event_key", sa.String(120)),
    sa.UniqueConstraint("dossier_code", "event_key", name="uq_dossier_timeline_event"),
)

# The citizen's read model of payment: one row per payment order payment.requested.v1 announces, keyed by
# the order's reference (later payment.* events name it). The view shows the dossier's latest order.
dossier_payments = sa.Table(
    "dossier_payments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False, index=True),
    sa.Column("reference", sa.String(40), nullable=False, unique=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("amount_vnd", sa.Integer, nullable=False),
    sa.Column("qr_payload", sa.Text, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("paid_at", UTCDateTime),
    sa.Column("refunded_at", UTCDateTime),
)

# The citizen's read model of postal shipments, keyed by tracking number (later shipment.* events name it).
# `service` tells the return of the result (shown as the view's delivery) from a collection of the dossier.
dossier_shipments = sa.Table(
    "dossier_shipments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossiers.code"), nullable=False, index=True),
    sa.Column("tracking_no", sa.String(40), nullable=False, unique=True),
    sa.Column("service", sa.String(20), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_event_at", UTCDateTime),  # time of the latest report applied; an older one is ignored
)

# Misses of "find my dossier by code and ID number", per client IP, in a fixed window from the first miss.
# In the database, not in process memory, so the limit holds across gunicorn workers and hosts.
lookup_limits = sa.Table(
    "lookup_limits",
    metadata,
    sa.Column("client_ip", sa.String(64), primary_key=True),
    sa.Column("window_started_at", UTCDateTime, nullable=False),
    sa.Column("misses", sa.Integer, nullable=False),
)
