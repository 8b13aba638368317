"""The workflow graph as data: the national statuses, every officer action and system edge, and its diagram.

The HTTP endpoints (`POST /v1/dossiers/{code}/<action>`), the state and role checks, `allowed_actions` in the
officer view and `docs/workflow.md` are all generated from the tables below; nothing else in the service
decides which edge exists. Statuses and codes are the DVCQG list (DOMAIN.md "Dossier lifecycle").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from marshmallow import RAISE, Schema, fields, validate

from .events import STATUS_CODES

STATUS_LABELS = {
    "submitted": "Mới đăng ký", "received": "Được tiếp nhận", "refused": "Không được tiếp nhận",
    "in_review": "Đang xử lý", "supplement_requested": "Yêu cầu bổ sung giấy tờ",
    "awaiting_payment": "Yêu cầu thực hiện nghĩa vụ tài chính", "withdrawn": "Công dân yêu cầu rút hồ sơ",
    "stopped": "Dừng xử lý", "result_ready": "Đã xử lý xong", "returned": "Đã trả kết quả",
}
STATUSES = tuple(STATUS_CODES)
CLOCK_RUNNING = ("received", "in_review")  # where "overdue" can be true (DOMAIN.md: derived, not stored)
WITHDRAWABLE = ("submitted", "received", "in_review", "supplement_requested", "awaiting_payment")


# ---- request bodies: unknown fields are a 422 naming them (marshmallow's RAISE) ---------------------------
class _Body(Schema):
    class Meta:
        unknown = RAISE


_TEXT = dict(required=True, validate=validate.Length(min=1, max=2000))


class EmptyBody(_Body):
    pass


class ReasonBody(_Body):
    reason = fields.String(**_TEXT)


class SupplementBody(_Body):
    reason = fields.String(**_TEXT)
    documents = fields.List(fields.String(validate=validate.Length(min=1, max=40)), required=True,
                            validate=validate.Length(min=1))
    deadline = fields.Date(required=True)


class AssignBody(_Body):
    assignee = fields.String(required=True, validate=validate.Length(min=1, max=64))


class SummaryBody(_Body):
    summary = fields.String(**_TEXT)


class IssueResultBody(_Body):
    result_file_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    paper_original = fields.Boolean(required=True)


class ApologyBody(_Body):
    reason = fields.String(**_TEXT)
    new_due_date = fields.Date(required=True)


def vnd(amount: int) -> str:
    """50000 -> '50.000' (Vietnamese thousands separator)."""
    return f"{amount:,}".replace(",", ".")


# ---- guards: what the case's own state must also satisfy (a refusal is a 409 with this text) --------------
Guard = Callable[[object, datetime], "str | None"]  # (case, now) -> refusal text or None


def _approval_not_requested(case, now: datetime) -> str | None:
    if case.approval == "requested":
        return "Hồ sơ đang chờ lãnh đạo ký duyệt."
    if case.approval == "approved":
        return "Hồ sơ đã được ký duyệt."
    return None


def _approval_requested(case, now: datetime) -> str | None:
    return None if case.approval == "requested" else "Chuyên viên chưa trình ký hồ sơ này."


def _approved(case, now: datetime) -> str | None:
    return None if case.approval == "approved" else "Chỉ trả kết quả sau khi lãnh đạo đã ký duyệt."


def _counter_and_paid(case, now: datetime) -> str | None:
    if case.delivery_method != "counter":
        return "Hồ sơ trả kết quả qua bưu chính; hệ thống tự cập nhật khi bưu điện báo đã phát."
    if case.fee_mode == "after" and case.fee_vnd > 0 and not case.fee_paid:
        return (f"Người nộp chưa thanh toán phí, lệ phí {vnd(case.fee_vnd)} đồng; chỉ trả kết quả sau khi "
                f"đã nhận được thanh toán.")
    return None


def _apology_allowed(case, now: datetime) -> str | None:
    if case.apologized_at is not None:
        return "Hồ sơ đã có phiếu xin lỗi và hẹn lại ngày trả; chỉ được hẹn lại một lần."
    if case.due_at is None or now >= case.due_at:
        return "Đã quá hạn trả kết quả; phiếu xin lỗi phải gửi trước khi hết hạn."
    return None


@dataclass(frozen=True)
class Action:
    """One officer action: `POST /v1/dossiers/{code}/<name>`."""

    name: str
    roles: tuple[str, ...]
    sources: tuple[str, ...]
    target: str | None  # None: the status stays
    event: str
    body: type[Schema]
    guard: Guard | None = None
    guard_text: str = ""  # the guard, in the diagram
    title: str = ""


@dataclass(frozen=True)
class SystemEdge:
    """An edge no officer takes: a consumed event or the deadline watch moves the dossier."""

    trigger: str
    sources: tuple[str, ...]
    target: str | None
    event: str | None
    note: str = ""
    extra_targets: tuple[str, ...] = field(default=())


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("receive", ("clerk",), ("submitted",), "received", "dossier.received.v1", EmptyBody,
           title="Tiếp nhận hồ sơ (phiếu hẹn, mẫu 01)"),
    Action("refuse", ("clerk",), ("submitted",), "refused", "dossier.refused.v1", ReasonBody,
           title="Từ chối tiếp nhận (mẫu 03)"),
    Action("request-supplement", ("clerk", "specialist"), ("submitted", "received", "in_review"),
           "supplement_requested", "dossier.supplement_requested.v1", SupplementBody,
           title="Yêu cầu bổ sung hồ sơ (mẫu 02); tạm dừng thời hạn"),
    Action("assign", ("leader", "specialist"), ("received",), "in_review", "dossier.assigned.v1", AssignBody,
           guard_text="specialist: only to self", title="Phân công xử lý"),
    Action("submit-for-approval", ("specialist",), ("in_review",), None, "dossier.approval_requested.v1",
           SummaryBody, _approval_not_requested, "not yet submitted", title="Trình lãnh đạo ký duyệt"),
    Action("approve", ("leader",), ("in_review",), None, "dossier.approved.v1", EmptyBody, _approval_requested,
           "submitted for approval", title="Ký duyệt"),
    Action("reject", ("leader",), ("in_review",), "stopped", "dossier.rejected.v1", ReasonBody,
           _approval_requested, "submitted for approval", title="Không duyệt"),
    Action("stop", ("specialist",), ("in_review",), "stopped", "dossier.stopped.v1", ReasonBody,
           title="Dừng xử lý"),
    Action("issue-result", ("specialist",), ("in_review",), "result_ready", "dossier.result_ready.v1",
           IssueResultBody, _approved, "approved", title="Ban hành kết quả"),
    Action("return-result", ("clerk",), ("result_ready",), "returned", "dossier.returned.v1", EmptyBody,
           _counter_and_paid, "counter delivery, fee paid", title="Trả kết quả tại quầy"),
    Action("apologize", ("leader",), CLOCK_RUNNING, None, "dossier.apology_issued.v1", ApologyBody,
           _apology_allowed, "once, before the due date", title="Phiếu xin lỗi, hẹn lại ngày trả (mẫu 04)"),
)}

SYSTEM_EDGES: tuple[SystemEdge, ...] = (
    SystemEdge("dossier.submitted", (), "submitted", None, "filed"),
    SystemEdge("dossier.submitted", (), "awaiting_payment", "dossier.payment_required.v1", "fee paid before"),
    SystemEdge("payment.completed", ("awaiting_payment",), "submitted", "dossier.payment_received.v1"),
    SystemEdge("payment.expired", ("awaiting_payment",), "stopped", "dossier.stopped.v1"),
    SystemEdge("dossier.supplemented", ("supplement_requested",), "submitted", "dossier.supplement_received.v1",
               "back to the state it left", extra_targets=("received", "in_review")),
    SystemEdge("supplement deadline passed", ("supplement_requested",), "refused", "dossier.refused.v1",
               "left from submitted"),
    SystemEdge("supplement deadline passed", ("supplement_requested",), "stopped", "dossier.stopped.v1",
               "left from received / in_review"),
    SystemEdge("dossier.withdrawal_requested", WITHDRAWABLE, "withdrawn", "dossier.withdrawn.v1"),
    SystemEdge("dossier.withdrawal_requested", ("result_ready", "returned", "refused", "stopped"), None,
               "dossier.withdrawal_refused.v1"),
    SystemEdge("shipment.delivered", ("result_ready",), "returned", "dossier.returned.v1", "post delivery"),
    SystemEdge("shipment.failed", ("result_ready",), None, None, "flag for the clerk"),
    SystemEdge("deadline watch", CLOCK_RUNNING, None, "dossier.due_soon.v1", "one working day left"),
    SystemEdge("deadline watch", CLOCK_RUNNING, None, "dossier.overdue.v1", "once per dossier"),
)


def refusal(action: Action, case, role: str, now: datetime) -> tuple[int, str] | None:
    """Why `role` may not take `action` on `case` now: (403|409, message), or None when it may."""
    if role not in action.roles:
        return 403, f"Vai trò {role} không được thực hiện thao tác {action.name}."
    if case.status not in action.sources:
        return 409, (f"Hồ sơ đang ở trạng thái “{STATUS_LABELS[case.status]}” ({STATUS_CODES[case.status]}), "
                     f"không thể thực hiện thao tác {action.name}.")
    if action.guard is not None:
        reason = action.guard(case, now)
        if reason:
            return 409, reason
    return None


def allowed_actions(case, role: str, now: datetime) -> list[str]:
    return [name for name, action in ACTIONS.items() if refusal(action, case, role, now) is None]


def mermaid() -> str:
    """The state diagram of the graph above (docs/workflow.md embeds it; a test keeps it current)."""
    lines = ["stateDiagram-v2"]
    for status in STATUSES:
        lines.append(f'    state "{STATUS_CODES[status]} {status} ({STATUS_LABELS[status]})" as {status}')
    for edge in SYSTEM_EDGES:
        label = edge.trigger + (f" [{edge.note}]" if edge.note else "") + (f" / {edge.event}" if edge.event else "")
        for target in (edge.target, *edge.extra_targets):
            for source in edge.sources or ("[*]",):
                lines.append(f"    {source} --> {target or source}: {label}")
    for action in ACTIONS.values():
        guard = f" [{action.guard_text}]" if action.guard_text else ""
        for source in action.sources:
            label = f"{action.name} ({', '.join(action.roles)}){guard} / {action.event}"
            lines.append(f"    {source} --> {action.target or source}: {label}")
    for status in ("refused", "withdrawn", "stopped", "returned"):
        lines.append(f"    {status} --> [*]")
    return "\n".join(lines) + "\n"


def render_doc() -> str:
    return (
        "# The processing workflow\n\n"
        "Generated from `services/processing/processing/workflow.py` by "
        "`python -m processing.workflow > docs/workflow.md`; a test fails when this file is stale.\n"
        "Edges read `trigger (roles) [guard] / event published`. Officer actions are "
        "`POST /v1/dossiers/{code}/<action>`; the other edges come from consumed events and the deadline watch.\n\n"
        "```mermaid\n" + mermaid() + "```\n"
    )


if __name__ == "__main__":
    print(render_doc(), end="")
