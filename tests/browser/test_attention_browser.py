"""Exercise 4 in a real browser: its lesson, its hint ladders, and a leaking mask named by the check.

The learner's file holds the solution with one classic mistake planted (the
mask lets each token see the next one): the page's check must say which
token saw which. The screenshot (French) goes to docs/screenshots/.
"""

import pytest
from playwright.sync_api import expect

from aurore.course import exercises

pytestmark = pytest.mark.browser

CHECK_SECONDS = 240     # the checks import TensorFlow: slow on a loaded 2-core machine


def test_the_attention_exercise_names_the_token_that_sees_the_future(live_server, page, screenshot):
    server = live_server()
    attention = exercises.get(4)
    leaking = exercises.pick_language(attention.solution_path.read_text(encoding="utf-8"), "fr").replace(
        "ops.expand_dims(positions, 0) <= ops.expand_dims(positions, 1)",
        "ops.expand_dims(positions, 0) <= ops.expand_dims(positions, 1) + 1")
    assert "+ 1" in leaking
    (server.exercises / attention.filename).write_text(leaking, encoding="utf-8")

    page.goto(server.url + "/exercises/4")
    expect(page.locator("h1")).to_contain_text("L'attention, à la main")
    expect(page.get_by_role("heading", name="Le masque causal, puis le softmax")).to_be_visible()
    expect(page.get_by_text("sac de jetons")).to_be_visible()
    expect(page.locator(".hint-ladder")).to_have_count(len(attention.hints))
    ladder = page.locator(".hint-ladder").first
    ladder.locator(".hint-button").click()
    expect(ladder.locator(".hint").first).to_be_visible()

    page.click("#check-button")
    expect(page.locator("#exercise")).to_have_attribute("data-state", "failed", timeout=CHECK_SECONDS * 1000)
    expect(page.get_by_text("le jeton 0 voit le jeton 1").first).to_be_visible()
    screenshot(page, "exercise-04-attention", publish=True)
