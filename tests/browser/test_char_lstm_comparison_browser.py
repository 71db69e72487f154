"""Bonus A in the browser: the char-LSTM writes beside GPT-2 in « Mon modèle contre la référence », each
column with its bits per character and training minutes; without a char-LSTM a line leads to its training,
where the run page says it trains as long as GPT-2. Real server, real tiny models."""

import json
import re
import shutil

import pytest
from playwright.sync_api import expect

from aurore.evaluation import scoring
from aurore.store import modeldir
from aurore.training import resumable
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)
from tiny_lstm import make_tiny_lstm
from tiny_sand import make_dataset

pytestmark = pytest.mark.browser
PROMPT = "La nuit était douce et"


@pytest.fixture
def data(tiny_model_dir, tmp_path):  # noqa: F811
    data = tmp_path / "data"
    for name in ("tiny", "tiny-mine"):
        modeldir.copy(tiny_model_dir, data / "models" / name)
        (data / "models" / name / resumable.METRICS_FILE).write_text(json.dumps({"step": 40, "seconds": 300.0}) + "\n")
        scoring.save_report(data / "models" / name, {"test": {"bits_per_character": 3.25}, "step": 40})
    make_dataset(data / "dataset", repeat=4)
    return data


def test_the_char_lstm_writes_beside_gpt2(live_server, data, page, screenshot, tmp_path):
    make_tiny_lstm(tmp_path / "lstm", data / "dataset")
    shutil.copytree(tmp_path / "lstm", data / "models" / "char-lstm")
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False}, data=data)
    page.goto(server.url + "/generate")
    lstm = page.locator(".compare-column[data-role=char-lstm]")
    expect(lstm.locator("h3")).to_contain_text("Le LSTM caractère (bonus A)")
    expect(lstm.locator(".compare-bpc")).to_contain_text("4,125 bits par caractère")
    expect(lstm.locator(".compare-training")).to_contain_text(re.compile(r"\d+(,\d)?\s+min d'entraînement"))
    expect(page.locator(".compare-column[data-role=reference] .compare-training")).to_have_text(
        re.compile(r"^5\s+min d'entraînement, 40\s+pas$"))
    expect(page.locator("#compare-budget")).to_contain_text("le même temps d'entraînement")
    expect(page.locator(".compare-column[data-role=reference] .compare-bpc")).to_contain_text("3,250")

    page.fill("#prompt", PROMPT)
    page.click("summary")
    page.fill("#max_new_tokens", "30")
    page.fill("#compare-seed", "5")
    page.click("#compare-button")
    for role in ("mine", "reference", "char-lstm"):
        column = page.locator(f".compare-column[data-role={role}]")
        expect(column.locator(".compare-text")).not_to_be_empty(timeout=90_000)
        expect(column.locator(".compare-prompt")).to_have_text(PROMPT)
        expect(column).to_have_attribute("data-seed", "5")
    expect(page.locator("#compare-error")).to_be_hidden()
    expect(page.locator("#compare-lstm-note")).to_contain_text("un caractère par pas")
    reference_text = page.locator(".compare-column[data-role=reference] .compare-text").text_content()
    lstm_text = lstm.locator(".compare-text").text_content()
    assert 0 < len(lstm_text) <= len(reference_text)
    page.locator("#compare").scroll_into_view_if_needed()
    screenshot(page, "char-lstm-vs-gpt2", publish=True)
    page.set_viewport_size({"width": 375, "height": 800})          # a phone: one column under another
    boxes = [page.locator(f".compare-column[data-role={role}]").bounding_box() for role in ("mine", "char-lstm")]
    assert boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"] - 1 and boxes[1]["x"] == boxes[0]["x"]


def test_without_a_char_lstm_a_line_leads_to_its_training(live_server, data, page):
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False, "TRAIN_MAX_MINUTES": 7}, data=data)
    page.goto(server.url + "/generate")
    expect(page.locator(".compare-column[data-role=char-lstm]")).to_have_count(0)
    note = page.locator("#compare-lstm-none")
    expect(note).to_have_attribute("data-missing", "missing")
    note.get_by_role("link").click()
    expect(page.locator("#run-step")).to_have_value("char-lstm")
    expect(page.locator("#run-minutes")).to_have_value("7")
    expect(page.locator("#run-equal-time")).to_be_visible()
    expect(page.locator("#run-equal-time")).to_contain_text("aussi longtemps que GPT-2 sur cette page, 7 minutes")
    page.select_option("#run-step", "train")
    expect(page.locator("#run-equal-time")).to_be_hidden()
    expect(page.locator("#run-minutes")).to_have_value("7")
