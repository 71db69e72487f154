"""A step's final figures on the run page: prepare's per-book statistics and any step's `result` become
tables (French numbers), never a line of JSON in the log, and nothing runs past the page's edge on a phone."""

import json
import sys
import textwrap

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

BOOKS = [(3, "Mauprat", "train", 5321, 98_765, 543_210), (4, "Lélia " + "très long titre " * 6, "train", 4000, 70_000, 400_000),
         (5, "La Mare au Diable", "test", 1234, 20_000, 110_000)]
STATS = {"splits": {"train": {"sentences": 9321, "words": 168_765, "characters": 943_210},
                    "test": {"sentences": 1234, "words": 20_000, "characters": 110_000}},
         "books": {f"{split}/{book}": {"split": split, "book": book, "title": title, "sentences": s, "words": w,
                                       "characters": c} for book, title, split, s, w, c in BOOKS}}
REPORT = {"test": {"loss_per_token": 3.52, "bits_per_character": 2.131}, "tokens": 123456,
          "files": ["a.txt", "b.txt"], "note": None}

FAKE_STEP = textwrap.dedent(f'''\
    import json
    def emit(**event):
        print(json.dumps(event, ensure_ascii=False), flush=True)
    emit(event="log", message="Preparing the books (fake step).")
    emit(event="dataset", path="/data/dataset", stats=json.loads({json.dumps(STATS, ensure_ascii=False)!r}))
    emit(event="result", step="prepare", report=json.loads({json.dumps(REPORT)!r}))
''')


def run_fake_prepare(live_server, page, tmp_path):
    script = tmp_path / "fake_prepare.py"
    script.write_text(FAKE_STEP, encoding="utf-8")
    server = live_server({"WORKSHOP_STEPS": {"fake-prepare": {"title": {"fr": "Préparer (factice)", "en": "Prepare (fake)"},
                                                              "argv": [sys.executable, str(script)]}},
                          "CHECK_WORKER": False, "ENV_GPU_PROBE": False})
    page.goto(server.url + "/run?step=fake-prepare")
    page.click("#run-button")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=30_000)


def test_the_figures_are_tables_not_json(live_server, page, tmp_path):
    run_fake_prepare(live_server, page, tmp_path)
    log = page.locator("#job-log").inner_text()
    assert "{" not in log and '"event"' not in log, log
    dataset = page.locator("#job-result .dataset-table")
    expect(dataset).to_be_visible()
    expect(dataset.locator("thead th")).to_have_text(["", "phrases", "mots", "caractères"])
    mauprat = dataset.locator("tr", has_text="Mauprat")
    expect(mauprat.locator("td")).to_have_text(["5\u202f321", "98\u202f765", "543\u202f210"])
    expect(dataset.locator("tr.split")).to_have_count(2)
    report = page.locator("#job-result .report-table")
    expect(report.locator("tr", has_text="test · bits_per_character").locator("td")).to_have_text("2,131")
    expect(report.locator("tr", has_text="files").locator("td")).to_have_text("a.txt, b.txt")
    expect(report.locator("tr", has_text="note")).to_have_count(0)


def test_nothing_runs_past_the_edge_on_a_phone(live_server, phone_page, tmp_path, screenshot):
    run_fake_prepare(live_server, phone_page, tmp_path)
    expect(phone_page.locator("#job-result .dataset-table")).to_be_visible()
    assert phone_page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), \
        "the run page scrolls sideways on a phone"
    for box in ("#job-log", "#job-result"):
        edge = phone_page.locator(box).bounding_box()
        assert edge["x"] >= 0 and edge["x"] + edge["width"] <= 375, (box, edge)
    screenshot(phone_page, "run-result-phone")
