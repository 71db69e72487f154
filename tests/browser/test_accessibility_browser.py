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
writers' page from the app in this process with a fake generator (tests/fake_generator.py);
an exercise's check is a known report (a real one imports TensorFlow: slow): the pages
are what is tested here, not the model nor the checks.

The pages' screenshots, light and dark, 1280 and 375 px wide, are taken on the way
(test-output/; docs/screenshots/<page>-<theme>-<width>.png with AURORE_PUBLISH_SCREENSHOTS=1).
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
#: The pages whose screenshots are published, light and dark, on a desktop (1280 px, the `page` fixture's) and a phone.
SCREENSHOTS = ("home", "exercise", "run", "writers")

#: The workshop's pages that need nothing done on them before they are checked, by name.
STATIC_PAGES = {
    "home": "/",
    "exercises": "/exercises",
    "environment": "/environment",
    "course": "/course/presentation",
    "error": "/exercises/99",
    "writers-no-model": "/generate",       # the workshop's server has no model
}

#: What the fake writer writes after PROMPT, piece by piece (a sentence of La Mare au Diable, nearly).
PROMPT = "Au bord de la Creuse,"
SAND_WORDS = [" " + word for word in
              "le laboureur, le pied sur la charrue, chantait d'une voix lente la vieille chanson du pays.".split()]

#: A stand-in for the training step, quick and looking like the real one: every kind of event the run page shows.
FAKE_TRAINING = textwrap.dedent('''\
    import json, math, sys, time
    SAMPLES = [" de la de la la", " et le petit et la", ", dit-il, en la regardant.", " elle se mit à pleurer."]
    def emit(**event):
        print(json.dumps(event), flush=True)
    def loss(step, gap=0.0):
        return round(2.9 + 5.2 * math.exp(-step / 18) + gap * step / 80, 4)
    emit(event="log", message="1,626,784 training tokens in 50,837 blocks of 32; 85,024 validation tokens.")
    for step in range(1, 81):
        emit(event="progress", task="Training", done=step, total=80, unit="step", metrics={"loss": loss(step)})
        if step % 20 == 0:
            emit(event="metrics", step=step, loss=loss(step), val_loss=loss(step, 0.35),
                 message=f"step {step}: loss {loss(step):.4f}, validation loss {loss(step, 0.35):.4f}")
            emit(event="sample", step=step, prompt="Il était une fois", seed=1, text=SAMPLES[step // 20 - 1])
        time.sleep(float(sys.argv[1]))
    emit(event="evaluation", message="test book: 2.21 bits per character", report={
        "validation": {"loss_per_token": 3.36, "perplexity": 28.8, "bits_per_character": 2.08},
        "test": {"loss_per_token": 3.52, "perplexity": 33.8, "bits_per_character": 2.21},
        "vocab_size": 8000, "fresh_loss": 8.99, "baseline": {"xz_bits_per_character": 2.64}})
''')


def fake_check_report(all_passed: bool) -> dict:
    """What POST /exercises/1/check answers: one check passed, and one failed unless `all_passed`."""
    checks = [{"outcome": "passed", "title": {"fr": "MIN_WORDS est un petit nombre entier",
                                              "en": "MIN_WORDS is a small whole number"}}]
    if not all_passed:
        checks.append({"outcome": "failed",
                       "title": {"fr": "strip_gutenberg garde le récit entre les marqueurs START et END",
                                 "en": "strip_gutenberg keeps the story between the START and END markers"},
                       "message": "TODO : strip_gutenberg renvoie encore le livre entier, en-tête compris.",
                       "where": "exercises/01_prepare_dataset.py:31"})
    return {"checks": checks, "passed": 1, "failed": len(checks) - 1, "all_passed": all_passed, "seconds": 0.4,
            "status": "ok", "output": "", "detail": None}


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
    return {"train": {"title": {"fr": "Entraîner GPT-2", "en": "Train GPT-2"},
                      "argv": [sys.executable, str(script), str(seconds_per_step)]}}


@pytest.fixture
def servers(live_server, fake_writers, tmp_path):
    workshop = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False,
                            "WORKSHOP_STEPS": fake_training_steps(tmp_path, 0.005)})
    return Servers(workshop.url, fake_writers)


# -- visiting every page ---------------------------------------------------------

def write_a_text(page) -> None:
    page.fill("#prompt", PROMPT)
    page.click(".writers-settings summary")
    page.fill("#max_new_tokens", str(len(SAND_WORDS)))
    page.click("#write")
    expect(page.locator("#status")).to_contain_text("Terminé", timeout=30_000)


def check_with_a_known_report(page, all_passed: bool) -> None:
    page.route("**/exercises/1/check", lambda route: route.fulfill(json=fake_check_report(all_passed)))
    page.click("#check-button")
    expect(page.locator("#exercise")).to_have_attribute("data-state", "passed" if all_passed else "failed")


def finish_a_run(page) -> None:
    page.click("#run-button")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(page.locator("#evaluation")).to_be_visible()


def every_page(page, servers: Servers):
    """Open each page in turn, in the state a learner sees it at its fullest; yield its name."""
    for name, path in STATIC_PAGES.items():
        page.goto(servers.workshop + path)
        yield name
    page.goto(servers.workshop + "/exercises/1")
    check_with_a_known_report(page, all_passed=False)
    yield "exercise"
    page.goto(servers.workshop + "/run?step=train")
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


def take_screenshot(screenshot, page, name: str, theme: str) -> None:
    if name in SCREENSHOTS:
        screenshot(page, f"{name}-{theme}-{page.viewport_size['width']}", publish=True)


@pytest.mark.parametrize("theme", THEMES)
def test_axe_finds_nothing_serious_on_any_page(servers, page, screenshot, theme):
    page.emulate_media(color_scheme=theme)          # the system's theme: the pages follow it by default
    found = {}
    for name in every_page(page, servers):
        assert theme_of(page) == theme, f"{name}: the page is not in the {theme} theme"
        take_screenshot(screenshot, page, name, theme)
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


@pytest.mark.parametrize("theme", THEMES)
def test_every_page_fits_a_375_px_phone(servers, page, screenshot, theme):
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme=theme)
    too_wide = {}
    for name in every_page(page, servers):
        take_screenshot(screenshot, page, name, theme)
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

#: The focused element's outline, and the colour it is drawn on: that of the first element with a
#: background under the ring's right side (the skip link, for one, lies over the header).
FOCUS_RING = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const box = element.getBoundingClientRect();
  const x = box.right + parseFloat(style.outlineOffset) + parseFloat(style.outlineWidth) / 2;
  const transparent = (node) => ['rgba(0, 0, 0, 0)', 'transparent'].includes(getComputedStyle(node).backgroundColor);
  const behind = document.elementsFromPoint(x, box.top + box.height / 2)
    .find((node) => !element.contains(node) && !transparent(node)) || document.documentElement;
  return {visible: element.matches(':focus-visible'), style: style.outlineStyle, width: parseFloat(style.outlineWidth),
          colour: style.outlineColor, behind: getComputedStyle(behind).backgroundColor};
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
    page.fill("#prompt", PROMPT)
    page.click(".writers-settings summary")
    page.fill("#max_new_tokens", "200")                  # 10 s at the fake's pace: time to stop it
    page.focus("#prompt")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#output-text")).not_to_be_empty()
    page.keyboard.press("Escape")
    expect(page.locator("#status")).to_have_text("Arrêté.")
    expect(page.locator("#write")).to_be_enabled()


def test_ctrl_enter_checks_the_exercise(live_server, page):
    server = live_server({"CHECK_WORKER": False})
    # The check itself is the server's (tested elsewhere, slow: TensorFlow): here, a known report.
    page.route("**/exercises/1/check", lambda route: route.fulfill(json=fake_check_report(all_passed=True)))
    page.goto(server.url + "/exercises/1")
    expect(page.locator(".shortcuts")).to_contain_text("Ctrl+Entrée")
    expect(page.locator("#check-button")).to_have_attribute("aria-keyshortcuts", "Control+Enter")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#exercise")).to_have_attribute("data-state", "passed")


def test_a_run_starts_with_ctrl_enter_streams_into_a_log_and_escape_cancels_it(live_server, page, tmp_path):
    server = live_server({"CHECK_WORKER": False, "WORKSHOP_STEPS": fake_training_steps(tmp_path, 0.5)})
    page.goto(server.url + "/run?step=train")
    expect(page.locator(".shortcuts")).to_contain_text("Échap")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#job")).to_have_attribute("data-status", "running")
    log = page.locator("#job-log")
    expect(log).to_have_attribute("role", "log")          # read as it grows, and as a log
    expect(log).to_contain_text("training tokens")
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
