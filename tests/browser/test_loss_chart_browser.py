"""The run page's loss chart (uPlot, static/js/workshop-chart.js) in a real browser.

A fake training streams training points, a validation point, more training
points, a second validation point and more training points: the chart must keep
every training point (an evaluation once wiped the curve, leaving a straight
line from the first evaluation on), show validation as its own series, label its
axes, show values on hover, describe the last point in words, and fit a phone.
"""

import math
import sys
import textwrap

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

STEPS, EVALUATIONS = 24, (8, 16)

FAKE_TRAINING = textwrap.dedent(f'''\
    """Training points, then a validation point, then more training points: the events of `aurore train`."""
    import json, math, time
    def emit(**event):
        print(json.dumps(event), flush=True)
    for step in range(1, {STEPS} + 1):
        time.sleep(0.02)
        loss = 6.5 * math.exp(-step / 6) + 2.2
        emit(event="progress", task="Training", done=step, total={STEPS}, unit="step", metrics={{"loss": loss}})
        if step in {EVALUATIONS!r}:
            emit(event="metrics", step=step, loss=round(loss, 5), val_loss=round(loss + 0.3, 5),
                 message=f"step {{step}}: loss {{loss:.4f}}, validation loss {{loss + 0.3:.4f}}")
    emit(event="log", message="Training finished.")
''')


def training_loss(step: int) -> float:
    return 6.5 * math.exp(-step / 6) + 2.2


def french(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def plot_state(page) -> dict:
    """What uPlot holds and shows: data, series labels, axis labels and tick labels, sizes."""
    return page.evaluate("""() => {
        const plot = document.getElementById("loss-chart").uplot;
        return { data: plot.data.map((column) => Array.from(column, (v) => (v === undefined ? null : v))),
                 series: plot.series.map((s) => s.label), axes: plot.axes.map((a) => a.label),
                 ticks: plot.axes.map((a) => a._values || []),   // the tick labels drawn at the last redraw
                 width: plot.width, canvasWidth: plot.ctx.canvas.width };
    }""")


def legend_values(page) -> list[str]:
    return page.locator("#loss-chart .u-legend .u-series .u-value").all_inner_texts()


def start_fake_training(live_server, page, tmp_path):
    script = tmp_path / "fake_training.py"
    script.write_text(FAKE_TRAINING, encoding="utf-8")
    server = live_server({"WORKSHOP_STEPS": {"fake-train": {"title": {"fr": "Entraînement (factice)",
                                                                      "en": "Training (fake)"},
                                                            "argv": [sys.executable, str(script)]}}})
    page.goto(server.url + "/run?step=fake-train")
    page.check("input[name=variant][value=solution]")
    page.click("#run-button")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=30_000)
    # Every event came before the end of the run; the chart draws them at the next animation frame.
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def test_the_chart_keeps_every_training_point_beside_the_validation_points(live_server, page, tmp_path, screenshot):
    start_fake_training(live_server, page, tmp_path)
    state = plot_state(page)

    steps, training, validation = state["data"]
    assert steps == list(range(1, STEPS + 1))
    assert training == pytest.approx([training_loss(step) for step in steps], abs=1e-4)   # no wipe
    assert [step for step, value in zip(steps, validation) if value is not None] == list(EVALUATIONS)
    assert [value for value in validation if value is not None] == pytest.approx(
        [training_loss(step) + 0.3 for step in EVALUATIONS], abs=1e-4)
    assert state["series"] == ["pas", "entraînement", "validation"]
    assert state["axes"] == ["pas", "perte"]
    step_ticks, loss_ticks = state["ticks"]
    assert len(step_ticks) >= 3 and all(tick.isdigit() for tick in step_ticks), step_ticks
    assert len(loss_ticks) >= 3 and all(tick.replace(",", "").isdigit() for tick in loss_ticks), loss_ticks

    # The text alternative: the chart is an image described by a sentence on its last point.
    chart = page.locator("#loss-chart")
    expect(chart).to_have_attribute("role", "img")
    expect(chart).to_have_attribute("aria-label", "Courbe de la perte par pas : entraînement et validation")
    expect(chart).to_have_attribute("aria-describedby", "loss-summary")
    last_check = EVALUATIONS[-1]
    expect(page.locator("#loss-summary")).to_have_text(
        f"Pas {STEPS} : perte d'entraînement {french(training_loss(STEPS))} ; "
        f"validation {french(training_loss(last_check) + 0.3)} (pas {last_check}).")

    # Hovering a validation point shows the step and both losses in the legend.
    x, y = page.evaluate(f"""() => {{
        const plot = document.getElementById("loss-chart").uplot, box = plot.over.getBoundingClientRect();
        return [box.left + plot.valToPos({last_check}, "x"), box.top + plot.valToPos(plot.data[2][{last_check - 1}], "y")];
    }}""")
    page.mouse.move(x, y)
    expect(page.locator("#loss-chart .u-legend .u-series").first.locator(".u-value")).to_have_text(str(last_check))
    _, shown_training, shown_validation = legend_values(page)
    assert float(shown_training.replace(",", ".")) == pytest.approx(training_loss(last_check), abs=1e-3)
    assert float(shown_validation.replace(",", ".")) == pytest.approx(training_loss(last_check) + 0.3, abs=1e-3)
    screenshot(page, "training-chart", publish=True)

    # Between evaluations the training value shows; validation reaches only its nearby points.
    page.mouse.move(*page.evaluate("""() => {
        const plot = document.getElementById("loss-chart").uplot, box = plot.over.getBoundingClientRect();
        return [box.left + plot.valToPos(3, "x"), box.top + plot.valToPos(plot.data[1][2], "y")];
    }"""))
    expect(page.locator("#loss-chart .u-legend .u-series").first.locator(".u-value")).to_have_text("3")
    assert legend_values(page)[1] != "—"

    # The chart follows its container's width (a narrower window).
    page.set_viewport_size({"width": 700, "height": 900})
    page.wait_for_function("() => document.getElementById('loss-chart').uplot.width < 700")


def test_the_chart_fits_a_phone_and_is_sharp_on_its_dense_screen(live_server, phone_page, tmp_path, screenshot):
    start_fake_training(live_server, phone_page, tmp_path)
    state = plot_state(phone_page)
    assert state["data"][0] == list(range(1, STEPS + 1))
    assert all(state["ticks"]), state["ticks"]
    assert 250 <= state["width"] < 375, state["width"]
    assert state["canvasWidth"] == pytest.approx(2 * state["width"], abs=2)   # drawn at the screen's density
    assert phone_page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), \
        "the run page scrolls sideways on a phone"
    box = phone_page.locator("#loss-chart").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    screenshot(phone_page, "training-chart-phone", publish=True)
