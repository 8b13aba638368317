"""Examples shown in the OpenAPI document (every endpoint has one); the tests check they match the schemas."""
from __future__ import annotations

CODE = "000.00.06.H56-261124-0001"
TOKEN = "q3L0YbqH7c2s4VvV7s9xXyJ0m8m6kS0g2b8nqfZ2c1E"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

_MESSAGES = {
    400: "Idempotency-Key header is required on this request",
    401: "missing bearer token",
    403: "Chỉ cán bộ một cửa của cơ quan giải quyết thủ tục được nộp hồ sơ tại quầy",
    404: "Không tìm thấy hồ sơ (dossier not found)",
    409: "Hồ sơ không có yêu cầu bổ sung đang mở (no open supplement request)",
    413: "Tệp lớn hơn 10 MiB (file too large)",
    415: "Chỉ nhận tệp PDF, JPEG hoặc PNG, nhận biết theo nội dung tệp",
    422: "Unprocessable Entity",
    502: "Tệp kết quả không khớp với bản đã ban hành, vui lòng liên hệ cơ quan giải quyết (result check failed)",
    429: "Quá nhiều yêu cầu nộp hồ sơ, vui lòng thử lại sau (too many requests)",
    503: "Dịch vụ bưu chính tạm thời không phản hồi, vui lòng thử lại sau (postal is unavailable)",
}


_STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
                413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
                429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable"}


def error(status: int) -> dict:
    """The common error shape of every service."""
    return {"code": status, "status": _STATUS_TEXT[status], "message": _MESSAGES[status]}


DOCUMENTS = [{"code": "TK_KHAI_SINH", "name": "Tờ khai đăng ký khai sinh (theo mẫu)", "required": True},
             {"code": "GIAY_CHUNG_SINH", "name": "Giấy chứng sinh hoặc giấy tờ thay thế Giấy chứng sinh", "required": True}]
PROCEDURE = {
    "code": "1.001193.H56", "name": "Đăng ký khai sinh",
    "agency": {"code": "000.00.06.H56", "name": "UBND phường Phúc Yên"},
    "field": {"code": "HO_TICH", "name": "Hộ tịch"}, "level": "full_online",
    "processing_days": 1, "fee_vnd": 0, "fee_mode": "none", "documents": DOCUMENTS,
    "delivery_methods": ["counter", "post"], "result_is_paper": True,
}
PROCEDURE_PAGE = {"items": [PROCEDURE], "page": 1, "per_page": 20, "total": 1}
UPLOADED = {"id": "3f9a1c0e5b7d4e2f8a6b1c3d5e7f9a0b", "filename": "to-khai.pdf", "size": 48213, "sha256": SHA,
            "content_type": "application/pdf"}
FILING = {
    "procedure_code": "1.001193.H56",
    "applicant": {"type": "citizen", "full_name": "Đặng Thị Ngọc Ánh", "id_number": "001190012345",
                  "phone": "0912345678", "email": "anh@example.vn", "address": "12 Trần Phú, phường Phúc Yên, Phú Thọ"},
    "documents": [{"code": "TK_KHAI_SINH", "upload_id": "3f9a1c0e5b7d4e2f8a6b1c3d5e7f9a0b"},
                  {"code": "GIAY_CHUNG_SINH", "upload_id": "b0a9f7e5d3c1b6a8f2e4d7b5e0c1a9f3"}],
    "delivery": {"method": "post", "address": {"street": "12 Trần Phú", "commune": "Phường Phúc Yên",
                                               "province": "Phú Thọ", "recipient_name": "Đặng Thị Ngọc Ánh"}},
    "notify_channels": ["sms"],
    "channel": "online",
}
FILED = {"code": CODE, "status": "submitted", "status_code": 1, "access_token": TOKEN,
         "submitted_at": "2026-11-24T02:00:00.000Z", "fees": {"procedure_vnd": 0, "postal_vnd": 10000},
         "links": {"self": f"/v1/dossiers/{CODE}"}}
FILING_422 = {**error(422), "message": "Tệp đính kèm không hợp lệ (bad upload_id)",
              "errors": {"json": {"documents": {"1": {"upload_id": [
                  "Tệp b0a9f7e5d3c1b6a8f2e4d7b5e0c1a9f3 đã được dùng cho hồ sơ khác (upload_id already attached to a dossier)"]}}}}}
VIEW = {
    "code": CODE, "procedure": {"code": "1.001193.H56", "name": "Đăng ký khai sinh"},
    "status": "received", "status_code": 2, "overdue": False,
    "submitted_at": "2026-11-24T02:00:00.000Z", "received_at": "2026-11-24T03:00:00.000Z",
    "due_at": "2026-11-25T03:00:00.000Z", "completed_at": None,
    "payment": {"status": "paid", "amount_vnd": 50000, "qr_payload": "000201010212...6304ABCD",
                "expires_at": "2026-11-27T02:00:00.000Z", "paid_at": "2026-11-24T02:25:00.000Z", "refunded_at": None},
    "delivery": {"method": "post", "tracking_no": None, "status": None},
    "supplement_request": None, "withdrawal": None, "rating": None, "result": None,
    "timeline": [
        {"at": "2026-11-24T02:00:00.000Z", "status": "submitted", "note": "Hồ sơ đã được nộp trực tuyến"},
        {"at": "2026-11-24T02:25:00.000Z", "status": "submitted", "note": "Đã thanh toán phí, lệ phí: 50.000 đồng"},
        {"at": "2026-11-24T03:00:00.000Z", "status": "received",
         "note": "Hồ sơ đã được tiếp nhận. Ngày hẹn trả kết quả: 10:00 ngày 25/11/2026"},
    ],
}
SUPPLEMENT = {"documents": [{"code": "GIAY_CHUNG_SINH", "upload_id": "c4d2e0f8a6b4c2d0e8f6a4b2c0d8e6f4"}],
              "note": "Gửi lại bản chụp rõ nét"}
SUPPLEMENTED = {"code": CODE, "request_no": 1, "documents": [
    {"code": "GIAY_CHUNG_SINH", "name": "Giấy chứng sinh hoặc giấy tờ thay thế Giấy chứng sinh", "upload_id": "c4d2e0f8a6b4c2d0e8f6a4b2c0d8e6f4",
     "filename": "giay-chung-sinh.jpg", "sha256": SHA, "size": 201554}], "supplemented_at": "2026-11-25T03:15:00.000Z"}
WITHDRAWAL = {"status": "requested", "reason": "Đã nộp nhầm thủ tục", "requested_at": "2026-11-25T04:00:00.000Z",
              "answer": None}
RATING = {"score": 5, "comment": "Cán bộ hướng dẫn tận tình", "rated_at": "2026-11-28T09:30:00.000Z"}
POSTAL_QUOTE = {"service": "return", "weight_g": 100, "operator_vnd": 26000, "citizen_vnd": 10000}
