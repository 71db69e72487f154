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


# -- the theme -------------------------------------------------------------------

#: Records, in order, when <html data-theme> is set and when <body> is parsed (an init script: before any page script).
RECORD_THEME_AND_BODY = """
window.themeAndBody = [];
new MutationObserver((records) => {
  for (const record of records) {
    if (record.type === 'attributes') window.themeAndBody.push('theme');
    else if (Array.from(record.addedNodes).some((node) => node.nodeName === 'BODY')) window.themeAndBody.push('body');
  }
}).observe(document, {childList: true, subtree: true, attributes: true, attributeFilter: ['data-theme']});
"""


def background_of(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_the_theme_is_chosen_in_the_header_remembered_and_set_before_the_first_paint(live_server, page):
    server = live_server({"CHECK_WORKER": False})
    page.emulate_media(color_scheme="light")
    page.add_init_script(RECORD_THEME_AND_BODY)
    page.goto(server.url + "/")
    expect(page.locator("#theme-choice")).to_have_value("system")
    assert theme_of(page) == "light"
    light = background_of(page)

    page.select_option("#theme-choice", "dark")
    assert theme_of(page) == "dark" and background_of(page) != light

    page.goto(server.url + "/exercises")                 # another page: the choice is remembered…
    assert theme_of(page) == "dark"
    expect(page.locator("#theme-choice")).to_have_value("dark")
    # …and set before the body is parsed, so the first paint is already dark (no flash of light).
    assert page.evaluate("window.themeAndBody")[:2] == ["theme", "body"]

    page.select_option("#theme-choice", "system")         # the system's again, live
    assert theme_of(page) == "light"
    page.emulate_media(color_scheme="dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")


# -- focus -----------------------------------------------------------------------

#: The focused element's outline, and the colour behind it (the first ancestor with a background).
FOCUS_RING = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  let behind = element.parentElement;
  while (behind && ['rgba(0, 0, 0, 0)', 'transparent'].includes(getComputedStyle(behind).backgroundColor)) {
    behind = behind.parentElement;
  }
  return {visible: element.matches(':focus-visible'), style: style.outlineStyle, width: parseFloat(style.outlineWidth),
          colour: style.outlineColor, behind: getComputedStyle(behind || document.documentElement).backgroundColor};
}"""

#: One focusable element of each kind on the home page: on the dark header, on the paper, a primary button.
FOCUSED_ON_HOME = (".skip-link", ".brand", "#theme-choice", ".next-step a.button.primary", "#agenda a")


def rgb(css_colour: str) -> tuple[float, ...]:
    return tuple(float(part) for part in re.findall(r"[\d.]+", css_colour)[:3])


def luminance(colour: tuple[float, ...]) -> float:
    def linear(channel):
        channel /= 255
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
    red, green, blue = (linear(channel) for channel in colour)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(rgb(first)), luminance(rgb(second))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("theme", THEMES)
def test_focus_is_visible_with_enough_contrast(live_server, page, theme):
    """WCAG 1.4.11: a focus indicator contrasts 3:1 with what surrounds it."""
    server = live_server({"CHECK_WORKER": False})
    page.emulate_media(color_scheme=theme)
    page.goto(server.url + "/")
    page.keyboard.press("Tab")                          # a keyboard user: :focus-visible applies
    weak = {}
    for selector in FOCUSED_ON_HOME:
        page.locator(selector).first.focus()
        ring = page.evaluate(FOCUS_RING)
        ratio = contrast(ring["colour"], ring["behind"])
        if not (ring["visible"] and ring["style"] != "none" and ring["width"] >= 2 and ratio >= 3):
            weak[selector] = {**ring, "contrast": round(ratio, 2)}
    assert not weak, f"focus hardly visible in the {theme} theme: {weak}"


# -- keyboard shortcuts ------------------------------------------------------------

def test_ctrl_enter_writes_and_escape_stops_on_the_writers_page(fake_writers, page):
    page.goto(fake_writers + "/generate")
    expect(page.locator(".shortcuts")).to_contain_text("Ctrl+Entrée")
    expect(page.locator(".shortcuts")).to_contain_text("Échap")
    expect(page.locator("#write")).to_have_attribute("aria-keyshortcuts", "Control+Enter")
    expect(page.locator("#stop")).to_have_attribute("aria-keyshortcuts", "Escape")
    page.fill("#prompt", "Il était une fois")
    page.click(".writers-settings summary")
    page.fill("#max_new_tokens", "200")                  # 10 s at the fake's pace: time to stop it
    page.focus("#prompt")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#output-text")).not_to_be_empty()
    page.keyboard.press("Escape")
    expect(page.locator("#status")).to_have_text("Arrêté.")
    expect(page.locator("#write")).to_be_enabled()


FAKE_REPORT = {"checks": [{"outcome": "passed", "title": {"fr": "Le code est là", "en": "The code is there"}}],
               "passed": 1, "failed": 0, "all_passed": True, "seconds": 0.1, "status": "ok", "output": ""}


def test_ctrl_enter_checks_the_exercise(live_server, page):
    server = live_server({"CHECK_WORKER": False})
    # The check itself is the server's (tested elsewhere, slow: TensorFlow): here, a known report.
    page.route("**/exercises/1/check", lambda route: route.fulfill(json=FAKE_REPORT))
    page.goto(server.url + "/exercises/1")
    expect(page.locator(".shortcuts")).to_contain_text("Ctrl+Entrée")
    expect(page.locator("#check-button")).to_have_attribute("aria-keyshortcuts", "Control+Enter")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#exercise")).to_have_attribute("data-state", "passed")


def test_a_run_starts_with_ctrl_enter_streams_into_a_log_and_escape_cancels_it(live_server, page, tmp_path):
    server = live_server({"CHECK_WORKER": False, "WORKSHOP_STEPS": fake_training_steps(tmp_path, 2)})
    page.goto(server.url + "/run?step=fake-train")
    expect(page.locator(".shortcuts")).to_contain_text("Échap")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#job")).to_have_attribute("data-status", "running")
    log = page.locator("#job-log")
    expect(log).to_have_attribute("role", "log")          # read as it grows, and as a log
    expect(log).to_contain_text("Training (fake step")
    page.keyboard.press("Escape")
    expect(page.locator("#job")).to_have_attribute("data-status", "cancelled", timeout=20_000)


# -- the writers' text, announced once ------------------------------------------------

#: Records the output's aria-busy each time a piece of text arrives.
RECORD_BUSY_WHILE_WRITING = """() => {
  window.busyWhileWriting = [];
  const output = document.getElementById('output');
  new MutationObserver(() => window.busyWhileWriting.push(output.getAttribute('aria-busy')))
    .observe(document.getElementById('output-text'), {childList: true, characterData: true, subtree: true});
}"""

LIVE_REGIONS = "[aria-live], [role=status], [role=log], [role=alert]"


def test_the_written_text_is_announced_once_when_done_not_token_by_token(fake_writers, page):
    page.goto(fake_writers + "/generate")
    page.evaluate(RECORD_BUSY_WHILE_WRITING)
    write_a_text(page)
    busy = page.evaluate("window.busyWhileWriting")
    assert len(busy) > 3 and set(busy) == {"true"}, busy       # streamed, busy all along
    expect(page.locator("#output")).to_have_attribute("aria-busy", "false")
    # The output is in no live region (a screen reader would read each token), nor holds one…
    assert page.evaluate(f"""() => {{
        const output = document.getElementById('output');
        return output.closest('{LIVE_REGIONS}') === null && output.querySelector('{LIVE_REGIONS}') === null;
    }}""")
    # …the status line says, once, that the text is written, and how long it is.
    words = len(page.locator("#output-text").text_content().split())
    expect(page.locator("#status")).to_have_attribute("role", "status")
    expect(page.locator("#status")).to_contain_text(f"{words} mots")
