"""Templates render Vietnamese text: ASCII-folded for SMS without a single '?', Vietnam time, limits."""
import json
from datetime import datetime, timezone

from notify.manage import TEMPLATES
from notify.render import Template, fold_sms, local_time, render, vnd

# Every Vietnamese vowel with every tone, both cases, đ/Đ, and the punctuation word processors add.
VIETNAMESE = (
    "aàáảãạ ăằắẳẵặ âầấẩẫậ eèéẻẽẹ êềếểễệ iìíỉĩị oòóỏõọ ôồốổỗộ ơờớởỡợ uùúủũụ ưừứửữự yỳýỷỹỵ đ "
    "AÀÁẢÃẠ ĂẰẮẲẴẶ ÂẦẤẨẪẬ EÈÉẺẼẸ ÊỀẾỂỄỆ IÌÍỈĨỊ OÒÓỎÕỌ ÔỒỐỔỖỘ ƠỜỚỞỠỢ UÙÚỦŨỤ ƯỪỨỬỮỰ YỲÝỶỸỴ Đ "
    "– — “Giấy” ‘tờ’ … «x» • ·"
)


def test_vietnamese_name_folds_to_plain_ascii():
    assert fold_sms("Đặng Thị Ngọc Ánh") == "Dang Thi Ngoc Anh"
    assert fold_sms("Nguyễn Văn Đức – Trưởng ấp") == "Nguyen Van Duc - Truong ap"


def test_decomposed_input_folds_like_precomposed_input():
    import unicodedata

    assert fold_sms(unicodedata.normalize("NFD", "Đặng Thị Ngọc Ánh")) == "Dang Thi Ngoc Anh"


def test_no_template_ever_renders_a_question_mark():
    items = json.load(open(TEMPLATES, encoding="utf-8"))["templates"]
    placeholders = ("code", "procedure", "name", "agency", "time", "via", "url", "amount", "reference", "deadline")
    values = {name: VIETNAMESE for name in placeholders}
    assert items
    for item in items:
        template = Template.from_json(item)
        rendered = render(template, values)
        for text in (rendered.text, rendered.subject or "", *(rendered.params or {}).values()):
            assert "?" not in text, (template.kind, template.channel)
        assert "?" not in template.body  # the templates themselves are written without one
        if template.channel == "sms":
            assert rendered.text.isascii()


def test_symbols_without_an_ascii_form_are_dropped_not_replaced():
    assert fold_sms("Hồ sơ 🙂 đã nộp ✓") == "Ho so  da nop "


def test_time_is_shown_in_vietnam_time():
    assert local_time(datetime(2026, 11, 24, 17, 30, tzinfo=timezone.utc)) == "25/11/2026 00:30"


def test_long_values_are_clipped_to_the_templates_limits():
    template = Template(kind="k", channel="zalo", body="{name}", zalo_template_id="t", params=("name",),
                        limits={"name": 30})
    rendered = render(template, {"name": "Công ty TNHH Thương mại Dịch vụ Xuất nhập khẩu Phúc Yên"})
    assert len(rendered.params["name"]) == 30 and rendered.params["name"].endswith("...")


def test_amounts_are_written_with_dots_between_thousands():
    assert [vnd(n) for n in (500, 50000, 1250000, 10000000000)] == ["500", "50.000", "1.250.000", "10.000.000.000"]
