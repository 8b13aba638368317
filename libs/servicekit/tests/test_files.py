import os

import pytest

from servicekit.files import PDF, PNG, FileStore, sniff, vietnamese_font

PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_type_comes_from_the_content_not_the_name():
    assert sniff(PDF_BYTES) == PDF
    assert sniff(PNG_BYTES) == PNG
    assert sniff(b"MZ\x90\x00 pretending to be a pdf") != PDF
    assert sniff(b"plain text") is None


def test_stored_file_has_an_unguessable_id_its_hash_and_reads_back(tmp_path):
    store = FileStore(str(tmp_path))
    first, second = store.save(PDF_BYTES, PDF), store.save(PDF_BYTES, PDF)
    assert first.id != second.id and len(first.id) == 32
    assert first.sha256 == "%064x" % int.from_bytes(__import__("hashlib").sha256(PDF_BYTES).digest(), "big")
    assert store.read(first.id) == PDF_BYTES
    store.delete(first.id)
    assert not os.path.exists(first.path)


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/b", ""])
def test_an_id_from_outside_never_becomes_a_path(tmp_path, bad):
    with pytest.raises(ValueError):
        FileStore(str(tmp_path)).path_of(bad)


def test_the_vietnamese_font_exists_and_renders_every_letter(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("vn", "", vietnamese_font())
    pdf.set_font("vn", size=12)
    pdf.cell(text="Phiếu hẹn trả kết quả: Đặng Thị Ngọc Ánh, Ưng, Ỷ, ẵ")
    out = tmp_path / "t.pdf"
    pdf.output(str(out))
    assert out.read_bytes().startswith(b"%PDF")
