"""The documentation site as a reader sees it: every built page rendered in headless Chromium at 1024 px, where no table
may be wider than the content column (tables wrap, they do not scroll), no other element may pass the column's edge
outside a box that scrolls on its own (code blocks may), and every formula is rendered by the MathJax the site carries
(no network). Debian's ``chromium`` package; skipped where no Chromium is installed (``.ci/run`` installs it)."""

import html as html_module
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PROBE = (Path(__file__).parent / "docs_layout_probe.js").read_text()
BROWSER = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)
# Pages Sphinx generates that hold no content of ours
GENERATED = {"genindex.html", "search.html", "py-modindex.html"}
WIDTH = 1024


def layout(page: Path, width: int) -> dict:
    """What ``docs_layout_probe.js`` found on ``page`` rendered ``width`` px wide: the column's width, the tables and
    the other elements past its edge."""
    probe = page.with_name(f".{page.stem}.probe.html")
    probe.write_text(page.read_text().replace("</body>", f"<script>{PROBE}</script></body>"))
    try:
        # The flags keep Chromium off this machine's closed network (its background services)
        command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
        command += ["--disable-background-networking", "--disable-component-update", f"--window-size={width},900"]
        command += ["--virtual-time-budget=5000", "--dump-dom", probe.as_uri()]
        dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    finally:
        probe.unlink()
    found = re.search(r'data-layout="([^"]*)"', dom)
    assert found, f"{page.name}: the probe did not run:\n{dom[-2000:]}"
    return json.loads(html_module.unescape(found.group(1)))


@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (Debian: apt-get install chromium)")
def test_nothing_is_cut_off_at_1024_px(html: Path) -> None:
    pages = sorted(page for page in html.rglob("*.html") if page.name not in GENERATED and "_modules" not in page.parts)
    assert len(pages) >= 13
    problems, formulas = {}, 0
    for page in pages:
        found = layout(page, WIDTH)
        assert found["columnWidth"] > 500, found  # the probe found the content column
        formulas += found["formulas"]
        if found["tables"] or found["overflowing"] or found["rendered"] != found["formulas"]:
            problems[page.relative_to(html).as_posix()] = found
    assert not problems, json.dumps(problems, indent=1)
    assert formulas >= 10  # the formulas of the ACE, ACETQC, ACECrossQ and causal discovery pages
