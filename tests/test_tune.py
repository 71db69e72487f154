"""`python -m aurore tune`: trials, tables, the printed train line, pruning, Ctrl+C and resuming."""

import json
import shlex

import optuna
import pytest

import aurore  # noqa: F401
from aurore import cli
from aurore.corpus import tokenization
from aurore.course import exercises
from aurore.store import modeldir
from aurore.training import loop, presets, tuning
from tiny_sand import TRAIN, make_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_dataset(root / "dataset", repeat=3)
    modeldir.save_tokenizer(tokenization.byte_level_bpe(TRAIN, 400), root / "tokenizer")
    return root


def _tune(data, out, *extra):
    # The tiny preset stops each trial at its 12 steps, long before the trial's minute.
    return cli.main(["tune", "--preset", "tiny", "--minutes", "10", "--trial-minutes", "1",
                     "--data", str(data / "dataset"), "--tokenizer", str(data / "tokenizer"),
                     "--out", str(out), *extra])


def _table(out, study="tiny-1min"):
    return json.loads((out / study / "results.json").read_text())


def test_a_search_writes_both_tables_and_prints_a_line_train_accepts(data, tmp_path, capsys):
    assert _tune(data, tmp_path, "--trials", "2") == 0
    table = _table(tmp_path)
    assert [row["trial"] for row in table["trials"]] != [] and len(table["trials"]) == 2
    assert all(row["state"] == "complete" and row["bits_per_character"] > 0 for row in table["trials"])
    assert table["trials"][0]["bits_per_character"] <= table["trials"][1]["bits_per_character"]  # best first
    baseline = next(row for row in table["trials"] if row["trial"] == 0)
    assert baseline["params"]["learning_rate"] == 3e-3 and baseline["params"]["hidden_dim"] == 32  # the preset
    assert table["machine"]["simd"] and table["machine"]["cores"] >= 1
    markdown = (tmp_path / "tiny-1min" / "results.md").read_text()
    assert markdown.count("| complete |") == 2 and "bits/char" in markdown

    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed == table["best"]["command"] and printed.startswith("python -m aurore train --preset tiny")
    args = cli.build_parser().parse_args(shlex.split(printed)[3:])
    assert args.command == "train"
    settings = presets.settings_from_args(args.preset, args.set, max_steps=2)
    best = table["best"]["settings"]
    assert settings["hidden_dim"] == best["hidden_dim"] and settings["optimizer"] == best["optimizer"]
    assert settings["learning_rate"] == pytest.approx(best["learning_rate"], rel=1e-2)
    summary = loop.train(exercises.rules("train"), data / "dataset", data / "tokenizer",
                         tmp_path / "model", settings)
    assert summary["step"] == 2


def test_a_trial_worse_than_the_pruner_allows_is_stopped_early(data, tmp_path):
    options = tuning.SearchOptions(preset="tiny", minutes=10, trial_minutes=1, max_trials=1)
    search = tuning.Search(exercises.rules("train"), data / "dataset", data / "tokenizer", tmp_path,
                           options, pruner=optuna.pruners.ThresholdPruner(upper=0.0))  # every figure is > 0
    table = search.run(search.open_study())
    [row] = table["trials"]
    assert row["state"] == "pruned" and row["pruned_at_percent"] is not None
    assert row["steps"] < 12  # the tiny preset trains 12 steps when not pruned
    assert row["bits_per_character"] > 0 and table["best"] is None
    assert "pruned at" in (tmp_path / "tiny-1min" / "results.md").read_text()


def test_an_interrupted_search_keeps_its_table_and_resumes(data, tmp_path, monkeypatch, capsys):
    real_train, calls = loop.train, []

    def interrupted_second_trial(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl+C during trial 1
        return real_train(*args, **kwargs)

    monkeypatch.setattr(loop, "train", interrupted_second_trial)
    assert cli.main(["tune", "--preset", "tiny", "--minutes", "10", "--trial-minutes", "1",
                     "--data", str(data / "dataset"), "--tokenizer", str(data / "tokenizer"),
                     "--out", str(tmp_path)]) == 130
    rows = {row["trial"]: row for row in _table(tmp_path)["trials"]}
    assert rows[0]["state"] == "complete" and rows[1]["state"] == "fail" and rows[1]["error"] == "interrupted"

    monkeypatch.setattr(loop, "train", real_train)
    capsys.readouterr()
    assert _tune(data, tmp_path, "--trials", "1") == 0
    assert "2 trial(s) so far" in capsys.readouterr().out
    rows = {row["trial"]: row for row in _table(tmp_path)["trials"]}
    assert sorted(rows) == [0, 1, 2] and rows[2]["state"] == "complete"
    assert rows[2]["params"] != rows[0]["params"]  # the baseline is not run again


def test_bad_options_and_a_changed_search_are_clear_errors(data, tmp_path, capsys):
    assert _tune(data, tmp_path, "--trial-minutes", "20") == 2
    assert "longer than the whole budget" in capsys.readouterr().err
    assert _tune(data, tmp_path, "--vocab-sizes", "4000,lots") == 2
    assert "whole numbers" in capsys.readouterr().err
    assert _tune(data, tmp_path, "--set", "colour=blue") == 2
    assert "Unknown training setting" in capsys.readouterr().err
    assert cli.main(["tune", "--preset", "tiny", "--data", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "python -m aurore prepare" in capsys.readouterr().err

    search = tuning.Search(exercises.rules("train"), data / "dataset", data / "tokenizer", tmp_path,
                           tuning.SearchOptions(preset="tiny", trial_minutes=1, max_trials=0))
    search.open_study()
    assert _tune(data, tmp_path, "--vocab-sizes", "300,400") == 2  # same study name, other options
    assert "--study NAME" in capsys.readouterr().err


def test_each_vocabulary_size_gets_its_own_tokenizer_built_once(data, tmp_path):
    options = tuning.SearchOptions(preset="tiny", vocab_sizes=(300, 400))
    search = tuning.Search(exercises.rules("train"), data / "dataset", data / "tokenizer", tmp_path,
                           options, tokenizer_module=exercises.rules("tokenizer"))
    assert search.tokenizer_for(400) == data / "tokenizer"  # the prepared one already has 400 tokens
    small = search.tokenizer_for(300)
    assert len(modeldir.load_tokenizer(small)) == 300
    built = (small / "tokenizer.json").stat().st_mtime_ns
    assert search.tokenizer_for(300) == small and (small / "tokenizer.json").stat().st_mtime_ns == built
    # Fewer tokens in the vocabulary, more tokens per character: a loss per token is worth more bits.
    assert search.bits_per_nat(small) > search.bits_per_nat(data / "tokenizer")


def test_a_setting_fixed_with_set_is_not_searched_and_is_in_the_printed_line(data, tmp_path, monkeypatch, capsys):
    real_train, trained = loop.train, []

    def recording(module, dataset_dir, tokenizer_dir, model_dir, settings, **kwargs):
        trained.append(dict(settings))
        return real_train(module, dataset_dir, tokenizer_dir, model_dir, settings, **kwargs)

    monkeypatch.setattr(loop, "train", recording)
    assert _tune(data, tmp_path, "--trials", "3", "--set", "sequence_length=16", "--set", "hidden_dim=48") == 0
    assert len(trained) == 3
    assert all(s["sequence_length"] == 16 and s["hidden_dim"] == 48 and s["intermediate_dim"] == 96 for s in trained)
    assert len({s["learning_rate"] for s in trained}) == 3  # the others are still searched
    table = _table(tmp_path)
    assert all("sequence_length" not in row["params"] and "hidden_dim" not in row["params"]
               for row in table["trials"])
    assert "| 48 |" in (tmp_path / "tiny-1min" / "results.md").read_text()
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert "--set sequence_length=16" in printed and "--set hidden_dim=48" in printed
    assert "--set intermediate_dim=96" in printed
