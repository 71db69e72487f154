"""« Ce que le modèle regarde » through the app: POST /generate/attention (the real tiny model)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from aurore.course.checks import learner_attention
from aurore.store import modeldir
from aurore.web import create_app
from aurore.web.workshop import learner_progress
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)

TEXT = "La nuit était douce et la lune éclairait la vallée."


@pytest.fixture
def app(tiny_model_dir, tmp_path, monkeypatch):  # noqa: F811
    data = tmp_path / "data"
    modeldir.copy(tiny_model_dir, data / "models" / "tiny")
    learner = tmp_path / "exercises"
    learner.mkdir()
    monkeypatch.setenv("AURORE_EXERCISES", str(learner))
    app = create_app({"DATA_DIR": str(data), "TESTING": True, "CHECK_WORKER": False})
    app.config["LEARNER_DIR"] = learner
    yield app
    app.extensions["aurore_generation"].close()


def csrf(client) -> dict:
    page = client.get("/generate").get_data(as_text=True)
    return {"X-CSRF-Token": page.split('name="csrf-token" content="')[1].split('"')[0]}


def test_the_page_has_the_panel_in_workshop_mode_only(app, tiny_model_dir, tmp_path):  # noqa: F811
    page = app.test_client().get("/generate").get_data(as_text=True)
    assert 'id="attention"' in page and "Ce que le modèle regarde" in page
    assert "vendor/echarts/echarts.min.js" in page and "js/writers-attention.js" in page
    public = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True, "PUBLIC": True})
    try:
        client = public.test_client()
        page = client.get("/generate").get_data(as_text=True)
        assert 'id="attention"' not in page and "echarts" not in page
        assert client.post("/generate/attention", json={"model": "tiny", "text": TEXT}).status_code == 404
    finally:
        public.extensions["aurore_generation"].close()


def test_the_reference_draws_the_map_of_the_head_asked_for(app):
    client = app.test_client()
    answer = client.post("/generate/attention", json={"model": "tiny", "text": TEXT, "layer": 2, "head": 1},
                         headers=csrf(client))
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    assert (result["model"], result["layer"], result["head"], result["layers"], result["heads"]) == ("tiny", 2, 1, 2, 2)
    assert result["function"] == "reference" and 0 <= result["difference"] <= result["tolerance"] == 1e-4
    weights = np.asarray(result["weights"])
    assert weights.shape == (len(result["pieces"]),) * 2 and "".join(result["pieces"]) == TEXT
    assert np.allclose(weights.sum(axis=1), 1, atol=1e-4) and not np.triu(weights, k=1).any()
    other = client.post("/generate/attention", json={"model": "tiny", "text": TEXT, "layer": 2, "head": 2},
                        headers=csrf(client)).get_json()
    assert other["weights"] != result["weights"]


@pytest.mark.parametrize("body, status, field, message", [
    ({"text": TEXT}, 400, "model", "`model` must name a trained model; available: tiny."),
    ({"model": "nope", "text": TEXT}, 400, "model", "`model` must name a trained model; available: tiny."),
    ({"model": "tiny"}, 400, "text", "Send `text`"),
    ({"model": "tiny", "text": "  "}, 400, "text", "Send `text`"),
    ({"model": "tiny", "text": "a" * 20_001}, 400, "text", "`text` is too long (20001 characters; at most 20000)."),
    ({"model": "tiny", "text": TEXT, "layer": 3}, 400, "layer",
     "There is no layer 3: this model has 2 layers, numbered 1 to 2."),
    ({"model": "tiny", "text": TEXT, "head": 9}, 400, "head",
     "There is no head 9: this model has 2 heads, numbered 1 to 2."),
    ({"model": "tiny", "text": TEXT, "layer": "2"}, 400, "layer", "`layer` must be a whole number from 1 (not '2')."),
    ({"model": "tiny", "text": TEXT, "head": True}, 400, "head", "`head` must be a whole number from 1 (not True)."),
    ({"model": "tiny", "text": TEXT, "use": "mine"}, 400, "use", "`use` is \"auto\""),
])
def test_bad_requests_are_explained(app, body, status, field, message):
    client = app.test_client()
    answer = client.post("/generate/attention", json=body, headers=csrf(client))
    assert answer.status_code == status
    error = answer.get_json()["error"]
    assert error["field"] == field and error["message"].startswith(message), error


def test_malformed_json_and_a_missing_form_token_are_refused(app):
    client = app.test_client()
    malformed = client.post("/generate/attention", data="{not json", content_type="application/json",
                            headers=csrf(client))
    assert malformed.status_code == 400 and malformed.get_json()["error"]["code"] == "malformed_json"
    no_token = client.post("/generate/attention", json={"model": "tiny", "text": TEXT})
    assert no_token.status_code == 403 and "error" in no_token.get_json()


def test_the_learners_function_draws_once_its_check_passed(app):
    """Before the check passes, the reference; after, the learner's (in the limited process)."""
    client = app.test_client()
    body = {"model": "tiny", "text": TEXT, "layer": 1, "head": 2}
    before = client.post("/generate/attention", json=body, headers=csrf(client)).get_json()
    assert before["function"] == "reference"
    item = learner_attention.exercise()
    learner = app.config["LEARNER_DIR"]
    shutil.copy2(item.solution_path, learner / item.filename)
    learner_progress.record_check(app.config["DATA_DIR"], item.number, {"all_passed": True, "passed": 1})
    after = client.post("/generate/attention", json=body, headers=csrf(client)).get_json()
    assert after["function"] == "exercise" and after["weights"] == before["weights"]
    forced = client.post("/generate/attention", json={**body, "use": "solution"}, headers=csrf(client)).get_json()
    assert forced["function"] == "reference"
    # A learner's file that no longer reproduces the layer (no scaling) is refused, with the measured difference.
    source = item.solution_path.read_text(encoding="utf-8")
    (learner / item.filename).write_text(source + "\n\n_right = multi_head_attention\n"
                                         "def multi_head_attention(x, params, num_heads):\n"
                                         "    output, weights = _right(x, params, num_heads)\n"
                                         "    return output * 1.5, weights\n", encoding="utf-8")
    refused = client.post("/generate/attention", json=body, headers=csrf(client))
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "attention_mismatch"
    assert "does not reproduce layer 1" in refused.get_json()["error"]["message"]
