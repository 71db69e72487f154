"""The loss chart on a real training (`aurore train --preset tiny`, run from the run page): every training
loss the run reported stays on the chart beside the validation points, live and on the finished page
after a reload. Issue 28 saw the curve replaced, at the first evaluation, by a straight line between
the evaluations (the page cleared the chart on the first `metrics` event and then dropped the progress
points: fixed in 1d2d267); this test replays the real events, not a stand-in's."""

import json

import pytest
from playwright.sync_api import expect

from aurore.corpus import tokenization
from aurore.store import modeldir
from tiny_sand import TRAIN, make_dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]


def chart_columns(page, points: int):
    """The chart's columns once it holds `points` steps (after a reload the page reads the events again:
    the job's status may be shown before the chart is fed)."""
    page.wait_for_function("""(points) => {
        const chart = document.getElementById("loss-chart");
        return chart && chart.uplot && chart.uplot.data[0].length >= points;
    }""", arg=points, timeout=30_000)
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    return page.evaluate("""() => document.getElementById("loss-chart").uplot.data.map(
        (column) => Array.from(column, (v) => (v === undefined || v === null ? null : v)))""")


def expected_points(events):
    """Step → training loss and step → validation loss, as the run page reads them from the events."""
    training, validation = {}, {}
    for event in events:
        # (The task's label is in the run's language: "Entraînement" from a French page; the page reads the loss.)
        if event["event"] == "progress" and "loss" in (event.get("metrics") or {}):
            training[event["done"]] = event["metrics"]["loss"]
        elif event["event"] == "metrics":
            training[event["step"]] = event["loss"]
            validation[event["step"]] = event["val_loss"]
    return training, validation


def test_a_real_training_keeps_its_whole_curve(live_server, page, tmp_path):
    data = tmp_path / "data"
    make_dataset(data / "dataset", repeat=3)
    modeldir.save_tokenizer(tokenization.byte_level_bpe(TRAIN, 400), data / "tokenizer")
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False}, data=data)
    page.goto(server.url + "/run?step=train&variant=solution")
    page.select_option("#run-preset", "tiny")
    page.click("#run-button")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=600_000)

    [job] = list((data / "jobs").iterdir())
    events = [json.loads(line) for line in (job / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    training, validation = expected_points(events)
    assert len(validation) >= 2 and len(training) > len(validation), (training, validation)

    for moment in ("live", "after a reload"):
        expected_steps = sorted(set(training) | set(validation))
        steps, shown_training, shown_validation = chart_columns(page, len(expected_steps))
        assert steps == expected_steps, moment
        assert {s: v for s, v in zip(steps, shown_training) if v is not None} == pytest.approx(training), moment
        assert {s: v for s, v in zip(steps, shown_validation) if v is not None} == pytest.approx(validation), moment
        page.reload()
        expect(page.locator("#job")).to_have_attribute("data-status", "succeeded")
