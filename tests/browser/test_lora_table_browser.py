"""The LoRA step on the run page, end to end in a real browser against the real server: the page offers
LoRA, full fine-tuning or both (both by default); the real `lora` command fine-tunes a tiny model both ways
on a fixture book and the page shows one table read from the saved results (cost, what each method learnt,
what it forgot on the test book, before and after) and a sample from each model. Real fine-tuning, real
evaluation: only the model and the books are small (tests/tiny_model.py, tests/fixture_books.py)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

import fixture_books
from aurore.bonus import lora
from aurore.web.workshop.jobs import default_steps
from tiny_model import make_tiny_model_dir
from tiny_sand import make_dataset

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

RUN_SECONDS = 400      # TensorFlow's start-up, two tiny fine-tunings and their measures, on a loaded 2-core machine
FRENCH_BITS = re.compile(r"^\d,\d{3}$")


@pytest.fixture
def lora_data(tmp_path):
    data = tmp_path / "data"
    make_dataset(data / "dataset")
    make_tiny_model_dir(data / "models" / "tiny")
    fixture_books.write_fixture_books(tmp_path / "books")
    return data


def test_the_run_page_compares_lora_and_full_fine_tuning(live_server, lora_data, page, tmp_path, screenshot):
    step = default_steps()["lora"]
    # The real command, on a fixture book and a budget of two steps (the page's options are the real ones).
    step["argv"] += ["--book", "90002", "--source", str(tmp_path / "books"), "--max-steps", "2", "--batch-size", "4"]
    server = live_server({"WORKSHOP_STEPS": {"lora": step}, "CHECK_WORKER": False, "ENV_GPU_PROBE": False},
                         data=lora_data)
    page.goto(server.url + "/run?step=lora")
    method = page.locator("#run-method")
    expect(method).to_be_visible()
    expect(method).to_have_value("both")                                  # the comparison, by default
    expect(method.locator("option")).to_have_text(["les deux, côte à côte (LoRA, puis tous les poids)", "LoRA seul",
                                                   "tous les poids seulement (affinage complet)"])
    page.select_option("#run-step", "train")
    expect(method).to_be_hidden()                                         # the LoRA step's option alone
    page.select_option("#run-step", "lora")
    page.select_option("#run-preset", "tiny")
    page.check("input[name=variant][value=solution]")
    page.click("#run-button")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=RUN_SECONDS * 1000)

    table = page.locator("#job-result .lora-table")
    expect(table).to_be_visible()
    expect(table.locator("thead th")).to_have_text(
        ["méthode", "poids entraînables", "part", "secondes par pas", "fin mise de côté, avant",
         "fin mise de côté, après", "livre de test, avant", "livre de test, après"])
    expect(table.locator("tbody tr")).to_have_count(2)
    saved = [lora.read_report(lora.output_dir(lora_data / "models" / "tiny", 90002, full=full)) for full in (False, True)]
    for row, report in zip(("tr.method-lora", "tr.method-full"), saved):
        cells = table.locator(row).locator("td").all_inner_texts()
        assert cells[0].replace("\u202f", "") == str(report["parameters"]["trainable"])
        assert all(FRENCH_BITS.match(cell) for cell in cells[3:]), cells            # French decimals, measured
        before, after = (report["test_book"]["bits_per_character"][k] for k in ("before", "after"))
        assert cells[5:] == [f"{before:.3f}".replace(".", ","), f"{after:.3f}".replace(".", ",")], cells
    expect(table.locator("tr.method-full td").nth(1)).to_have_text("100,00\u00a0%")
    samples = page.locator("#job-result .lora-samples li")
    expect(samples).to_have_count(3)
    expect(samples.first).to_contain_text("modèle de départ")
    log = page.locator("#job-log").inner_text()
    assert '"event"' not in log and "{" not in log, log[-2000:]            # a table, never JSON
    page.locator("#job-result").scroll_into_view_if_needed()
    screenshot(page, "run-lora-table", publish=True)
    assert json.loads((lora_data / "models" / "tiny-full-90002" / lora.REPORT_FILE).read_text())["method"] == "full"
