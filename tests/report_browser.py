"""A run's report.html as a person sees it, in headless Chromium: the page's visible text, whether
every image loaded, a full-page screenshot.

The page is served from a local server with a script added after the report's own, which posts
back `innerText` (what is visible: hidden toggle panels are left out) and each image's state once
the page has loaded. Screenshots go to $AUTOML_SCREENSHOTS when set (kept for the closing note),
else beside the copy in the test's temporary folder.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

LOOK = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.map.call(document.images, function (image) {
    return {alt: image.alt, complete: image.complete, width: image.naturalWidth, height: image.naturalHeight};
  });
  fetch("/looked", {method: "POST", body: JSON.stringify({text: document.body.innerText, images: images,
    height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth,
    sections: Array.prototype.map.call(document.querySelectorAll("h2"), function (h) { return h.innerText; })})});
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("needs Debian's chromium (.ci/run installs it)")
    return found


def look_at_report(report_html: Path, name: str, width: int = 1280, timeout: float = 60) -> dict:
    """What Chromium shows of `report_html`: {"text", "images", "height", "width", "sections",
    "screenshot"} (the screenshot's path)."""
    browser = chromium()
    folder = Path(os.environ.get("AUTOML_SCREENSHOTS") or report_html.parent.parent / f".look-{name}")
    folder.mkdir(parents=True, exist_ok=True)
    page = report_html.read_text(encoding="utf-8").replace("</body>", LOOK + "</body>")
    looked: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            data = page.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            looked.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}/report.html"
    profile = folder / f".chromium-{name}"
    flags = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}"]
    try:
        process = subprocess.Popen([*flags, f"--window-size={width},900", address],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while not looked and time.time() < deadline and process.poll() is None:
            time.sleep(0.2)
        process.kill()
        process.wait()
        assert looked, f"Chromium did not load {report_html} within {timeout:.0f}s"
        seen = looked[0]
        screenshot = folder / f"{name}.png"
        subprocess.run([*flags, f"--window-size={width},{seen['height']}", f"--screenshot={screenshot}", address],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, check=True)
    finally:
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    return {**seen, "screenshot": screenshot}


def assert_report_reads_well(run_dir: Path, name: str, sections: tuple[str, ...] = ()) -> dict:
    """The checks every task's report passes: no JSON in the visible text, every image loaded and
    drawn, the page no wider than the window, the sections every report has and `sections`."""
    seen = look_at_report(run_dir / "report.html", name)
    text = seen["text"]
    # No JSON (the test), nor a Python dict, outside the command that started the run (code as typed).
    dicts = [line for line in text.splitlines() if '{"' in line or ("{'" in line and not line.startswith("command"))]
    assert not dicts, dicts
    assert "(ies)" not in text and "Traceback" not in text and "(None" not in text  # a column was "AP50 (None TFLite)"
    broken = [image["alt"] for image in seen["images"] if not image["complete"] or image["width"] == 0]
    assert seen["images"] and not broken, broken
    assert seen["width"] <= 1280, f"the page scrolls sideways: {seen['width']} px"
    for title in ("Exported files", "About this run", "Time", *sections):
        assert any(h.startswith(title) for h in seen["sections"]), (title, seen["sections"])
    assert seen["screenshot"].stat().st_size > 10_000
    return seen
