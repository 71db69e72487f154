"""The run page's generate step: the prompt is shown and chosen on the page and opens the written text;
"Latest runs" shows the job from its start, with its live status in French (never a stale "running")."""

import sys
import textwrap

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FAKE_GENERATE = textwrap.dedent('''\
    """A stand-in for `python -m aurore generate --prompt P`: the same JSON events."""
    import json, sys, time
    def emit(**event):
        print(json.dumps(event, ensure_ascii=False), flush=True)
    emit(event="prompt", text=sys.argv[1])
    time.sleep(1.5)                     # long enough for the page to show the job running
    for piece in [" et", " la", " lune", " se", " leva."]:
        emit(event="piece", text=piece)
        time.sleep(0.05)
''')


def test_the_prompt_is_chosen_shown_and_the_history_is_live(live_server, page, tmp_path):
    script = tmp_path / "fake_generate.py"
    script.write_text(FAKE_GENERATE, encoding="utf-8")
    steps = {"generate": {"title": {"fr": "Générer", "en": "Generate"},
                          "argv": [sys.executable, str(script), "{prompt}"],
                          "options": {"prompt": {"default": "Il était une fois", "max_length": 500}}}}
    server = live_server({"WORKSHOP_STEPS": steps, "CHECK_WORKER": False, "ENV_GPU_PROBE": False})
    page.goto(server.url + "/run?step=generate")
    prompt = page.locator("#run-prompt")
    expect(prompt).to_be_visible()
    expect(prompt).to_have_value("Il était une fois")
    prompt.fill("La nuit tombait")
    page.click("#run-button")

    entry = page.locator("#history li[data-job-id]").first
    expect(entry.locator(".badge")).to_have_text("en cours")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(page.locator("#job-text .job-prompt")).to_have_text("La nuit tombait")
    expect(page.locator("#job-text")).to_have_text("La nuit tombait et la lune se leva.")
    expect(entry.locator(".badge")).to_have_text("réussi")           # live, without a reload
    expect(entry.locator(".badge")).to_have_class("badge ok")

    page.select_option("#run-step", "train")           # the prompt belongs to generate
    expect(prompt).to_be_hidden()
    page.reload()
    expect(page.locator("#history li[data-job-id] .badge").first).to_have_text("réussi")
    badges = page.locator("#history .badge").all_inner_texts()
    assert not {"running", "succeeded", "failed"} & set(badges), badges
