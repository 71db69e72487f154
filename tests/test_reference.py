"""The reference model in the background (home page), the comparison's budgets, the run page's training time.

The real job runs `python -m aurore pipeline --use solution` with the tiny preset on the tiny dataset
(tiny_sand): the dataset is there, so the pipeline builds the tokenizer, trains, writes and evaluates.
"""

from __future__ import annotations

import html
import json
import os
import time
from pathlib import Path

import pytest

from aurore.store import modeldir
from aurore.training import resumable
from aurore.web import create_app
from aurore.web.workshop import jobs, reference
from aurore.web.writers import comparison
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)
from tiny_sand import make_dataset

NBSP = "\u00a0"
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")


def csrf(client, page: str = "/") -> dict:
    html = client.get(page).get_data(as_text=True)
    return {"X-CSRF-Token": html.split('name="csrf-token" content="')[1].split('"')[0]}


def home_state(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return html.split('id="reference" data-state="')[1].split('"')[0]


def wait_for(client, job_id: str, statuses, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        record = client.get(f"/jobs/{job_id}?after=1000000000").get_json()["job"]
        if record["status"] in statuses or time.monotonic() > deadline:
            return record
        time.sleep(0.2)


def write_metrics(model: Path, minutes: float, steps: int) -> None:
    """What a training leaves in metrics.jsonl: one line per evaluation (the last one counts)."""
    lines = [{"step": steps // 2, "seconds": 30.0, "val_loss": 3.0},
             {"step": steps, "seconds": minutes * 60, "val_loss": 2.5}]
    (model / resumable.METRICS_FILE).write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def place_model(source: Path, folder: Path, minutes: float, steps: int) -> Path:
    modeldir.copy(source, folder)
    write_metrics(folder, minutes, steps)
    return folder


# -- the background job, for real (tiny preset) ----------------------------------------------------------
def test_the_reference_trains_in_the_background_while_the_pages_answer(tmp_path):
    data = tmp_path / "data"
    make_dataset(data / "dataset", repeat=3)
    app = create_app({"DATA_DIR": str(data), "TESTING": True, "CHECK_WORKER": False,
                      "WORKSHOP_STEPS": {jobs.REFERENCE_STEP: jobs.reference_step("tiny", 1)}})
    client = app.test_client()
    page = html.unescape(client.get("/").get_data(as_text=True))
    assert home_state(client) == "offer" and 'id="reference-start"' in page
    assert f"1{NBSP}min d'entraînement" in page

    answer = client.post("/jobs", json={"step": "reference", "variant": "solution"}, headers=csrf(client))
    assert answer.status_code == 201, answer.get_json()
    job = answer.get_json()
    assert job["argv"][1:] == ["-m", "aurore", "pipeline", "--use", "solution", "--preset", "tiny", "--max-minutes", "1"]
    # A page answers while the job runs: the job is a child process, not the request thread.
    page = client.get("/").get_data(as_text=True)
    assert client.get(f"/jobs/{job['id']}").get_json()["job"]["status"] == "running"
    assert 'data-state="running"' in page and f'data-job="{job["id"]}"' in page and 'id="reference-bar"' in page
    assert client.get("/exercises").status_code == 200
    # What the home page reads is the job's record on disk (a reload, another tab find it).
    assert json.loads((data / "jobs" / job["id"] / "job.json").read_text(encoding="utf-8"))["step"] == "reference"

    record = wait_for(client, job["id"], FINISHED, 600)
    assert record["status"] == "succeeded", client.get(f"/jobs/{job['id']}").get_json()["events"][-10:]
    assert modeldir.is_model_dir(data / "models" / "tiny")
    page = html.unescape(client.get("/").get_data(as_text=True))
    assert home_state(client) == "done" and 'id="reference-start"' not in page
    facts = reference.training_facts(data / "models" / "tiny")
    assert facts["steps"] == 12 and facts["minutes"] is not None and facts["test_bits_per_character"] > 0
    assert "12\u00a0pas" in page and "bits par caractère sur le livre de test" in page


# -- the home page's states ------------------------------------------------------------------------------
FAKE = '''\
import json, sys, time
print(json.dumps({"event": "progress", "task": "Entraînement", "done": 3, "total": 12, "unit": "pas"}), flush=True)
time.sleep(float(sys.argv[1]))
sys.exit(int(sys.argv[2]))
'''


@pytest.fixture
def fake_reference(tmp_path):
    """An app whose reference step is a fake script: `make(seconds, status)` sleeps then exits with `status`."""
    script = tmp_path / "fake_reference.py"
    script.write_text(FAKE, encoding="utf-8")
    data = tmp_path / "data"

    def make(seconds: float = 0.0, status: int = 0):
        step = {**jobs.reference_step("tiny", 5), "argv": ["{python}", str(script), str(seconds), str(status)]}
        return create_app({"DATA_DIR": str(data), "TESTING": True, "CHECK_WORKER": False,
                           "WORKSHOP_STEPS": {jobs.REFERENCE_STEP: step}})
    return make, data


def test_home_offers_then_follows_then_reports_a_failure(fake_reference):
    make, data = fake_reference
    client = make(seconds=60).test_client()
    assert home_state(client) == "offer"
    job = client.post("/jobs", json={"step": "reference", "variant": "solution"}, headers=csrf(client)).get_json()
    deadline = time.monotonic() + 30
    record = job
    while not record.get("progress") and time.monotonic() < deadline:
        time.sleep(0.1)
        record = client.get(f"/jobs/{job['id']}").get_json()["job"]
    assert record["progress"] == {"task": "Entraînement", "done": 3, "total": 12, "unit": "pas", "metrics": None}
    assert home_state(client) == "running"
    # It yields the CPU: the checks and the learner's runs come first.
    assert os.getpriority(os.PRIO_PROCESS, record["pid"]) >= jobs.REFERENCE_NICE
    # The learner's own runs wait for it: one job at a time, said plainly.
    refused = client.post("/jobs", json={"step": "train", "variant": "exercise"}, headers=csrf(client))
    assert refused.status_code == 409 and "reference" in refused.get_json()["error"]["message"]
    client.post(f"/jobs/{job['id']}/cancel", headers=csrf(client))
    assert wait_for(client, job["id"], FINISHED, 30)["status"] == "cancelled"
    page = client.get("/").get_data(as_text=True)
    assert home_state(client) == "failed" and 'id="reference-start"' in page and "annulé" in page


def test_a_kits_reference_is_said_and_nothing_is_offered(fake_reference, tiny_model_dir):  # noqa: F811
    make, data = fake_reference
    place_model(tiny_model_dir, data / "models" / "tiny", minutes=15, steps=6092)
    client = make().test_client()
    page = html.unescape(client.get("/").get_data(as_text=True))
    assert home_state(client) == "present" and 'id="reference-start"' not in page
    assert "kit hors ligne" in page and f"15{NBSP}min, 6\u202f092{NBSP}pas" in page
    english = html.unescape(client.get("/?lang=en").get_data(as_text=True))
    assert "already here (models/tiny" in english and "It trained 15 min, 6,092 steps." in english


def test_the_run_page_does_not_offer_the_reference_as_a_step(fake_reference):
    make, _ = fake_reference
    page = make().test_client().get("/run").get_data(as_text=True)
    assert 'value="reference"' not in page and 'value="train"' in page


# -- the run page's training time: the reference's ------------------------------------------------------
def minutes_field(page: str) -> str:
    return page.split('id="run-minutes" value="')[1].split('"')[0]


def test_the_learners_training_time_is_the_background_references(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "CHECK_WORKER": False, "TRAIN_MAX_MINUTES": 7})
    steps = app.extensions["aurore_jobs"].steps
    assert steps[jobs.REFERENCE_STEP]["minutes"] == steps["train"]["options"]["max_minutes"]["default"] == 7
    assert steps[jobs.REFERENCE_STEP]["argv"][-2:] == ["--max-minutes", "7"]
    page = app.test_client().get("/run?lang=en").get_data(as_text=True)
    assert minutes_field(page) == "7" and 'data-source="default"' in page
    assert "The reference gets 7 min of training too" in page


def test_a_reference_trained_longer_keeps_the_pages_time_and_says_why(tmp_path, tiny_model_dir):  # noqa: F811
    """A kit's reference (15 min by the command line): the page keeps its 5 minutes (the timetable's first
    training) and says how to get an even match."""
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "CHECK_WORKER": False})
    place_model(tiny_model_dir, tmp_path / "models" / "cpu", minutes=14.8, steps=6092)
    page = app.test_client().get("/run?lang=en").get_data(as_text=True)
    assert minutes_field(page) == "5" and 'data-source="reference"' in page
    assert "The reference (models/cpu) trained 15 min; this page proposes 5" in page
    assert "train yours 15 min too (Start over ticked)" in page
    # Within half a minute of the default: the same budget, said so.
    write_metrics(tmp_path / "models" / "cpu", minutes=5.2, steps=2000)
    page = app.test_client().get("/run?lang=en").get_data(as_text=True)
    assert minutes_field(page) == "5" and 'data-source="default"' in page
    assert "The reference gets 5 min of training too" in page


# -- the comparison's budgets -----------------------------------------------------------------------------
@pytest.mark.parametrize(("mine", "theirs", "same"), [(5, 15, False), (5, 5.3, True), (15, 14, True), (0.5, 1.5, False)])
def test_same_budget(mine, theirs, same):
    assert reference.same_budget(mine, theirs) is same


def test_the_comparison_says_when_the_budgets_differ(tmp_path, tiny_model_dir):  # noqa: F811
    data = tmp_path / "data"
    place_model(tiny_model_dir, data / "models" / "tiny", minutes=15, steps=6092)
    place_model(tiny_model_dir, data / "models" / "tiny-mine", minutes=5, steps=2000)
    make_dataset(data / "dataset")
    app = create_app({"DATA_DIR": str(data), "TESTING": True, "CHECK_WORKER": False})
    try:
        client = app.test_client()
        page = html.unescape(client.get("/generate").get_data(as_text=True))
        budget = page.split('id="compare-budget">')[1].split("</p>")[0]
        assert f"votre modèle s'est entraîné 5{NBSP}min, la référence 15{NBSP}: l'écart vient aussi de là" in budget
        assert "seules leurs connaissances diffèrent" not in page
        mine_column = page.split('data-role="mine"')[1].split("</article>")[0]
        reference_column = page.split('data-role="reference"')[1].split("</article>")[0]
        assert f"5{NBSP}min d'entraînement, 2\u202f000{NBSP}pas" in mine_column
        assert f"15{NBSP}min d'entraînement, 6\u202f092{NBSP}pas" in reference_column
        pairs = json.loads(page.split('id="compare-budgets">')[1].split("</script>")[0])
        assert list(pairs) == ["tiny-mine|tiny"]

        # The same budget: said so, and then only what they learnt differs.
        write_metrics(data / "models" / "tiny-mine", minutes=15.2, steps=6000)
        english = client.get("/generate?lang=en").get_data(as_text=True)
        budget = english.split('id="compare-budget">')[1].split("</p>")[0]
        assert "the same training time (15 min, 15 min): only what they learnt differs." in budget

        body = {"prompt": "La nuit", "seed": 3, "max_new_tokens": 5, "mine": "tiny-mine", "reference": "tiny"}
        answer = client.post("/generate/compare?lang=en", json=body, headers=csrf(client, "/generate"))
        assert answer.status_code == 200, answer.get_json()
        result = answer.get_json()
        assert [row["minutes"] for row in result["rows"]] == [pytest.approx(15.2), 15]
        assert "only what they learnt differs" in result["budget"]
    finally:
        app.extensions["aurore_generation"].close()


def test_budget_sentence_when_a_time_is_not_known_or_the_steps_differ(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "CHECK_WORKER": False})
    with app.test_request_context("/?lang=en"):
        unknown = comparison.budget_sentence({"minutes": None}, {"minutes": 15})
        # The same 15 minutes, on a machine twice as fast (a kit's reference): said too.
        faster = comparison.budget_sentence({"minutes": 15, "steps": 3000}, {"minutes": 15, "steps": 6092})
        close = comparison.budget_sentence({"minutes": 15, "steps": 5000}, {"minutes": 15, "steps": 6092})
    assert "how long each trained is not known" in unknown
    assert "but not as many steps (3,000 against 6,092: another machine or another preset)" in faster
    assert "only what they learnt differs" in close


def test_training_facts_read_the_last_evaluation_and_survive_a_bad_file(tmp_path):
    write_metrics(tmp_path, minutes=2.5, steps=40)
    assert resumable.trained(tmp_path) == {"minutes": 2.5, "steps": 40}
    (tmp_path / resumable.METRICS_FILE).write_text("{not json\n", encoding="utf-8")
    assert resumable.trained(tmp_path) is None
    assert reference.training_facts(tmp_path / "nowhere") == {"minutes": None, "steps": None,
                                                              "test_bits_per_character": None}
