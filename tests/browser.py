"""Render an HTML file in headless Chromium and report what a reader would see go wrong.

The page is copied with a small checker script appended (the page itself has
none); after the load event it writes, for every image, whether it decoded
(``naturalWidth > 0``) and any script error into the DOM, which
``--dump-dom`` prints. Console messages come from Chromium's log on stderr.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
NO_BROWSER = (
    "no Chromium found on PATH (tried chromium, chromium-browser, google-chrome) and none can be installed here; "
    ".ci/run installs Debian's chromium package with apt-get"
)
_CHECKER = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message || e.type)); }, true);
window.addEventListener('load', function () {
  var images = [];
  for (var i = 0; i < document.images.length; i++) {
    var im = document.images[i];
    images.push({alt: im.alt, loaded: im.complete && im.naturalWidth > 0, width: im.naturalWidth});
  }
  var out = document.createElement('pre');
  out.id = 'latentkit-browser-check';
  out.textContent = JSON.stringify({images: images, errors: window.__errors});
  document.body.appendChild(out);
});
</script>"""


def find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class BrowserCheck:
    images: list[dict]  # alt, loaded, width for every <img>
    errors: list[str]  # script errors caught by the checker
    console: list[str]  # console lines from Chromium's log


def render(html_file: Path, work: Path, browser: str) -> BrowserCheck:
    page = work / "browser-check.html"
    text = html_file.read_text(encoding="utf-8")
    page.write_text(text.replace("</body>", _CHECKER + "</body>"), encoding="utf-8")
    run = subprocess.run(
        [
            browser, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--enable-logging=stderr",
            "--v=0", f"--user-data-dir={work / 'chromium-profile'}", "--virtual-time-budget=10000",
            "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    match = re.search(r'<pre id="latentkit-browser-check">(.*?)</pre>', run.stdout, re.S)
    assert match, f"the checker did not run (exit {run.returncode}): {run.stderr[-2000:]}"
    import html

    found = json.loads(html.unescape(match.group(1)))
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return BrowserCheck(found["images"], found["errors"], console)
