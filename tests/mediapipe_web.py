"""Runs a model card's JavaScript in MediaPipe Tasks for the web, in headless Chromium, as a web app
would: the snippet as the card prints it, its CDN address pointed at the npm package's own files
(tests/web, `npm ci`), served with the bundle's folder from a local server.

The page hands the snippet a text box (id "review") or an image (id "photo", loaded first), and
reports what it prints with console.log.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parent / "web"
NODE_MODULES = WEB / "node_modules"
CDN = re.compile(r'"https://cdn\.jsdelivr\.net/npm/@mediapipe/tasks-(\w+)/wasm"')

PAGE = """<!doctype html>
<html><body>
{element}
<script type="importmap">{{"imports": {{"@mediapipe/tasks-{kind}": "/node_modules/@mediapipe/tasks-{kind}/{kind}_bundle.mjs"}}}}</script>
<script type="module">
const report = (value) => fetch("/printed", {{method: "POST", body: JSON.stringify(value)}});
const log = console.log;
console.log = (...args) => {{ log(...args); report({{printed: args.map(String)}}); }};
window.addEventListener("unhandledrejection", (event) => report({{error: String(event.reason)}}));
const photo = document.getElementById("photo");
if (photo && !photo.complete) await new Promise((done) => {{ photo.onload = done; }});
try {{ await import("/snippet.mjs"); report({{finished: true}}); }} catch (err) {{ report({{error: String(err)}}); }}
</script>
</body></html>
"""


def browser() -> str:
    """Chromium's path; skips the test when Chromium or the npm packages are not installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not NODE_MODULES.is_dir():
        pytest.skip("needs Debian's chromium and `npm ci --prefix tests/web` (.ci/run installs both)")
    return found


def card_javascript(card: str) -> str:
    """The card's JavaScript snippet, as printed."""
    return re.search(r"### Web \(JavaScript.*?\n\n```javascript\n(.*?)```", card, re.S).group(1)


def run_in_chromium(snippet: str, folder: Path, element: str, timeout: float = 120) -> list[str]:
    """What `snippet` prints (console.log lines, MediaPipe's own among them) on a page holding
    `element`, with `folder`'s files (the model, an image) served beside it."""
    chromium = browser()
    kind = CDN.search(snippet).group(1)
    local = CDN.sub(f'"/node_modules/@mediapipe/tasks-{kind}/wasm"', snippet)
    pages = {"/page.html": ("text/html", PAGE.format(element=element, kind=kind)),
             "/snippet.mjs": ("text/javascript", local)}
    reports: list[dict] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          ".mjs": "text/javascript", ".wasm": "application/wasm"}

        def do_GET(self):
            if self.path in pages:
                kind_of, body = pages[self.path]
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", kind_of)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            super().do_GET()

        def translate_path(self, path):
            if path.startswith("/node_modules/"):
                return str(WEB / path.lstrip("/").split("?")[0])
            return super().translate_path(path)

        def do_POST(self):
            reports.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    profile = folder.parent / f".chromium-{folder.name}"
    process = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                                f"--user-data-dir={profile}", f"http://127.0.0.1:{server.server_address[1]}/page.html"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout
        while not any("finished" in r or "error" in r for r in reports) and time.time() < deadline:
            time.sleep(0.2)
    finally:
        process.kill()
        process.wait()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    errors = [r["error"] for r in reports if "error" in r]
    assert not errors and any("finished" in r for r in reports), (errors, reports)
    return [" ".join(r["printed"]) for r in reports if "printed" in r]
