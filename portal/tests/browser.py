"""Helpers of the browser tests: Debian's Chromium, axe-core from the locked npm package, screenshots."""
from __future__ import annotations

import os
import re
from pathlib import Path

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)


def _run_axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                               nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }""",
        AXE_TAGS,
    )


class Axe:
    """Runs axe on the page as the person sees it. With JavaScript off the page cannot run axe itself, so its
    DOM, scripts removed, is served again at the same address to a page that can (same CSS, same base URL)."""

    def __init__(self, analysis_context):
        self.analysis = analysis_context
        self.checked: list[str] = []

    def check(self, page, js: bool) -> None:
        if js:
            violations = _run_axe(page)
        else:
            html = _SCRIPT.sub("", page.content())
            url = page.url
            probe = self.analysis.new_page()
            probe.route(lambda u: u == url, lambda route: route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=html))
            probe.goto(url)
            violations = _run_axe(probe)
            probe.close()
        self.checked.append(page.url)
        assert violations == [], f"axe on {page.url} ({'JS on' if js else 'JS off'}): {violations}"


def screenshot_dir(tmp_path) -> Path:
    """Where screenshots go: PORTAL_SCREENSHOT_DIR when set (the note's pictures), else the test's tmp folder."""
    directory = Path(os.environ.get("PORTAL_SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory
