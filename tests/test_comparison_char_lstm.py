"""The char-LSTM beside GPT-2 in « Mon modèle contre la référence » (bonus A), through the app: its text from
the same beginning and settings, each model's bits per character and training minutes; without a char-LSTM
(or with a broken one) a line saying what to train; the run page trains both for the same default minutes."""

from __future__ import annotations

import re

import json
import shutil

import pytest

from aurore.bonus import char_lstm
from aurore.evaluation import scoring
from aurore.store import modeldir
from aurore.training import resumable
from aurore.web import create_app
from aurore.web.workshop import jobs, pages
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)
from tiny_lstm import make_tiny_lstm
from tiny_sand import make_dataset


@pytest.fixture(scope="module")
def lstm(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare-lstm")
    dataset = make_dataset(root / "dataset", repeat=4)
    return make_tiny_lstm(root / "char-lstm", dataset)


@pytest.fixture
def data(tiny_model_dir, tmp_path):  # noqa: F811
    """Two GPT-2 folders (the same tiny weights), each with a metrics line that says it trained 5 minutes."""
    data = tmp_path / "data"
    for name in ("tiny", "tiny-mine"):
        modeldir.copy(tiny_model_dir, data / "models" / name)
        (data / "models" / name / resumable.METRICS_FILE).write_text(json.dumps({"step": 40, "seconds": 300.0}) + "\n")
    make_dataset(data / "dataset")
    return data


def app_for(data, monkeypatch, tmp_path):
    monkeypatch.setenv("AURORE_EXERCISES", str(tmp_path / "exercises"))
    (tmp_path / "exercises").mkdir(exist_ok=True)
    return create_app({"DATA_DIR": str(data), "TESTING": True, "CHECK_WORKER": False})


def csrf(client) -> dict:
    page = client.get("/generate").get_data(as_text=True)
    return {"X-CSRF-Token": page.split('name="csrf-token" content="')[1].split('"')[0]}


def test_the_char_lstm_writes_beside_gpt2_with_its_figures(data, lstm, monkeypatch, tmp_path):
    shutil.copytree(lstm, data / "models" / "char-lstm")
    scoring.save_report(data / "models" / "tiny", {"test": {"bits_per_character": 3.25}, "step": 40})
    app = app_for(data, monkeypatch, tmp_path)
    client = app.test_client()
    page = client.get("/generate").get_data(as_text=True)
    column = page.split('data-role="char-lstm"')[1].split("</article>")[0]
    assert "Le LSTM caractère (bonus A)" in column and "char-lstm" in column
    assert "4,125" in column and "bits par caractère" in column                      # its saved report
    minutes = resumable.trained(data / "models" / "char-lstm")["minutes"]
    assert minutes is not None and minutes > 0
    assert "min d'entraînement" in column
    reference = page.split('data-role="reference"')[1].split("</article>")[0]
    assert re.search(r"\b5\s+min d'entraînement, 40\s+pas", reference) and "3,250" in reference
    assert 'id="compare-lstm-note"' in page and 'id="compare-lstm-none"' not in page

    body = {"prompt": "La nuit était douce", "seed": 7, "max_new_tokens": 12, "mine": "tiny-mine",
            "reference": "tiny", "sampler": "solution", "char_lstm": "char-lstm"}
    answer = client.post("/generate/compare", json=body, headers=csrf(client))
    assert answer.status_code == 200, answer.get_json()
    rows = answer.get_json()["rows"]
    assert [row["role"] for row in rows] == ["mine", "reference", "char-lstm"]
    gpt2, lstm_row = rows[1], rows[2]
    assert lstm_row["name"] == "char-lstm" and lstm_row["sampler"] == "solution"
    assert lstm_row["text"] and lstm_row["new_tokens"] == len(lstm_row["text"])
    # As many characters as the reference wrote, unless it ended its sentence before.
    assert len(lstm_row["text"]) == len(gpt2["text"]) or lstm_row["finish_reason"] != "length"
    assert len(gpt2["text"]) > body["max_new_tokens"]           # GPT-2's tokens hold several characters each
    assert lstm_row["test_bits_per_character"] == 4.125 and gpt2["test_bits_per_character"] == 3.25
    assert lstm_row["minutes"] == pytest.approx(minutes, abs=0.01) and gpt2["minutes"] == 5.0
    again = client.post("/generate/compare", json=body, headers=csrf(client)).get_json()["rows"][2]
    assert again["text"] == lstm_row["text"]                                          # same seed, same text
    greedy = client.post("/generate/compare", json={**body, "strategy": "greedy"}, headers=csrf(client))
    assert greedy.status_code == 200 and greedy.get_json()["rows"][2]["finish_reason"] in (
        "length", "end_of_sentence")
    refused = client.post("/generate/compare", json={**body, "char_lstm": "tiny"}, headers=csrf(client))
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "char_lstm"
    english = client.get("/generate?lang=en").get_data(as_text=True)
    assert "The char-LSTM (bonus A)" in english and re.search(r"\b5\s+min of training, 40\s+steps", english)
    app.extensions["aurore_generation"].close()


def test_without_a_char_lstm_the_page_says_what_to_train(data, monkeypatch, tmp_path):
    app = app_for(data, monkeypatch, tmp_path)
    client = app.test_client()
    response = client.get("/generate")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-role="char-lstm"' not in page
    assert 'id="compare-lstm-none" data-missing="missing"' in page
    assert "Pas encore de LSTM caractère" in page and 'href="/run?step=char-lstm"' in page
    body = {"prompt": "La nuit", "mine": "tiny-mine", "reference": "tiny", "char_lstm": "char-lstm"}
    refused = client.post("/generate/compare", json=body, headers=csrf(client))
    assert refused.status_code == 422 and "Bonus A" in refused.get_json()["error"]["message"]
    app.extensions["aurore_generation"].close()


def test_a_broken_char_lstm_is_a_line_never_an_error(data, monkeypatch, tmp_path):
    broken = data / "models" / "char-lstm"
    broken.mkdir(parents=True)
    (broken / char_lstm.CONFIG_FILE).write_text("{not json", encoding="utf-8")
    (broken / char_lstm.MODEL_FILE).write_text("", encoding="utf-8")
    app = app_for(data, monkeypatch, tmp_path)
    client = app.test_client()
    response = client.get("/generate")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-missing="broken"' in page and "illisible" in page
    assert "Traceback" not in page
    app.extensions["aurore_generation"].close()


def test_the_run_page_trains_the_char_lstm_as_long_as_gpt2(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "TRAIN_MAX_MINUTES": 7, "CHECK_WORKER": False})
    with app.app_context():
        steps = pages.job_runner().steps
    assert jobs.minutes_default(steps, jobs.LSTM_STEP) == jobs.minutes_default(steps, jobs.GPT2_STEP) == 7
    assert jobs.option_argv(steps[jobs.LSTM_STEP], {})[1] == ["--max-minutes", "7"]          # what a job runs
    page = app.test_client().get("/run?step=char-lstm").get_data(as_text=True)
    note = page.split('id="run-equal-time"')[1].split("</p>")[0]
    assert 'data-steps="char-lstm"' in note and "aussi longtemps que GPT-2" in note and "7 minutes" in note
