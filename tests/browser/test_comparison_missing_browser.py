"""« Mon modèle contre la référence » says exactly which model is missing and links to the training that
makes it; the writers' page starts on the learner's own model. Real server, fake model folders (no weights
are loaded: the page only lists them)."""

import os
import time

import pytest
from playwright.sync_api import expect

from tests.fake_generator import make_fake_model_dirs

pytestmark = pytest.mark.browser


def writers_page(live_server, page, tmp_path, models):
    data = tmp_path / "data"
    make_fake_model_dirs(data / "models", models)
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False}, data=data)
    page.goto(server.url + "/generate")
    return server


def test_only_the_reference_missing_leads_to_training_the_reference(live_server, page, tmp_path):
    writers_page(live_server, page, tmp_path, ["cpu-mine"])
    note = page.locator("#compare-none")
    expect(note).to_have_attribute("data-missing", "reference")
    expect(note).to_contain_text("la référence manque")
    expect(note).to_contain_text("cpu-mine")
    expect(note).not_to_contain_text("Mon code")            # never: retrain the learner's model
    note.get_by_role("link").click()
    expect(page.locator("input[name=variant][value=solution]")).to_be_checked()
    expect(page.locator("#run-step")).to_have_value("train")


def test_only_my_model_missing_leads_to_training_mine(live_server, page, tmp_path):
    writers_page(live_server, page, tmp_path, ["tiny"])
    note = page.locator("#compare-none")
    expect(note).to_have_attribute("data-missing", "mine")
    expect(note).to_contain_text("votre modèle manque")
    note.get_by_role("link").click()
    expect(page.locator("input[name=variant][value=exercise]")).to_be_checked()


def test_the_model_list_starts_on_my_model(live_server, page, tmp_path):
    data = tmp_path / "data"
    make_fake_model_dirs(data / "models", ["cpu-mine"])
    time.sleep(0.01)
    make_fake_model_dirs(data / "models", ["tiny"])           # the reference trained last, as in the issue
    later = time.time() + 5
    os.utime(data / "models" / "tiny", (later, later))
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False}, data=data)
    page.goto(server.url + "/generate")
    expect(page.locator("#model")).to_have_value("cpu-mine")
    expect(page.locator("#compare-none")).to_have_count(0)     # both models: the comparison form instead
    expect(page.locator("#compare-mine")).to_have_value("cpu-mine")
