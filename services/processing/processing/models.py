"""Processing's tables: cases, their audit trail, result files and the calendar's extra days, plus the kit's."""
import sqlalchemy as sa

from servicekit.tables import UTCDateTime, add_kit_tables

metadata = sa.MetaData()
outbox, inbox, idempotency_keys = add_kit_tables(metadata)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(40), nullable=False, unique=True),
    sa.Column("procedure_code", sa.String(40), nullable=False),
    sa.Column("procedure_name", sa.Text, nullable=False),
    sa.Column("agency_code", sa.String(40), nullable=False, index=True),
    sa.Column("applicant_name", sa.Text, nullable=False),
    sa.Column("applicant_type", sa.String(20), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("delivery_method", sa.String(20), nullable=False),
    sa.Column("processing_days", sa.Integer, nullable=False),
    sa.Column("fee_vnd", sa.Integer, nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("assignee", sa.String(64)),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # 0002: the workflow. `version` guards every write (two officers at once: one transition);
    # `seq` numbers this dossier's published events so consumers can drop a stale one.
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
    # What the national portal sync will need later, kept as filed (DVCQG DongBoHoSoMC).
    sa.Column("applicant_id_number", sa.String(20)),
    sa.Column("applicant_phone", sa.String(20)),
    sa.Column("applicant_email", sa.Text),
    sa.Column("applicant_address", sa.Text),
    sa.Column("delivery_address", sa.Text),  # JSON, null for counter
    sa.Column("documents", sa.Text),  # JSON: what was uploaded (plus supplements)
    sa.Column("procedure_documents", sa.Text),  # JSON: the procedure's list at filing
    sa.Column("procedure_level", sa.String(20)),
    sa.Column("fee_mode", sa.String(10), nullable=False, server_default="none"),
    sa.Column("result_is_paper", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("filed_by", sa.String(64)),
    sa.Column("received_at", UTCDateTime),
    sa.Column("received_by", sa.String(64)),
    sa.Column("due_at", UTCDateTime),
    # Supplement (form 02): the clock stops at `paused_at`; the open request's details.
    sa.Column("paused_at", UTCDateTime),
    sa.Column("paused_seconds", sa.Integer, nullable=False, server_default="0"),
    sa.Column("supplement_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("supplement_from_status", sa.String(30)),
    sa.Column("supplement_reason", sa.Text),
    sa.Column("supplement_documents", sa.Text),  # JSON [{code, name}]
    sa.Column("supplement_deadline", sa.Date),
    sa.Column("approval", sa.String(20)),  # null | requested | approved
    sa.Column("approval_summary", sa.Text),
    sa.Column("result_file_id", sa.String(64)),
    sa.Column("result_sha256", sa.String(64)),
    sa.Column("paper_original", sa.Boolean),
    sa.Column("finished_at", UTCDateTime),  # end of processing for the 766 on-time rule
    sa.Column("returned_at", UTCDateTime),
    sa.Column("returned_via", sa.String(20)),
    sa.Column("fee_paid", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("paid_online", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("payment_reference", sa.String(40)),
    sa.Column("apologized_at", UTCDateTime),
    sa.Column("due_soon_sent_at", UTCDateTime),
    sa.Column("overdue_sent_at", UTCDateTime),
    sa.Column("delivery_failed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("rating_score", sa.Integer),
    # 0004: for the national record (DVCQG DonViXuLy, DanhSachHoSoBoSung): the agency's name as filed, and every
    # supplement request with its answer, JSON [{request_no, requested_at, requested_by, reason, documents,
    # deadline, old_due_at, supplemented_at?, provided?, note?, new_due_at?, closed_at?, outcome?}].
    sa.Column("agency_name", sa.Text),
    sa.Column("supplements", sa.Text),
    # 0005: the procedure's field (lĩnh vực) as filed, DVCQG MaLinhVuc / TenLinhVuc; null from older events.
    sa.Column("procedure_field_code", sa.String(40)),
    sa.Column("procedure_field_name", sa.Text),
    sa.Index("ix_cases_agency_status_due", "agency_code", "status", "due_at"),
)

audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),  # officer sub, or "system:<event type>"
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("from_status", sa.String(30)),
    sa.Column("to_status", sa.String(30), nullable=False),
    sa.Column("note", sa.Text),
)

# Results officers upload (the bytes live under PROCESSING_FILES_DIR, never in the database).
result_files = sa.Table(
    "result_files",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("agency_code", sa.String(40), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("content_type", sa.String(60), nullable=False),
    sa.Column("uploaded_by", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The admin's table on top of the computed holidays: extra days off and swapped working days.
calendar_days = sa.Table(
    "calendar_days",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("kind", sa.String(10), nullable=False),  # off | work
    sa.Column("note", sa.Text),
    sa.Column("updated_by", sa.String(64), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# 0003: the national portal (DVCQG) sync queue. One row per step that has a national status code, written in the
# step's own transaction; the worker sends them in order per dossier (pending -> sent, or parked when refused).
dvcqg_sync = sa.Table(
    "dvcqg_sync",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("agency_code", sa.String(40), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),  # the case's event seq of the step (0: the opening)
    sa.Column("status_code", sa.Integer, nullable=False),  # TrangThai 1-10
    sa.Column("actor_name", sa.Text, nullable=False),  # NguoiXuLy
    sa.Column("actor_title", sa.Text, nullable=False, server_default=""),  # ChucDanh
    sa.Column("department", sa.Text, nullable=False, server_default=""),  # PhongBanXuLy
    sa.Column("at", UTCDateTime, nullable=False),  # ThoiDiemXuLy
    sa.Column("content", sa.Text, nullable=False, server_default=""),  # the note after NoiDungXuLy's label
    sa.Column("due_at", UTCDateTime),  # NgayKetThucTheoQuyDinh
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("state", sa.String(10), nullable=False, server_default="pending"),  # pending | sent | parked
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("last_answer", sa.Text),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("cuts", sa.Text),  # JSON [{field, length, limit}] of the record and the row as last sent
    sa.UniqueConstraint("code", "seq", name="uq_dvcqg_sync_code_seq"),
    sa.Index("ix_dvcqg_sync_state_code", "state", "code", "id"),
    sa.Index("ix_dvcqg_sync_agency_state", "agency_code", "state"),
)
