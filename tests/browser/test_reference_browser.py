"""The reference model from the home page (offer, live progress that survives a reload, done) and the
comparison's budgets, in Chromium against the real server. The background job is a fake step (a script that
reports progress, waits for the test, then leaves a model folder): the real pipeline is tests/test_reference.py's."""

import json

import pytest
from playwright.sync_api import expect

from aurore.web.workshop import jobs
from tests.fake_generator import make_fake_model_dirs

pytestmark = pytest.mark.browser

FAKE_REFERENCE = '''\
import json, os, pathlib, sys, time
go = pathlib.Path(sys.argv[1])
print(json.dumps({"event": "progress", "task": "Entraînement", "done": 3, "total": 12, "unit": "pas"}), flush=True)
while not go.exists():
    time.sleep(0.1)
model = pathlib.Path(os.environ["AURORE_DATA"]) / "models" / "tiny"
(model / "tokenizer").mkdir(parents=True)
(model / "aurore.json").write_text("{}")
(model / "model.weights.h5").write_bytes(b"")
(model / "metrics.jsonl").write_text(json.dumps({"step": 12, "seconds": 300.0}) + "\\n")
'''


def metrics(folder, minutes: float, steps: int) -> None:
    (folder / "metrics.jsonl").write_text(json.dumps({"step": steps, "seconds": minutes * 60}) + "\n",
                                          encoding="utf-8")


def test_the_home_page_trains_the_reference_in_the_background(live_server, page, tmp_path, screenshot):
    script, go = tmp_path / "fake_reference.py", tmp_path / "go"
    script.write_text(FAKE_REFERENCE, encoding="utf-8")
    step = {**jobs.reference_step("tiny", 5), "argv": ["{python}", str(script), str(go)]}
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False,
                          "WORKSHOP_STEPS": {jobs.REFERENCE_STEP: step}})
    page.goto(server.url + "/")
    section = page.locator("#reference")
    expect(section).to_have_attribute("data-state", "offer")
    expect(section).to_contain_text("5\u00a0min d'entraînement, le temps qu'aura votre propre entraînement")
    screenshot(page, "home-reference-offer", publish=True, full_page=False)

    page.locator("#reference-start").click()
    expect(section).to_have_attribute("data-state", "running")
    expect(page.locator("#reference-progress")).to_have_text("Entraînement\u00a0: 3 / 12 pas")
    expect(page.locator("#reference-bar")).to_have_attribute("max", "12")
    screenshot(page, "home-reference-progress", publish=True, full_page=False)
    page.reload()                                            # the job is on disk: the line follows it again
    expect(page.locator("#reference-progress")).to_have_text("Entraînement\u00a0: 3 / 12 pas")
    # Another page answers meanwhile.
    assert page.request.get(server.url + "/exercises").ok

    go.write_text("go", encoding="utf-8")                     # the job ends: the page says the model is there
    expect(section).to_have_attribute("data-state", "done", timeout=20_000)
    expect(section).to_contain_text("Le modèle de référence est entraîné (models/tiny).")
    expect(section).to_contain_text("Il s'est entraîné 5\u00a0min, 12\u00a0pas.")
    expect(page.locator("#reference-start")).to_have_count(0)
    screenshot(page, "home-reference-done", publish=True, full_page=False)


def test_a_kits_reference_offers_nothing(live_server, page, tmp_path, screenshot):
    data = tmp_path / "data"
    make_fake_model_dirs(data / "models", ["cpu"])
    metrics(data / "models" / "cpu", 15, 6092)
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False}, data=data)
    page.goto(server.url + "/")
    expect(page.locator("#reference")).to_have_attribute("data-state", "present")
    expect(page.locator("#reference")).to_contain_text("kit hors ligne")
    expect(page.locator("#reference-start")).to_have_count(0)
    # The run page keeps its time for the first training, and says how to match the reference's.
    page.goto(server.url + "/run?step=train")
    expect(page.locator("#run-minutes")).to_have_value("5")
    expect(page.locator("#run-minutes-why")).to_contain_text("s'est entraînée 15\u00a0min\u00a0; cette page propose 5")
    screenshot(page, "run-reference-time", publish=True, full_page=False)
    # Starting a training sends that time (the note beside the field is not an option).
    sent = []

    def answer(route):
        sent.append(route.request.post_data_json)
        route.fulfill(status=409, content_type="application/json",
                      body=json.dumps({"error": {"message": "occupé", "type": "server_busy"}}))

    page.route("**/jobs", answer)
    page.locator("#run-button").click()
    expect(page.locator("#run-error")).to_have_text("occupé")
    assert sent[0]["step"] == "train" and sent[0]["options"]["max_minutes"] == 5


def test_the_comparison_says_the_budgets_differ(live_server, page, tmp_path, screenshot):
    data = tmp_path / "data"
    make_fake_model_dirs(data / "models", ["tiny", "tiny-mine"])
    metrics(data / "models" / "tiny", 15, 6092)
    metrics(data / "models" / "tiny-mine", 5, 2000)
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False}, data=data)
    page.goto(server.url + "/generate")
    budget = page.locator("#compare-budget")
    expect(budget).to_contain_text("votre modèle s'est entraîné 5\u00a0min, la référence 15\u00a0: "
                                   "l'écart vient aussi de là")
    expect(page.locator(".compare-column[data-role=mine] .compare-training")).to_have_text(
        "5\u00a0min d'entraînement, 2\u202f000\u00a0pas")
    expect(page.locator(".compare-column[data-role=reference] .compare-training")).to_have_text(
        "15\u00a0min d'entraînement, 6\u202f092\u00a0pas")
    page.locator("#compare").scroll_into_view_if_needed()
    screenshot(page, "comparison-budgets", publish=True, full_page=True)
