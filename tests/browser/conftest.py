"""Shared fixtures for browser tests: Debian's Chromium driven by pytest-playwright,
and a live Aurore server (waitress, in a subprocess) on a free loopback port.

- `browser`, `context`, `page`: pytest-playwright's, launched with Debian's
  Chromium (`browser_type_launch_args`; the test fails, never skips, when it
  is missing; `--browser-channel chrome` picks an installed Chrome instead),
  a 1280×900 French context (`browser_context_args`), and every request
  leaving 127.0.0.1 refused and reported (`context`). A failed test keeps
  its trace (`--tracing retain-on-failure`, set in tests/conftest.py) in
  `test-output/playwright/<test>/trace.zip`: `python3 -m playwright show-trace` it;
- `phone_page`: a page on a 375 px wide, high-density phone screen (own context, offline too);
- `live_server(config=None, env=None, data=None)`: a factory; starts the real
  app with `create_app(config)` in a subprocess whose AURORE_DATA (`data`, or
  a fresh temp folder) and AURORE_EXERCISES (a temp folder with the exercise
  stubs copied there) are its own, and returns a
  `LiveServer` (url, data, exercises, log); stopped at the end of the test;
- `screenshot(page, name, publish=False)`: saves `test-output/<name>.png`,
  and a copy in `docs/screenshots/` when `publish` and AURORE_PUBLISH_SCREENSHOTS=1
  (a plain test run never rewrites tracked files).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from aurore import paths
from aurore.course import exercises

CHROMIUM = os.environ.get("AURORE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
OUTPUT = paths.ROOT / "test-output"
PUBLISHED = paths.ROOT / "docs" / "screenshots"

# Run in the server subprocess: build the app from a JSON config, serve it
# with waitress on a free port, print that port.
_SERVE = """
import json, sys
import aurore
import waitress
from aurore.web import create_app
from aurore.web.server import waitress_options
app = create_app(json.loads(sys.argv[1]))
server = waitress.create_server(app, host="127.0.0.1", port=0, **waitress_options(8))
print(json.dumps({"port": server.effective_port}), flush=True)
server.run()
"""


@dataclass
class LiveServer:
    url: str
    data: Path
    exercises: Path
    log: Path
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium (Playwright cannot download its own here), unless `--browser-channel` names another."""
    if browser_type_launch_args.get("channel"):
        return {**browser_type_launch_args, "args": CHROMIUM_ARGS}
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(or set AURORE_CHROMIUM to its path). Browser tests need it.", pytrace=False)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """The pages as a French learner sees them on a laptop."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "fr-FR"}


def _kept_offline(context) -> list[str]:
    """Refuse, and note, every request leaving 127.0.0.1: no CDN, no external fonts."""
    context.set_default_timeout(30_000)
    outside: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    context.route("**/*", route)
    return outside


@pytest.fixture
def context(context):
    """Offline: any request leaving 127.0.0.1 is a bug (no CDN, no external fonts); the test fails naming it."""
    outside = _kept_offline(context)
    yield context
    assert not outside, f"the page tried to reach outside the app: {outside}"


@pytest.fixture
def phone_page(browser, browser_context_args):
    """A phone: 375 CSS px wide, two device pixels per CSS pixel (a high-density screen)."""
    context = browser.new_context(**{**browser_context_args, "viewport": {"width": 375, "height": 812},
                                     "device_scale_factor": 2, "is_mobile": True, "has_touch": True})
    outside = _kept_offline(context)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert not outside, f"the page tried to reach outside the app: {outside}"


@pytest.fixture
def live_server(tmp_path):
    servers: list[LiveServer] = []

    def start(config: dict | None = None, env: dict | None = None, data: Path | None = None) -> LiveServer:
        """`data`: an existing data folder to serve (prepared beforehand); a fresh one by default."""
        base = tmp_path / f"server{len(servers)}"
        data, learner = Path(data) if data else base / "data", base / "exercises"
        learner.mkdir(parents=True)
        for exercise in exercises.all_exercises():
            if exercise.exercise_path.is_file():
                shutil.copy2(exercise.exercise_path, learner / exercise.filename)
        log = base / "server.log"
        child_env = {**os.environ, "AURORE_DATA": str(data), "AURORE_EXERCISES": str(learner), **(env or {})}
        child_env.pop("AURORE_PROGRESS", None)
        full_config = {"DATA_DIR": str(data), **(config or {})}
        with log.open("wb") as log_file:
            process = subprocess.Popen([sys.executable, "-c", _SERVE, json.dumps(full_config)], cwd=paths.ROOT,
                                       env=child_env, stdout=subprocess.PIPE, stderr=log_file)
        line = process.stdout.readline()
        if not line:
            process.wait()
            pytest.fail(f"the server did not start:\n{log.read_text(errors='replace')[-3000:]}", pytrace=False)
        port = json.loads(line)["port"]
        server = LiveServer(f"http://127.0.0.1:{port}", data, learner, log, process)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def screenshot():
    OUTPUT.mkdir(exist_ok=True)

    def take(page, name: str, publish: bool = False, full_page: bool = True) -> Path:
        path = OUTPUT / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        if publish and os.environ.get("AURORE_PUBLISH_SCREENSHOTS") == "1":
            PUBLISHED.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, PUBLISHED / f"{name}.png")
        return path

    return take


def wait_until(predicate, seconds: float = 30, every: float = 0.2, message: str = "condition"):
    """Poll `predicate` until true (for server-side state a page does not show)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"{message} not reached in {seconds} s")
