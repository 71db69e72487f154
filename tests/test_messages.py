"""A step run from a French page speaks French: its log lines and progress labels come from the pages' catalogue."""

import json
import sys
import time

from aurore import cli, messages, progress
from aurore.web.workshop.jobs import JobRunner

import fixture_books


def test_progress_labels_follow_the_runs_language(monkeypatch, capsys):
    monkeypatch.setenv("AURORE_PROGRESS", "json")
    monkeypatch.setenv("AURORE_LANG", "fr")
    with progress.task("Books", total=2, unit="book") as task:
        task.update(1)
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (event["task"], event["unit"]) == ("Livres", "livre")
    monkeypatch.setenv("AURORE_LANG", "en")
    assert progress.task("Books", unit="book").name == "Books"          # a terminal keeps the msgids
    assert messages.number(1234.5, 1) == "1,234.5"


def test_a_step_logs_in_french_with_french_numbers(tmp_path, monkeypatch, capsys):
    books = tmp_path / "books"
    fixture_books.write_fixture_books(books)
    monkeypatch.setenv("AURORE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("AURORE_PROGRESS", "json")
    monkeypatch.setenv("AURORE_LANG", "fr")
    assert cli.main(["clean", "--source", str(books), "--book", str(fixture_books.TEST_ID)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    said = [line["message"] for line in lines if line.get("event") == "log"]
    assert any("caractères dans le fichier" in line and "paragraphes" in line for line in said), said
    assert not any("characters in the file" in line for line in said)


def test_the_run_page_passes_its_language_to_the_step(tmp_path):
    steps = {"say-lang": {"title": {"fr": "Langue", "en": "Language"},
                          "argv": [sys.executable, "-c", "import os; print(os.environ.get('AURORE_LANG'))"]}}
    runner = JobRunner(tmp_path, steps)
    job = runner.start("say-lang", "solution", lang="fr")
    deadline = time.monotonic() + 60
    while runner.get(job.id).status in ("running", "cancelling") and time.monotonic() < deadline:
        time.sleep(0.1)
    _, events, _ = runner.page(job.id)
    assert any(event.get("message") == "fr" for event in events), events


def test_the_evaluation_lines_are_french_on_a_french_page(monkeypatch):
    from aurore.commands import evaluate

    report = {"test": {"loss_per_token": 3.1, "perplexity": 22.2, "bits_per_character": 1.682},
              "baselines": {"xz": {"bits_per_character": 2.2}}}
    monkeypatch.setenv("AURORE_LANG", "fr")
    french = evaluate.summary_lines(report)
    assert french[0] == "livre de test : perte de 3,100 par jeton, perplexité 22,2, 1,682 bits par caractère"
    assert french[1] == "points de comparaison sur le livre de test : xz 2,200 bits par caractère"
    monkeypatch.setenv("AURORE_LANG", "en")
    assert evaluate.summary_lines(report)[0] == "test: loss 3.100 per token, perplexity 22.2, 1.682 bits per character"


def test_a_resumed_training_says_so_in_french(tmp_path, monkeypatch, capsys):
    from aurore.training import resumable

    monkeypatch.setenv("AURORE_LANG", "fr")
    run = resumable.Run(tmp_path)
    run.state = {"finished": True, "step": 7}
    monkeypatch.setattr(resumable.checkpoint, "read_state", lambda folder: run.state)
    run._resumed_settings({"preset": "tiny"})
    assert f"Entraînement dans {tmp_path} est déjà terminé (pas 7)" in capsys.readouterr().out


def test_a_bonus_training_logs_its_figures_and_its_stop_in_french(tmp_path, monkeypatch, capsys):
    """The char-LSTM (bonus 7) on a French page: its vocabulary line and the training's stop line are French,
    numbers written the French way; the summary keeps its English reason (a machine reads it)."""
    from aurore.bonus import char_lstm
    from aurore.course import exercises

    dataset = fixture_books.make_tiny_dataset(tmp_path / "dataset")
    monkeypatch.setenv("AURORE_PROGRESS", "json")
    monkeypatch.setenv("AURORE_LANG", "fr")
    summary = char_lstm.train(exercises.rules("char-lstm"), dataset, tmp_path / "char-lstm",
                              char_lstm.preset("tiny", max_steps=4))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    said = [line["message"] for line in lines if line.get("event") == "log"]
    assert any(" caractères dans le vocabulaire ; " in line and " caractères d'entraînement en " in line
               for line in said), said
    stop = [line for line in said if line.startswith("L'entraînement du LSTM caractère : arrêt (4 pas atteints) "
                                                     "au pas 4 ; meilleure perte de validation ")]
    assert len(stop) == 1, said
    loss = stop[0].split("meilleure perte de validation ")[1].split(" ")[0]
    assert "," in loss and "." not in loss, stop            # "3,4512": a French decimal comma
    assert not any("stopped" in line or "characters in the vocabulary" in line for line in said), said
    assert summary["stopped"] == "reached 4 steps"
