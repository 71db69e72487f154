"""« Ce que le modèle regarde » in a real browser (Debian's Chromium), with the real tiny model.

Write a text, see the panel open with the reference's map drawn by ECharts,
point at a token (the strip) and at a cell (the chart): the page says where
that token looked. Then another head. No error in the console (the pages'
Content-Security-Policy forbids inline styles: the tooltip must do without).
"""

from __future__ import annotations

import re
import threading

import pytest
import waitress
from playwright.sync_api import expect

from aurore.web import create_app
from aurore.web.server import waitress_options
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

LOOKING = re.compile(r"\battention-looking\b")


@pytest.fixture
def workshop_url(tiny_model_dir, tmp_path):  # noqa: F811
    from aurore.generation.generator import SamplingParams
    from aurore.store import modeldir

    data = tmp_path / "data"
    modeldir.copy(tiny_model_dir, data / "models" / "tiny")
    app = create_app({"DATA_DIR": str(data), "CHECK_WORKER": False})
    app.extensions["aurore_generation"].get().submit("La nuit", SamplingParams(max_new_tokens=2, seed=0)).result()
    server = waitress.create_server(app, host="127.0.0.1", port=0, **waitress_options(8))
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    app.extensions["aurore_generation"].close()


def test_after_a_text_the_page_shows_where_each_token_looked(workshop_url, page, screenshot):
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(f"{message.text} at {message.location}") if message.type == "error" else None)
    page.goto(workshop_url + "/generate")
    expect(page.locator("#attention")).to_be_hidden()               # nothing to look at yet

    page.fill("#prompt", "La nuit était douce et")
    page.click("summary")
    page.fill("#max_new_tokens", "12")
    page.fill("#seed", "3")
    page.click("#write")
    expect(page.locator("#status")).to_contain_text("Terminé", timeout=30_000)

    panel = page.locator("#attention")
    expect(panel).to_be_visible()
    expect(panel.locator("h2")).to_have_text("Ce que le modèle regarde")
    about = page.locator("#attention-about")
    expect(about).to_contain_text("Couche 1 sur 2, tête 1 sur 2, calculée par la multi_head_attention de référence")
    expect(about).to_contain_text("toléré\u202f: 0,0001")
    expect(page.locator("#attention-layer option")).to_have_count(2)
    tokens = page.locator(".attention-token")
    count = tokens.count()
    written = page.locator("#output-prompt").text_content() + page.locator("#output-text").text_content()
    assert count > 8
    assert "".join(tokens.all_text_contents()).replace("·", " ") == written     # every token, in order

    # ECharts drew the heatmap: one cell per (token, earlier token), on a canvas.
    expect(page.locator("#attention-chart canvas").first).to_be_visible()
    cells = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('attention-chart'))"
                          ".getOption().series[0].data.length")
    assert cells == count * (count + 1) // 2

    # Pointing at a token: where it looked, in words and as shading of the earlier tokens.
    tokens.nth(5).hover()
    expect(tokens.nth(5)).to_have_class(LOOKING, timeout=5_000)
    sources = page.locator("#attention-sources")
    expect(sources).to_contain_text(f"«\u202f{tokens.nth(5).text_content()}\u202f» a surtout regardé\u202f:")
    weights = [float(value) for value in page.eval_on_selector_all(".attention-token", "els => els.map(e => e.dataset.weight)")]
    assert abs(sum(weights) - 1) < 0.01 and all(weight == 0 for weight in weights[6:])
    heaviest = max(range(6), key=lambda index: weights[index])
    expect(sources).to_contain_text(f"« {tokens.nth(heaviest).text_content()} »")

    # Pointing at a cell of the chart: its tooltip, and its row becomes the token shown.
    box = page.locator("#attention-chart").bounding_box()
    x, y = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('attention-chart'))"
                         ".convertToPixel({seriesIndex: 0}, [1, 3])")
    page.mouse.move(box["x"] + x, box["y"] + y)
    expect(page.locator(".attention-tooltip")).to_contain_text("→")
    expect(tokens.nth(3)).to_have_class(LOOKING)
    expect(sources).to_contain_text(f"«\u202f{tokens.nth(3).text_content()}\u202f» a surtout regardé")
    tokens.nth(count - 1).hover()
    screenshot(page, "writers-attention", publish=True)

    # Another head: another map, said so.
    page.select_option("#attention-head", "2")
    expect(about).to_contain_text("Couche 1 sur 2, tête 2 sur 2")
    page.select_option("#attention-layer", "2")
    expect(about).to_contain_text("Couche 2 sur 2, tête 2 sur 2")
    # The dark theme: the chart is drawn again in its colours.
    page.select_option("#theme-choice", "dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    background = page.evaluate("() => getComputedStyle(document.documentElement).getPropertyValue('--card').trim()")
    colours = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('attention-chart'))"
                            ".getOption().visualMap[0].inRange.color")
    assert colours[0] == background
    screenshot(page, "writers-attention-dark", publish=True)
    assert problems == [], problems
