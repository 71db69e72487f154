"""A learner's own model, end to end in a real browser (Debian's Chromium) against the real server:
training it with the tiny preset on the run page (samples appear while it trains, its evaluation
at the end), then comparing it with the reference on the writers' page. Real training, real
evaluation, real generation: only the books are small (tests/tiny_sand.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from aurore import paths
from aurore.corpus import tokenization
from aurore.course import exercises
from aurore.store import modeldir
from tiny_sand import TRAIN, make_dataset

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]   # a training and waits of TRAINING_SECONDS each

TRAINING_SECONDS = 300      # TensorFlow's start-up and a tiny training, on a loaded 2-core machine


@pytest.fixture
def prepared_data(tmp_path):
    """A data folder with the books and the tokenizer made, and the reference model trained (tiny preset,
    twice as long as the learner will: with the same code and seed, the two would otherwise be the same)."""
    data = tmp_path / "data"
    make_dataset(data / "dataset", repeat=3)
    modeldir.save_tokenizer(tokenization.byte_level_bpe(TRAIN, 400), data / "tokenizer")
    result = subprocess.run([sys.executable, "-m", "aurore", "train", "--preset", "tiny", "--use", "solution",
                             "--set", "max_steps=24"],
                            capture_output=True, text=True, timeout=TRAINING_SECONDS, cwd=paths.ROOT,
                            env={**os.environ, "AURORE_DATA": str(data), "AURORE_PROGRESS": "json"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return data


def test_a_learner_trains_their_own_model_and_compares_it_with_the_reference(live_server, prepared_data, page,
                                                                            screenshot):
    server = live_server(data=prepared_data)
    for number in (5, 6):      # the learner finished exercises 5 (training) and 6 (the sampler)
        exercise = exercises.get(number)
        shutil.copy2(exercise.solution_path, server.exercises / exercise.filename)

    # -- the run page: my code, the tiny preset, its own folder
    page.goto(server.url + "/run?step=train")
    expect(page.locator("#run-preset")).to_be_visible()
    expect(page.locator("#run-minutes")).to_be_visible()
    expect(page.locator("#run-restart")).to_be_visible()
    page.select_option("#run-preset", "tiny")
    expect(page.locator("#run-model-dir")).to_have_text("models/tiny-mine")
    page.check("input[name=variant][value=solution]")
    expect(page.locator("#run-model-dir")).to_have_text("models/tiny")
    page.check("input[name=variant][value=exercise]")
    page.select_option("#run-step", "tokenizer")
    expect(page.locator("#run-preset")).to_be_hidden()         # options show only for the steps that take them
    page.select_option("#run-step", "train")
    # Remember the job's status whenever a sample arrives: they must come while it trains.
    page.evaluate("""() => {
        window.sampleStatuses = [];
        new MutationObserver(() => window.sampleStatuses.push(document.getElementById('job').dataset.status))
            .observe(document.getElementById('samples-list'), {childList: true});
    }""")
    page.click("#run-button")
    expect(page.locator("#job")).to_have_attribute("data-status", "running")
    expect(page.locator("#job-title")).to_contain_text("tiny")
    samples = page.locator("#samples-list li")
    expect(samples.first).to_be_visible(timeout=TRAINING_SECONDS * 1000)
    expect(page.locator("#samples-about")).to_contain_text("La nuit était")
    expect(samples.first).to_contain_text("pas 4")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=TRAINING_SECONDS * 1000)
    assert page.evaluate("window.sampleStatuses")[0] == "running"
    expect(samples).to_have_count(3)                             # one per evaluation: steps 4, 8, 12

    # -- its evaluation, explained
    evaluation = page.locator("#evaluation")
    expect(evaluation).to_be_visible()
    for split in ("validation", "test"):
        expect(evaluation.locator(f"tr[data-split={split}] td").nth(2)).to_have_text(re.compile(r"^\d+,\d{3}$"))  # French decimals
    expect(evaluation.locator("tr[data-split=test] th")).to_contain_text("La Mare au Diable")
    expect(page.locator("#evaluation-reference")).to_contain_text("ln(400)")
    expect(page.locator("#evaluation-reference")).to_contain_text("xz")
    expect(evaluation).to_contain_text("surapprend")
    assert modeldir.is_model_dir(server.data / "models" / "tiny-mine")
    screenshot(page, "my-model-training", publish=True)

    # -- the writers' page: my model against the reference
    page.goto(server.url + "/generate")
    expect(page.locator("#compare h2")).to_have_text("Mon modèle contre la référence")
    expect(page.locator("#compare-mine")).to_have_value("tiny-mine")
    expect(page.locator("#compare-reference")).to_have_value("tiny")
    for role in ("mine", "reference"):
        expect(page.locator(f".compare-column[data-role={role}] .compare-bpc")).to_contain_text(
            re.compile(r"\d,\d{3} bits par caractère"))                # French decimals
    expect(page.locator("#compare-baseline")).to_contain_text(re.compile(r"xz.*\d,\d\d bits par caractère"))

    page.fill("#prompt", "La nuit était douce et")
    page.click("summary")
    page.fill("#max_new_tokens", "30")
    page.select_option("#compare-sampler", "exercise")         # my own sampler, from exercise 6
    page.fill("#compare-seed", "5")
    page.click("#compare-button")
    for role in ("mine", "reference"):
        column = page.locator(f".compare-column[data-role={role}]")
        expect(column.locator(".compare-text")).not_to_be_empty(timeout=60_000)
        expect(column.locator(".compare-prompt")).to_have_text("La nuit était douce et")
        expect(column.locator(".compare-memorised")).to_contain_text("passages de 8 mots")
        expect(column).to_have_attribute("data-seed", "5")
    expect(page.locator("#compare-error")).to_be_hidden()

    # The ordinary writing box says how much of its text comes from the books, too.
    page.fill("#max_new_tokens", "40")
    page.click("#write")
    expect(page.locator("#status")).to_contain_text("Terminé", timeout=60_000)
    expect(page.locator("#memorisation")).to_contain_text(re.compile(r"passages de 8 mots|Trop court"))
    page.locator("#compare").scroll_into_view_if_needed()
    screenshot(page, "my-model-vs-reference", publish=True)
