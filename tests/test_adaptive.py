"""The cpu recipe adapted to the machine's speed and the run's time (issue 29): fit, probe, choice, the train command."""

from __future__ import annotations

import argparse
import json
import math

import pytest

from aurore.training import adaptive, presets


def curve(*points):
    return {"points": [list(point) for point in points]}


def test_the_curve_is_read_linearly_in_log_steps_between_the_measured_points():
    found = adaptive.fit([(1024, 2.0), (256, 2.3), (512, 2.2), (512, 2.1), (2048, 1.8)])
    assert found["points"] == [[256, 2.3], [512, 2.15], [1024, 2.0], [2048, 1.8]]    # 512 ran twice: the mean
    assert adaptive.predict(found, 512) == pytest.approx(2.15)
    assert adaptive.predict(found, 512 * math.sqrt(2)) == pytest.approx(2.075)       # halfway in log(steps)
    assert adaptive.predict(found, 128) == pytest.approx(2.45)                       # the first slope, below
    assert adaptive.predict(found, 2048) == pytest.approx(1.8)
    assert adaptive.predict(found, 4096) == pytest.approx(1.7)                       # half the last slope, up to 2×
    assert adaptive.predict(found, 100_000) == pytest.approx(1.7)                    # then flat: never measured


def test_the_fit_refuses_what_it_cannot_fit():
    with pytest.raises(ValueError, match="3 step counts"):
        adaptive.fit([(256, 2.5), (512, 2.3), (512, 2.31)])
    with pytest.raises(ValueError, match="do not fall"):
        adaptive.fit([(256, 2.0), (512, 2.2), (1024, 2.4)])


TABLE = {"fitted": "test", "shapes": {
    "2x96": {"efficiency": 1.0, "curve": curve((100, 2.4), (1000, 2.0), (10000, 1.9))},   # learns fast, stalls
    "3x128": {"efficiency": 1.0, "curve": curve((100, 2.6), (1000, 2.1), (10000, 1.6))},  # slower start, goes on
}}


def test_few_steps_choose_the_small_shape_and_many_the_larger_one():
    speeds = {"2x96": 6.0, "3x128": 3.0}
    short = adaptive.choose(TABLE, speeds, 60)           # 360 / 180 steps
    long = adaptive.choose(TABLE, speeds, 1800)          # 10,800 / 5,400 steps
    assert short["shape"] == "2x96" and long["shape"] == "3x128"
    assert short["candidates"]["3x128"]["steps"] == 180
    assert short["candidates"]["2x96"]["predicted_bpc"] == pytest.approx(2.4 - 0.4 * math.log10(3.6), abs=1e-3)
    assert long["candidates"]["2x96"]["predicted_bpc"] == pytest.approx(1.9 - 0.05 * math.log10(1.08), abs=1e-3)


def test_a_budget_below_every_measured_point_keeps_the_presets_shape():
    speeds = {"2x96": 6.0, "3x128": 3.0}
    assert adaptive.choose(TABLE, speeds, 10)["shape"] == "3x128"             # 60 / 30 steps: nothing measured
    middle = adaptive.choose(TABLE, speeds, 20)                                # 120 / 60 steps
    assert middle["shape"] == "2x96" and not middle["candidates"]["3x128"]["measured"]


def test_settings_for_a_shape_plan_exactly_its_steps():
    settings = adaptive.settings_for("2x96", 512)
    assert (settings["num_layers"], settings["hidden_dim"], settings["intermediate_dim"]) == (2, 96, 384)
    assert settings["max_steps"] == 512 and settings["eval_interval"] == 128 and not settings["max_minutes"]
    assert settings["learning_rate"] == presets.preset("cpu")["learning_rate"]
    with pytest.raises(KeyError):
        adaptive.settings_for("9x999", 10)


def test_the_matrix_rate_probe_measures_something():
    rate = adaptive.matmul_rate(presets.preset("tiny"), 100, seconds=0.05)
    assert math.isfinite(rate) and rate > 1e6


def test_the_shipped_table_covers_every_candidate_with_a_fitted_curve():
    table = adaptive.load_table()
    assert set(table["shapes"]) <= set(adaptive.SHAPES) and "3x128" in table["shapes"]
    for row in table["shapes"].values():
        assert 0 < row["efficiency"] <= 1.5 and len(row["curve"]["points"]) >= 3
        assert adaptive.predict(row["curve"], 500) > adaptive.predict(row["curve"], 2000)



def test_a_prediction_within_the_noise_of_the_best_goes_to_the_larger_shape():
    table = {"fitted": "test", "shapes": {
        "2x64": {"efficiency": 1.0, "curve": curve((100, 2.0), (1000, 1.800), (10000, 1.7))},
        "2x96": {"efficiency": 1.0, "curve": curve((100, 2.0), (1000, 1.808), (10000, 1.7))},
        "3x128": {"efficiency": 1.0, "curve": curve((100, 2.0), (1000, 1.830), (10000, 1.7))},
    }}
    speeds = {"2x64": 1.0, "2x96": 1.0, "3x128": 1.0}
    assert adaptive.choose(table, speeds, 1000)["shape"] == "2x96"      # 0.008 behind: a tie; 0.030: not
    table["shapes"]["2x96"]["curve"] = curve((100, 2.0), (1000, 1.812), (10000, 1.7))
    assert adaptive.choose(table, speeds, 1000)["shape"] == "2x64"


#: Steps/s measured in quality runs (docs/benchmarks.md, issue 29): the emulated laptop's one AVX2-capped core,
#: a real 2-core AVX2 AMD EPYC (Zen 3), and this sandbox's two AVX-512 cores.
LAPTOP = {"2x64": 5.2, "2x96": 4.4, "3x128": 2.96}
REAL_LAPTOP = {"2x64": 2.9, "2x96": 2.76, "3x128": 1.98}
FAST = {"2x64": 10.4, "2x96": 8.4, "3x128": 6.0}


def test_the_shipped_table_chooses_small_for_a_slow_short_run_and_the_preset_for_a_fast_long_one():
    """The promise at the speeds measured: a laptop's 5 minutes train a small shape, a fast machine's 15 the
    preset's (with 2x96 there, this sandbox's 15 minutes ended at 1.714, the preset's shape at 1.682)."""
    table = adaptive.load_table()
    assert adaptive.choose(table, LAPTOP, 5 * 60)["shape"] in ("2x64", "2x96")
    assert adaptive.choose(table, FAST, 15 * 60)["shape"] == "3x128"


def test_on_a_real_avx2_laptop_both_budgets_leave_the_presets_shape():
    """Measured on the real Zen 3: 5 minutes 2x64 2.04-2.09 against the preset's shape 2.17, 15 minutes
    2x96 1.81 against 1.89 (docs/benchmarks.md, issue 29, third pass)."""
    table = adaptive.load_table()
    assert adaptive.choose(table, REAL_LAPTOP, 5 * 60)["shape"] in ("2x64", "2x96")     # a tie at these speeds
    assert adaptive.choose(table, REAL_LAPTOP, 15 * 60)["shape"] == "2x96"


# --- the train command --------------------------------------------------------------------------

def train_args(**given):
    values = dict(preset="cpu", set=[], max_minutes=5.0, max_steps=None, init=None, restart=False,
                  strategy=None, adapt=True)
    values.update(given)
    return argparse.Namespace(**values)


@pytest.fixture
def fitted(tmp_path, monkeypatch):
    from aurore.store import modeldir

    table = tmp_path / "fit.json"
    table.write_text(json.dumps(TABLE), encoding="utf-8")
    monkeypatch.setattr(adaptive, "FIT_FILE", table)
    monkeypatch.setattr(adaptive, "probe", lambda table, vocab: {"2x96": 6.0, "3x128": 3.0})
    monkeypatch.setattr(modeldir, "load_tokenizer", lambda directory: [0] * 8000)
    return tmp_path


def test_a_timed_cpu_run_takes_the_chosen_shape_and_saves_why(fitted):
    from aurore.commands.train import adapted

    model = fitted / "model"
    settings, minutes = adapted(train_args(max_minutes=1.0), presets.preset("cpu"), model, fitted)
    assert (settings["num_layers"], settings["hidden_dim"]) == (2, 96)          # 1 minute: few steps
    assert 0.9 < minutes <= 1.0                                                  # the probe's time is taken off
    record = json.loads((model / adaptive.RECIPE_FILE).read_text())
    assert record["shape"] == "2x96" and set(record["candidates"]) == {"2x96", "3x128"}
    settings, _ = adapted(train_args(max_minutes=30.0, restart=True), presets.preset("cpu"), model, fitted)
    assert settings["num_layers"] == 3
    assert "3x128" in adaptive.explain(json.loads((model / adaptive.RECIPE_FILE).read_text()))


@pytest.mark.parametrize("given", [dict(adapt=False), dict(set=["num_layers=4"]), dict(preset="tiny"),
                                   dict(max_minutes=0.0), dict(init="some/model")])
def test_the_shape_is_left_alone_when_the_run_fixes_it(fitted, given):
    from aurore.commands.train import adapted

    model = fitted / "model"
    model.mkdir()
    (model / adaptive.RECIPE_FILE).write_text("{}")                            # from an earlier run
    settings = presets.preset(given.get("preset", "cpu"))
    chosen, minutes = adapted(train_args(**given), settings, model, fitted)
    assert chosen == settings and minutes == given.get("max_minutes", 5.0)
    assert not (model / adaptive.RECIPE_FILE).exists()                          # no stale choice left


def test_a_resumed_run_keeps_its_shape_and_its_record(fitted, monkeypatch):
    from aurore.commands.train import adapted
    from aurore.store import checkpoint

    model = fitted / "model"
    model.mkdir()
    (model / adaptive.RECIPE_FILE).write_text('{"shape": "2x96"}')
    monkeypatch.setattr(checkpoint, "exists", lambda directory: True)
    settings = presets.preset("cpu")
    assert adapted(train_args(), settings, model, fitted) == (settings, 5.0)
    assert json.loads((model / adaptive.RECIPE_FILE).read_text()) == {"shape": "2x96"}
