"""The writers' page in a real browser (Debian's Chromium), with the real tiny model.

The server runs in this process (waitress in a thread) so that the model can
be slowed down a little: then the test can see the text arrive piece by
piece and press Stop before the end.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
import waitress
from playwright.sync_api import expect

from aurore.web import create_app
from aurore.web.server import waitress_options
from tests.fake_generator import FakeGenerator, fake_factory, make_fake_model_dirs
from tests.test_sampling import add_setting, THROWAWAY
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


class Slowed:
    """The real generator, with a pause after each step (the page has time to show each piece)."""

    def __init__(self, generator, delay: float):
        self.generator, self.delay = generator, delay

    def __getattr__(self, name):
        return getattr(self.generator, name)

    def stream_batch(self, prompts, params):
        return _SlowSteps(self.generator.stream_batch(prompts, params), self.delay)

    def stream(self, prompt, params):
        return _SlowSteps(self.generator.stream(prompt, params), self.delay)

    def continuous(self, slots, sampler="compiled"):
        return _SlowRows(self.generator.continuous(slots, sampler), self.delay)


class _SlowRows:
    """A continuous batch whose steps pause (the server's default scheduler)."""

    def __init__(self, rows, delay):
        self.rows, self.delay = rows, delay

    def __getattr__(self, name):          # add, remove, free, busy…
        return getattr(self.rows, name)

    def step(self):
        time.sleep(self.delay)
        return self.rows.step()


class _SlowSteps:
    def __init__(self, steps, delay):
        self.steps, self.delay = steps, delay

    def __getattr__(self, name):          # finish_reasons, new_tokens, close…
        return getattr(self.steps, name)

    def __iter__(self):
        return self

    def __next__(self):
        time.sleep(self.delay)
        return next(self.steps)


@pytest.fixture
def writers_server(tiny_model_dir, tmp_path):  # noqa: F811
    """Start the app on a free port; `start(models=True)` returns its URL and app."""
    from aurore.course import exercises
    from aurore.generation.generator import Generator
    from aurore.store import modeldir

    started = []

    def start(models: bool = True, delay: float = 0.03):
        data = tmp_path / f"data{len(started)}"
        if models:
            modeldir.copy(tiny_model_dir, data / "models" / "tiny")
        app = create_app({"DATA_DIR": str(data), "GENERATION_FACTORY":
                          lambda path: Slowed(Generator.load(path, exercises.rules("generate")), delay)})
        if models:      # compile the model's shapes now: the page tests are about the page, not compilation
            from aurore.generation.generator import SamplingParams

            service = app.extensions["aurore_generation"].get()
            service.submit("La nuit", SamplingParams(max_new_tokens=2, seed=0)).result()
        server = waitress.create_server(app, host="127.0.0.1", port=0, **waitress_options(8))
        threading.Thread(target=server.run, daemon=True).start()
        started.append((server, app))
        return f"http://127.0.0.1:{server.effective_port}", app

    yield start
    for server, app in started:
        server.close()
        app.extensions["aurore_generation"].close()


def admitted(app) -> int:
    return sum(service.load()["admitted"] for service in app.extensions["aurore_generation"].loaded().values())


def test_a_writer_sees_the_text_stream_in_then_copies_and_downloads_it(writers_server, page, screenshot):
    url, app = writers_server(delay=0.03)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page.goto(url + "/generate")
    expect(page.locator("h1")).to_have_text("Écrire avec Aurore")
    expect(page.locator("#model")).to_have_value("tiny")
    expect(page.locator("#copy")).to_be_disabled()

    # Count the updates of the text: streamed text arrives in many of them.
    page.evaluate("""() => {
        window.updates = 0;
        new MutationObserver(() => window.updates++).observe(document.getElementById('output-text'),
                                                            {childList: true, characterData: true, subtree: true});
    }""")
    page.fill("#prompt", "La nuit était douce et")
    page.click("summary")
    page.fill("#max_new_tokens", "40")
    page.fill("#seed", "3")
    page.select_option("#strategy", "top_k")
    page.click("#write")
    expect(page.locator("#stop")).to_be_enabled()
    expect(page.locator("#output-text")).not_to_be_empty()
    expect(page.locator("#stop")).to_be_enabled()              # text is there before the end: streaming
    expect(page.locator("#status")).to_contain_text("Terminé", timeout=30_000)
    assert page.evaluate("window.updates") > 3
    expect(page.locator("#stop")).to_be_disabled()
    written = page.locator("#output-text").text_content()
    assert written

    # The same request through the API gives the same text (same seed).
    request = urllib.request.Request(url + "/api/generate", method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"prompt": "La nuit était douce et", "max_new_tokens": 40,
                                                      "seed": 3, "strategy": "top_k"}).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.load(response)["text"] == written

    page.click("#copy")
    expect(page.locator("#status")).to_have_text("Copié !")
    assert page.evaluate("navigator.clipboard.readText()") == "La nuit était douce et" + written

    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename.startswith("aurore-") and download.suggested_filename.endswith(".txt")
    assert open(download.path(), encoding="utf-8").read() == "La nuit était douce et" + written

    expect(page.locator("#history li")).to_have_count(1)
    screenshot(page, "writers-page")  # docs: docs/screenshots/take_writers_screenshot.py (a trained model)
    page.reload()                                               # the last texts stay in the browser
    expect(page.locator("#history li")).to_have_count(1)
    expect(page.locator("#history li")).to_contain_text("La nuit était douce et")
    page.click("#history li button")
    expect(page.locator("#output-text")).to_have_text(written)


def test_the_stop_button_stops_the_text_and_frees_the_server(writers_server, page):
    url, app = writers_server(delay=0.15)
    page.goto(url + "/generate?lang=en")
    expect(page.locator("h1")).to_have_text("Write with Aurore")
    page.fill("#prompt", "Elle ouvrit la fenêtre")
    page.click("summary")
    page.fill("#max_new_tokens", "100")
    page.click("#write")
    expect(page.locator("#output-text")).not_to_be_empty(timeout=30_000)
    page.click("#stop")
    expect(page.locator("#status")).to_have_text("Stopped.")
    expect(page.locator("#write")).to_be_enabled()
    expect(page.locator("#copy")).to_be_enabled()
    stopped_at = page.locator("#output-text").text_content()
    deadline = time.monotonic() + 30
    while admitted(app) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert admitted(app) == 0, "the server still holds the stopped request"
    # The request is gone from the server: whatever it still had to send would have arrived by now.
    page.evaluate("() => new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)))")
    assert page.locator("#output-text").text_content() == stopped_at       # nothing more arrived


def test_mistakes_are_explained_on_the_page(writers_server, page):
    url, _ = writers_server()
    page.goto(url + "/generate")
    page.click("#write")                                        # nothing written yet
    expect(page.locator("#error")).to_have_text("Écrivez d'abord le début d'un texte.")
    page.fill("#prompt", "la nuit " * 300)                      # beyond the tiny model's context
    page.click("#write")
    expect(page.locator("#error")).to_contain_text("trop long")
    page.fill("#prompt", "Bonjour")
    page.click("summary")
    page.fill("#temperature", "0")
    page.click("#write")
    expect(page.locator("#error")).to_contain_text("temperature")


def test_without_a_model_the_page_says_how_to_train_one(writers_server, page, screenshot):
    url, _ = writers_server(models=False)
    page.goto(url + "/generate")
    expect(page.locator("h1")).to_have_text("Pas encore de modèle entraîné")
    expect(page.locator("main")).to_contain_text("python -m aurore train")
    screenshot(page, "writers-no-model", publish=True)


def test_a_new_setting_goes_from_the_form_to_the_api_with_no_change_in_the_script(page, monkeypatch, tmp_path):
    """One more entry in aurore.generation.sampling.FIELDS: its input is on the form and writers.js sends it."""
    add_setting(monkeypatch, THROWAWAY)
    make_fake_model_dirs(tmp_path / "models")
    fake = FakeGenerator()
    app = create_app({"DATA_DIR": str(tmp_path), "GENERATION_FACTORY": fake_factory(fake)})
    server = waitress.create_server(app, host="127.0.0.1", port=0, **waitress_options(8))
    threading.Thread(target=server.run, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.effective_port}/generate")
        page.fill("#prompt", "Il était")
        page.click("summary")
        page.fill("#max_new_tokens", "3")
        page.fill(f"#{THROWAWAY.name}", "1.5")
        page.click("#write")
        expect(page.locator("#status")).to_contain_text("Terminé", timeout=30_000)
        seen = fake.params_seen[-1]
        assert (seen.max_new_tokens, getattr(seen, THROWAWAY.name), seen.seed) == (3, 1.5, None)
    finally:
        server.close()
        app.extensions["aurore_generation"].close()
