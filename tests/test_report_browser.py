"""report.html in a real browser: headless Chromium renders it offline, every image decodes,
nothing is fetched, nothing is logged as an error, and the first screen shows the
recommendation. Skipped (with the reason) where no Chromium is installed: on Debian,
``apt-get install -y chromium``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
from PIL import Image

from test_report import sample_report, size_tree
from vidnet_sim.analysis.html import CSP, render_html

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium binary (chromium, chromium-browser or google-chrome) on PATH; "
    "install it with `apt-get install -y chromium` to run the browser checks",
)

#: Written into the page by the probe once everything has loaded: each image's natural size,
#: whether the recommendation lies on the first screen, and every resource the page fetched.
PROBE = """
window.addEventListener("load", () => {
  const rec = document.getElementById("recommendation").getBoundingClientRect();
  const out = {
    images: Array.from(document.images).map(i => [i.alt, i.naturalWidth, i.naturalHeight]),
    recommendation: [rec.top, rec.bottom, window.innerHeight],
    resources: performance.getEntriesByType("resource").map(e => e.name),
  };
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
"""

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,900",
    "--enable-logging=stderr",
    "--v=0",
)


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def console_errors(stderr: str) -> list[str]:
    """Lines of the browser's log that report a page problem: a console message of level
    error or warning, a blocked request (CSP), a failed load or a script error."""
    bad = re.compile(r"CONSOLE|Refused to|Uncaught|net::ERR_|Failed to load|Not allowed to load")
    return [line for line in stderr.splitlines() if bad.search(line)]


def probed(page_html: str) -> str:
    """The page with the probe script added, allowed by its hash (the report has none)."""
    digest = base64.b64encode(hashlib.sha256(PROBE.encode()).digest()).decode()
    assert CSP in page_html
    return page_html.replace(CSP, f"{CSP}; script-src 'sha256-{digest}'").replace(
        "</body>", f"<script>{PROBE}</script></body>"
    )


def check_in_browser(html_text: str, tmp_path: Path, shot: Path) -> dict[str, Any]:
    """Render the page (screenshot ``shot``) and return what the probe saw, after checking
    the page is self-contained and logged no error."""
    assert not re.search(r"https?://", html_text), "the page names a web address"
    page = tmp_path / "report.html"
    page.write_text(html_text, encoding="utf-8")
    r = chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert console_errors(r.stderr) == [], console_errors(r.stderr)
    with Image.open(shot) as im:
        assert im.size == (1280, 900)
        lo, hi = cast(tuple[int, int], im.convert("L").getextrema())
        assert hi - lo > 100  # something was drawn
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(probed(html_text), encoding="utf-8")
    r = chromium(probe_page, tmp_path / "profile-dom", "--dump-dom", "--virtual-time-budget=10000")
    assert r.returncode == 0, r.stderr[-2000:]
    assert console_errors(r.stderr) == [], console_errors(r.stderr)
    m = re.search(r'<pre id="probe">(.*?)</pre>', r.stdout, re.S)
    assert m, "the probe did not run: " + r.stdout[-500:]
    seen: dict[str, Any] = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return seen


@pytest.mark.kernel_free
def test_sample_report_renders_offline_in_chromium(tmp_path: Path) -> None:
    html_text = render_html(sample_report())
    seen = check_in_browser(html_text, tmp_path, tmp_path / "first.png")
    images = seen["images"]
    assert isinstance(images, list) and len(images) == 4
    for alt, w, h in images:
        assert w > 0 and h > 0, f"image {alt!r} did not decode"
    assert seen["resources"] == []  # nothing fetched
    top, bottom, height = seen["recommendation"]
    assert 0 <= top < bottom <= height  # on the first screen


def test_a_sized_network_report_renders_offline_in_chromium(tmp_path: Path) -> None:
    out = size_tree(tmp_path)
    seen = check_in_browser((out / "report.html").read_text(), tmp_path, tmp_path / "first.png")
    images = seen["images"]
    assert isinstance(images, list)
    assert [a for a, _, _ in images] == [
        "network drawing: Year 1: the sized network",
        "Cost per year",
        "tree: sized design, year 1",  # (it read "years 1–1")
    ]
    assert all(w > 0 and h > 0 for _, w, h in images)
    assert seen["resources"] == []
    top, bottom, height = seen["recommendation"]
    assert 0 <= top < bottom <= height


@pytest.mark.kernel_free
def test_the_browser_checks_catch_a_fetch_and_a_broken_image(tmp_path: Path) -> None:
    html_text = render_html(sample_report())
    remote = html_text.replace(
        "</body>", '<img alt="remote" src="http://127.0.0.1:9/x.png"></body>'
    )
    page = tmp_path / "remote.html"
    page.write_text(probed(remote), encoding="utf-8")
    r = chromium(page, tmp_path / "p1", "--dump-dom", "--virtual-time-budget=10000")
    assert any("Content Security Policy" in line for line in console_errors(r.stderr))
    broken = html_text.replace('src="data:image/png;base64,', 'src="data:image/png;base64,AAAA', 1)
    page.write_text(probed(broken), encoding="utf-8")
    r = chromium(page, tmp_path / "p2", "--dump-dom", "--virtual-time-budget=10000")
    m = re.search(r'<pre id="probe">(.*?)</pre>', r.stdout, re.S)
    assert m is not None
    images = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))["images"]
    assert images[0][1:] == [0, 0] and all(w > 0 for _, w, _ in images[1:])
