"""The 766 figures as a server-rendered SVG bar chart: no JavaScript, readable as text by screen readers
through its title and description, and repeated as a table on the page."""
from __future__ import annotations

from markupsafe import Markup, escape

ROW = 34
LABEL_W = 70
BAR_W = 520


def indicator_bars(data: dict) -> Markup:
    """One bar per rate indicator (0–100 %), a dashed line where full marks start; green when at or above it."""
    rows = [i for i in data.get("indicators") or [] if i.get("id") != "2.2"]
    height = ROW * len(rows) + 40
    width = LABEL_W + BAR_W + 80
    parts = [f'<svg class="portal-chart" role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 {width} '
             f'{height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             '<title id="chart-title">Chỉ số 766 của cơ quan, tính theo phần trăm</title>',
             '<desc id="chart-desc">' + escape("; ".join(
                 f"{i['id']}: {_pct(i.get('rate'))}" + (f", đạt điểm tối đa từ {_pct(i['full_marks_at'])}"
                                                        if i.get("full_marks_at") is not None else "")
                 for i in rows)) + '</desc>']
    for index, item in enumerate(rows):
        y = 10 + index * ROW
        rate = item.get("rate")
        threshold = item.get("full_marks_at")
        bar = 0 if rate is None else max(0.0, min(float(rate), 1.0)) * BAR_W
        met = rate is not None and threshold is not None and rate >= threshold
        parts.append(f'<text x="0" y="{y + 19}">{escape(item["id"])}</text>')
        parts.append(f'<rect class="bar{" bar--met" if met else ""}" x="{LABEL_W}" y="{y + 4}" width="{bar:.1f}" '
                     f'height="20"></rect>')
        parts.append(f'<text x="{LABEL_W + bar + 6:.1f}" y="{y + 19}">{escape(_pct(rate))}</text>')
        if threshold is not None:
            tx = LABEL_W + float(threshold) * BAR_W
            parts.append(f'<line class="target" x1="{tx:.1f}" x2="{tx:.1f}" y1="{y}" y2="{y + 28}"></line>')
    axis_y = 10 + len(rows) * ROW
    parts.append(f'<line class="axis" x1="{LABEL_W}" x2="{LABEL_W + BAR_W}" y1="{axis_y}" y2="{axis_y}"></line>')
    for pct in (0, 50, 100):
        x = LABEL_W + BAR_W * pct / 100
        parts.append(f'<text x="{x - 10:.1f}" y="{axis_y + 20}">{pct}%</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _pct(rate) -> str:
    if rate is None:
        return "chưa có số liệu"
    return f"{float(rate) * 100:.1f}".replace(".", ",") + "%"
