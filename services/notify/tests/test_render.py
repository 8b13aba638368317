"""Templates render per channel: SMS folded to GSM-7 ASCII within its cap, Zalo typed parameters within their
limits, email text and autoescaped HTML; a template that does not fit its event is refused."""
import unicodedata
from datetime import datetime, timezone

import pytest
import yaml

from notify.manage import TEMPLATES
from notify.render import (Template, TemplateInvalid, Unsendable, check, clean_name, fold_sms, gsm7_septets,
                           local_time, render, sms_segments, vnd)
from notify.use_cases import example_values

PORTAL = "http://127.0.0.1:8000"
CODE = "000.00.06.H56-261124-0001"

# Every Vietnamese vowel with every tone, both cases, đ/Đ, and the punctuation word processors add.
VIETNAMESE = (
    "aàáảãạ ăằắẳẵặ âầấẩẫậ eèéẻẽẹ êềếểễệ iìíỉĩị oòóỏõọ ôồốổỗộ ơờớởỡợ uùúủũụ ưừứửữự yỳýỷỹỵ đ "
    "AÀÁẢÃẠ ĂẰẮẲẴẶ ÂẦẤẨẪẬ EÈÉẺẼẸ ÊỀẾỂỄỆ IÌÍỈĨỊ OÒÓỎÕỌ ÔỒỐỔỖỘ ƠỜỚỞỠỢ UÙÚỦŨỤ ƯỪỨỬỮỰ YỲÝỶỸỴ Đ "
    "– — “Giấy” ‘tờ’ … «x» • ·"
)


def seeded():
    with open(TEMPLATES, encoding="utf-8") as fh:
        return [Template.from_json(item) for item in yaml.safe_load(fh)["templates"]]


def test_vietnamese_name_folds_to_plain_ascii():
    assert fold_sms("Đặng Thị Ngọc Ánh") == "Dang Thi Ngoc Anh"
    assert fold_sms("Nguyễn Văn Đức – Trưởng ấp") == "Nguyen Van Duc - Truong ap"
    assert fold_sms(unicodedata.normalize("NFD", "Đặng Thị Ngọc Ánh")) == "Dang Thi Ngoc Anh"


def test_symbols_without_an_ascii_form_and_control_characters_are_dropped_not_replaced():
    assert fold_sms("Hồ sơ 🙂 đã nộp ✓\x07") == "Ho so  da nop "


def test_every_seeded_sms_is_ascii_without_a_question_mark_even_for_every_vietnamese_letter():
    for template in seeded():
        values = {name: VIETNAMESE for name in example_values(template.kind, PORTAL)}
        values["code"], values["url"] = CODE, f"{PORTAL}/ho-so/{CODE}"
        if template.channel == "zalo":
            continue  # Zalo keeps diacritics; its limits are checked below
        rendered = render(template, values, max_segments=3)
        for text in (rendered.text, rendered.subject or ""):
            assert "?" not in text, (template.kind, template.channel)
        if template.channel == "sms":
            assert rendered.text.isascii() and CODE in rendered.text, template.kind


def test_segments_are_counted_in_gsm7_septets():
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2 and sms_segments("a" * 307) == 3
    assert gsm7_septets("[x]") == 5  # brackets live in the GSM-7 extension table: two septets each
    assert sms_segments("{" * 81) == 2


@pytest.mark.parametrize("cap", [1, 2])
def test_an_sms_over_its_cap_shortens_the_reason_first_and_never_cuts_the_code_or_the_link(cap):
    template = Template(kind="dossier.refused", channel="sms",
                        body="Hồ sơ {{ code }} ({{ procedure }}) không được tiếp nhận. Lý do: {{ reason }}. {{ url }}")
    values = example_values("dossier.refused", PORTAL)
    values["reason"] = "Thiếu giấy tờ " * 40
    values["procedure"] = "Đăng ký khai sinh"
    rendered = render(template, values, max_segments=cap)
    assert rendered.segments <= cap and rendered.text.isascii()
    assert CODE in rendered.text and rendered.text.endswith(f"{PORTAL}/ho-so/{CODE}")
    assert "(Dang ky khai sinh)" in rendered.text and "Ly do: Thieu giay to" in rendered.text
    assert "..." in rendered.text


def test_when_the_reason_is_not_enough_the_procedure_then_the_agency_are_shortened():
    template = Template(kind="dossier.refused", channel="sms",
                        body="{{ agency }}: {{ code }} {{ procedure }} {{ reason }} {{ url }}")
    values = {**example_values("dossier.refused", PORTAL), "reason": "R" * 100, "procedure": "P" * 100,
              "agency": "A" * 40}
    rendered = render(template, values, max_segments=1)
    assert rendered.segments == 1 and CODE in rendered.text and "R" not in rendered.text
    assert "PP" in rendered.text and rendered.text.startswith("A" * 40)


def test_the_name_is_cleaned_and_short():
    assert clean_name("  Đặng\tThị\x00 Ngọc\u200b Ánh \n") == "Đặng Thị Ngọc Ánh"
    long = "Công ty TNHH Thương mại Dịch vụ Xuất nhập khẩu Phúc Yên"
    assert len(clean_name(long)) <= 30 and clean_name(long) == "Công ty TNHH Thương mại Dịch"


def test_zalo_parameters_are_typed_and_within_their_limits():
    template = Template(kind="dossier.refused", channel="zalo", zalo_template_id="z",
                        params=({"name": "name", "type": "name"}, {"name": "code", "type": "code"},
                                {"name": "reason", "type": "string"}),
                        body="Kính gửi {{ name }}. Hồ sơ {{ code }}: {{ reason }}")
    values = {**example_values("dossier.refused", PORTAL), "name": "Nguyễn Thị Phương Thảo Hoàng Anh Minh",
              "reason": "x" * 500}
    rendered = render(template, values)
    assert rendered.zalo_template_id == "z" and set(rendered.params) == {"name", "code", "reason"}
    assert len(rendered.params["name"]) <= 30 and rendered.params["code"] == CODE
    assert len(rendered.params["reason"]) <= 100 and len(rendered.text) <= 400
    with pytest.raises(Unsendable):
        render(template, {**values, "code": "X" * 31})


def test_every_seeded_zalo_template_stays_within_400_characters_with_long_values():
    for template in (t for t in seeded() if t.channel == "zalo"):
        values = example_values(template.kind, PORTAL)
        for param in template.params:
            if param["type"] in ("string", "name"):
                values[param["name"]] = "Ư" * 150
        rendered = render(template, values)
        assert len(rendered.text) <= 400, template.kind
        assert all(len(v) <= 100 or k == "url" for k, v in rendered.params.items()), template.kind


def test_email_html_is_autoescaped_and_links_are_clickable():
    template = Template(kind="dossier.refused", channel="email", subject="Hồ sơ {{ code }}",
                        body="Kính gửi {{ name }},\n\nLý do: {{ reason }}\nTra cứu: {{ url }}\n")
    values = {**example_values("dossier.refused", PORTAL), "reason": "<script>alert(1)</script> & co"}
    rendered = render(template, values)
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in rendered.html
    assert f'<a href="{PORTAL}/ho-so/{CODE}">' in rendered.html and '<html lang="vi">' in rendered.html
    assert "<script>alert(1)</script> & co" in rendered.text  # the text part is plain text
    explicit = Template(kind="dossier.refused", channel="email", subject="s", body="b",
                        html="<p>{{ reason }}</p>")
    assert "<p>&lt;script&gt;" in render(explicit, values).html


@pytest.mark.parametrize("body, field, message", [
    ("Hồ sơ {{ code }} của {{ id_number }}", "body", "unknown placeholder(s): id_number"),
    ("Hồ sơ {{ code }", "body", "invalid template markup"),
    ("Hồ sơ {% if code %}{{ code }}", "body", "invalid template markup"),
    ("Hồ sơ {{ code.__class__ }}", "body", "does not render"),
])
def test_a_template_that_does_not_fit_its_event_is_refused(body, field, message):
    with pytest.raises(TemplateInvalid) as raised:
        check(Template(kind="dossier.received", channel="sms", body=body),
              example_values("dossier.received", PORTAL), max_segments=2)
    assert message in " ".join(raised.value.errors[field])


def test_an_sms_template_whose_fixed_text_alone_exceeds_the_cap_is_refused():
    with pytest.raises(TemplateInvalid) as raised:
        check(Template(kind="dossier.received", channel="sms", body="{{ code }} " + "x" * 200),
              example_values("dossier.received", PORTAL), max_segments=1)
    assert "segments" in raised.value.errors["body"][0]


def test_zalo_parameters_must_name_placeholders_of_a_known_type():
    with pytest.raises(TemplateInvalid) as raised:
        check(Template(kind="dossier.received", channel="zalo", zalo_template_id="z", body="{{ code }} {{ due }}",
                       params=({"name": "code", "type": "code"}, {"name": "due", "type": "weekday"})),
              example_values("dossier.received", PORTAL), max_segments=2)
    assert "params" in raised.value.errors


def test_time_is_shown_in_vietnam_time_and_amounts_with_dots():
    assert local_time(datetime(2026, 11, 24, 17, 30, tzinfo=timezone.utc)) == "25/11/2026 00:30"
    assert [vnd(n) for n in (500, 50000, 1250000, 10000000000)] == ["500", "50.000", "1.250.000", "10.000.000.000"]
