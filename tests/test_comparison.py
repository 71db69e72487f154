"""« Mon modèle contre la référence » and the memorisation check, through the app (the real tiny model)."""

from __future__ import annotations

import shutil

import pytest

from aurore.course import exercises
from aurore.evaluation import scoring
from aurore.store import modeldir
from aurore.web import create_app
from tests.tiny_model import sentences, tiny_model_dir  # noqa: F401  (fixture)
from tiny_sand import TRAIN, make_dataset


@pytest.fixture
def app_with_two_models(tiny_model_dir, tmp_path, monkeypatch):  # noqa: F811
    """The same tiny weights as the reference (`tiny`) and as the learner's model (`tiny-mine`)."""
    data = tmp_path / "data"
    for name in ("tiny", "tiny-mine"):
        modeldir.copy(tiny_model_dir, data / "models" / name)
    make_dataset(data / "dataset")
    learner = tmp_path / "exercises"
    learner.mkdir()
    monkeypatch.setenv("AURORE_EXERCISES", str(learner))
    app = create_app({"DATA_DIR": str(data), "TESTING": True})
    yield app, data, learner
    app.extensions["aurore_generation"].close()


def csrf(client) -> dict:
    page = client.get("/generate").get_data(as_text=True)
    return {"X-CSRF-Token": page.split('name="csrf-token" content="')[1].split('"')[0]}


def test_both_models_write_from_the_same_prompt_and_seed(app_with_two_models):
    app, data, learner = app_with_two_models
    client = app.test_client()
    report = {"test": {"bits_per_character": 3.25}, "validation": {"bits_per_character": 3.5}, "step": 40,
              "baseline": {"xz_bits_per_character": 2.5, "split": "test", "source": "xz on the test split"}}
    scoring.save_report(data / "models" / "tiny", report)

    page = client.get("/generate").get_data(as_text=True)
    assert "Mon modèle contre la référence" in page and 'id="compare-mine"' in page
    mine_column = page.split('data-role="mine"')[1].split("</article>")[0]
    reference_column = page.split('data-role="reference"')[1].split("</article>")[0]
    assert "tiny-mine" in mine_column and "pas encore évalué" in mine_column
    assert "3,250" in reference_column                                                # French decimals
    assert "2,50 bits par caractère" in page and "réglages par défaut" in page        # the baseline, and how it was made
    english = client.get("/generate?lang=en").get_data(as_text=True)
    assert "My model against the reference" in english and "2.50 bits per character" in english

    body = {"prompt": "La nuit était douce", "seed": 7, "max_new_tokens": 20, "mine": "tiny-mine",
            "reference": "tiny", "sampler": "solution"}
    answer = client.post("/generate/compare", json=body, headers=csrf(client))
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    mine, reference = result["rows"]
    assert (mine["role"], mine["name"], reference["name"]) == ("mine", "tiny-mine", "tiny")
    assert result["seed"] == 7 and mine["text"] and mine["text"] == reference["text"]   # same weights, same seed
    assert reference["test_bits_per_character"] == 3.25 and mine["test_bits_per_character"] is None
    assert mine["memorisation"]["span_words"] == 8

    # The learner's sampler: refused while exercise 6 is a stub, then the same text once it is done.
    stub = exercises.get(6)
    (learner / stub.filename).write_text(exercises.stub_for(stub), encoding="utf-8")
    refused = client.post("/generate/compare", json={**body, "sampler": "exercise"}, headers=csrf(client))
    assert refused.status_code == 422 and "Exercise 6 is not finished" in refused.get_json()["error"]["message"]
    shutil.copy2(stub.solution_path, learner / stub.filename)
    own = client.post("/generate/compare", json={**body, "sampler": "exercise"}, headers=csrf(client)).get_json()
    assert own["sampler"] == "exercise" and own["rows"][0]["text"] == mine["text"]


def test_bad_comparison_requests_are_explained(app_with_two_models):
    app, _, _ = app_with_two_models
    client = app.test_client()
    headers = csrf(client)
    body = {"prompt": "La nuit", "mine": "tiny-mine", "reference": "tiny"}
    refused = client.post("/generate/compare", json=body)                                  # no CSRF token
    assert refused.status_code == 403 and "rechargez la page" in refused.get_json()["error"]["message"]
    for change, field in (({"mine": "../etc"}, "mine"), ({"reference": None}, "reference"),
                          ({"sampler": "mine"}, "sampler"), ({"temperature": 0}, "temperature"),
                          ({"prompt": "  "}, "prompt")):
        answer = client.post("/generate/compare", json={**body, **change}, headers=headers)
        assert answer.status_code == 422 and answer.get_json()["error"]["field"] == field, change
    answer = client.post("/generate/compare", data="{", headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 400


def test_public_mode_offers_no_comparison(app_with_two_models):
    _, data, _ = app_with_two_models
    public = create_app({"DATA_DIR": str(data), "PUBLIC": True, "TESTING": True})
    client = public.test_client()
    assert "compare-form" not in client.get("/generate").get_data(as_text=True)
    assert client.post("/generate/compare", json={}).status_code in (403, 404, 405)
    # The memorisation check is for every writer.
    assert client.post("/generate/memorisation", json={"text": " ".join(TRAIN[:2])}).get_json()["share"] == 1.0
    public.extensions["aurore_generation"].close()


def test_the_memorisation_check_answers_for_any_text(app_with_two_models):
    app, data, _ = app_with_two_models
    client = app.test_client()
    copied = client.post("/generate/memorisation", json={"text": " ".join(TRAIN[:2])}).get_json()
    assert copied["available"] and copied["share"] == 1.0 and copied["examples"]
    own = client.post("/generate/memorisation", json={"text": sentences()[0] + " " + sentences()[1]}).get_json()
    assert own["copied"] == 0
    assert client.post("/generate/memorisation", json={"texte": "x"}).status_code == 422
    shutil.rmtree(data / "dataset")
    missing = client.post("/generate/memorisation", json={"text": "La nuit était douce."}).get_json()
    assert missing["available"] is False and "python -m aurore prepare" in missing["reason"]


def test_the_learner_s_sampler_never_runs_in_the_server(app_with_two_models):
    """A learner's file that exits at import (SystemExit) once hung the comparison: it runs in a limited child."""
    import sys

    app, data, learner = app_with_two_models
    client = app.test_client()
    exercise = exercises.for_step("generate")
    (learner / exercise.filename).write_text("import sys\nsys.exit('bye')\n", encoding="utf-8")
    before = {name for name in sys.modules if name.startswith("aurore_exercise_")}   # other tests' imports
    body = {"prompt": "La nuit", "seed": 7, "max_new_tokens": 5, "mine": "tiny-mine", "reference": "tiny",
            "sampler": "exercise"}
    answer = client.post("/generate/compare", json=body, headers=csrf(client))
    assert answer.status_code == 422, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["field"] == "sampler" and "SystemExit" in error["message"] and "bye" in error["message"]
    assert not [name for name in sys.modules if name.startswith("aurore_exercise_") and name not in before]
    # The server goes on: the reference sampler still writes.
    assert client.post("/generate/compare", json={**body, "sampler": "solution"},
                       headers=csrf(client)).status_code == 200


def test_a_learner_s_sampler_that_hangs_is_stopped(app_with_two_models):
    import time

    app, data, learner = app_with_two_models
    app.config["SAMPLER_WALL_SECONDS"] = 20
    client = app.test_client()
    (learner / exercises.for_step("generate").filename).write_text("import time\ntime.sleep(10_000)\n")
    body = {"prompt": "La nuit", "max_new_tokens": 5, "mine": "tiny-mine", "reference": "tiny", "sampler": "exercise"}
    started = time.monotonic()
    answer = client.post("/generate/compare", json=body, headers=csrf(client))
    assert answer.status_code == 422 and "longer than 20 s" in answer.get_json()["error"]["message"]
    assert time.monotonic() - started < 120
