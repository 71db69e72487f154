"""Accessibility in a real browser (Debian's Chromium), against the real server.

- axe-core (static/vendor/axe-core, injected by these tests only: the pages never
  load it) finds no `serious` or `critical` violation on any page, in the light
  theme and in the dark one;
- every page fits a 375 px wide phone (no horizontal scroll);
- the theme: chosen in the header, remembered, set before the first paint,
  the system's by default;
- focus is visible, with enough contrast, in both themes;
- the main actions answer their keyboard shortcuts (Ctrl+Enter, Escape), listed on their pages;
- the writers' text is announced once, when it is written, not token by token; the run log is a `log`.

The workshop pages come from the real app in a subprocess (`live_server`); the
writers' page from the app in this process with a fake generator (tests/fake_generator.py):
the page is what is tested here, not the model.
"""

from __future__ import annotations

import re
import sys
import textwrap
import threading
from dataclasses import dataclass

import pytest
import waitress
from playwright.sync_api import expect

from aurore.web import create_app
from aurore.web.server import waitress_options
from tests.fake_generator import FakeGenerator, fake_factory, make_fake_model_dirs

pytestmark = pytest.mark.browser

AXE = "/static/vendor/axe-core/axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
THEMES = ("light", "dark")
PHONE = {"width": 375, "height": 800}

#: The workshop's pages that need nothing done on them before they are checked, by name.
STATIC_PAGES = {
    "home": "/",
    "exercises": "/exercises",
    "exercise": "/exercises/1",
    "environment": "/environment",
    "course": "/course/presentation",
    "error": "/exercises/99",
    "writers-no-model": "/generate",       # the workshop's server has no model
}

#: A sentence of La Mare au Diable, word by word: what the fake writer writes.
SAND_WORDS = [word + " " for word in
              "Le laboureur, le pied sur la charrue, chantait d'une voix lente la vieille chanson du pays.".split()]

#: A quick stand-in for the training step: every kind of event the run page shows.
FAKE_TRAINING = textwrap.dedent('''\
    import json, sys, time
    def emit(**event):
        print(json.dumps(event), flush=True)
    emit(event="log", message="Training (fake step for the accessibility test).")
    print("a raw line, not JSON", flush=True)
    for step in range(1, 9):
        emit(event="progress", task="Training", done=step, total=8, unit="step", metrics={"loss": 6 - step / 4})
        if step % 4 == 0:
            emit(event="metrics", step=step, loss=6 - step / 4, val_loss=6.1 - step / 4, message=f"step {step}")
            emit(event="sample", step=step, prompt="Il était une fois", seed=1, text=" une petite fille.")
        time.sleep(float(sys.argv[1]))
    emit(event="evaluation", message="evaluated", report={
        "validation": {"loss_per_token": 4.1, "perplexity": 60.3, "bits_per_character": 2.1},
        "test": {"loss_per_token": 4.3, "perplexity": 73.7, "bits_per_character": 2.2},
        "vocab_size": 400, "fresh_loss": 5.99, "baseline": {"xz_bits_per_character": 2.6}})
''')


@dataclass
class Servers:
    workshop: str       # the real app, no model
    writers: str        # the app with fake models and a fake generator


@pytest.fixture
def fake_writers(tmp_path):
    """The app in this process, two fake models (mine and the reference's), a generator that writes SAND_WORDS."""
    make_fake_model_dirs(tmp_path / "writers" / "models", names=("cpu", "cpu-mine"))
    generator = FakeGenerator(step_delay=0.05, words=SAND_WORDS)
    app = create_app({"DATA_DIR": str(tmp_path / "writers"), "GENERATION_FACTORY": fake_factory(generator)})
    server = waitress.create_server(app, host="127.0.0.1", port=0, **waitress_options(8))
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    app.extensions["aurore_generation"].close()


def fake_training_steps(tmp_path, seconds_per_step: float) -> dict:
    script = tmp_path / "fake_training.py"
    script.write_text(FAKE_TRAINING, encoding="utf-8")
    return {"fake-train": {"title": {"fr": "Entraînement (factice)", "en": "Training (fake)"},
                           "argv": [sys.executable, str(script), str(seconds_per_step)]}}


@pytest.fixture
def servers(live_server, fake_writers, tmp_path):
    workshop = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False,
                            "WORKSHOP_STEPS": fake_training_steps(tmp_path, 0.01)})
    return Servers(workshop.url, fake_writers)


# -- visiting every page ---------------------------------------------------------

def write_a_text(page, words: int = len(SAND_WORDS)) -> None:
    page.fill("#prompt", "Il était une fois")
    page.click(".writers-settings summary")
    page.fill("#max_new_tokens", str(words))
    page.click("#write")
    expect(page.locator("#status")).to_contain_text("Terminé", timeout=30_000)


def finish_a_run(page) -> None:
    page.click("#run-button")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(page.locator("#evaluation")).to_be_visible()


def every_page(page, servers: Servers):
    """Open each page in turn, in the state a learner sees it at its fullest; yield its name."""
    for name, path in STATIC_PAGES.items():
        page.goto(servers.workshop + path)
        yield name
    page.goto(servers.workshop + "/run?step=fake-train")
    finish_a_run(page)
    yield "run"
    page.goto(servers.writers + "/generate")
    write_a_text(page)
    yield "writers"


# -- axe -------------------------------------------------------------------------

def blocking_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each (rule, help, where)."""
    page.add_script_tag(url=AXE)
    violations = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} — "
            + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            for violation in violations if violation["impact"] in BLOCKING_IMPACTS]


def theme_of(page) -> str | None:
    return page.evaluate("document.documentElement.dataset.theme || null")


@pytest.mark.parametrize("theme", THEMES)
def test_axe_finds_nothing_serious_on_any_page(servers, page, theme):
    page.emulate_media(color_scheme=theme)          # the system's theme: the pages follow it by default
    found = {}
    for name in every_page(page, servers):
        assert theme_of(page) == theme, f"{name}: the page is not in the {theme} theme"
        if violations := blocking_violations(page):
            found[name] = violations
    assert not found, "\n".join(f"{name}: {line}" for name, lines in found.items() for line in lines)


# -- a phone ---------------------------------------------------------------------

def overflowing_elements(page) -> list[str]:
    """The elements that stick out to the right of the viewport (why a page scrolls sideways)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
        .slice(0, 8).map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                                 + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''))""")


def test_every_page_fits_a_375_px_phone(servers, page):
    page.set_viewport_size(PHONE)
    too_wide = {}
    for name in every_page(page, servers):
        if not page.evaluate("document.documentElement.scrollWidth <= innerWidth"):
            too_wide[name] = overflowing_elements(page)
    assert not too_wide, f"these pages scroll sideways at 375 px: {too_wide}"
