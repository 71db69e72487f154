"""A learner who updates Aurore keeps their work: files and progress follow the renumberings (issues 24, 25)."""

import json
import subprocess

import pytest

from aurore import paths
from aurore.course import exercises, migration
from aurore.web import create_app
from aurore.web.workshop import learner_progress


def former_stub(slug: str) -> bytes:
    """A former stub as shipped, read from git history (the commit before the renumbering that renamed it)."""
    commit = subprocess.run(["git", "log", "--format=%H", "-1", "--", f"exercises/{slug}.py"], cwd=paths.ROOT,
                            capture_output=True, text=True, check=True).stdout.strip()
    return subprocess.run(["git", "show", f"{commit}^:exercises/{slug}.py"], cwd=paths.ROOT,
                          capture_output=True, check=True).stdout


@pytest.fixture
def learner(tmp_path, monkeypatch):
    folder = tmp_path / "exercises"
    folder.mkdir()
    monkeypatch.setenv("AURORE_EXERCISES", str(folder))
    monkeypatch.setenv("AURORE_DATA", str(tmp_path / "data"))
    return folder


def test_an_edited_file_takes_its_new_name_and_an_untouched_one_goes(learner):
    edited = former_stub("02_tokenizer").decode().replace('raise NotImplementedError("TODO")', "return []", 1)
    (learner / "02_tokenizer.py").write_text(edited, encoding="utf-8")
    (learner / "03_train.py").write_bytes(former_stub("03_train"))
    (learner / "05_train.py").write_text(exercises.stub_for(exercises.get(5)), encoding="utf-8")   # seeded stub

    done = exercises.migrate()

    assert (learner / "03_tokenizer.py").read_text(encoding="utf-8") == edited      # the work, under its new name
    assert not (learner / "02_tokenizer.py").exists() and not (learner / "03_train.py").exists()
    assert (learner / "05_train.py").read_text(encoding="utf-8") == exercises.stub_for(exercises.get(5))
    assert not (learner / "04_train.py").exists()
    assert any("02_tokenizer.py to 03_tokenizer.py" in line for line in done)
    assert exercises.migrate() == []                                                  # idempotent


def test_work_on_both_sides_is_never_overwritten(learner):
    (learner / "02_tokenizer.py").write_text("# my old work\n", encoding="utf-8")
    (learner / "03_tokenizer.py").write_text("# my new work\n", encoding="utf-8")
    exercises.migrate()
    assert (learner / "03_tokenizer.py").read_text(encoding="utf-8") == "# my new work\n"
    backups = list(learner.glob("02_tokenizer.*.bak.py"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == "# my old work\n"


def test_the_split_exercise_carries_each_finished_function_to_its_half(learner):
    former = former_stub("01_prepare_dataset").decode()
    solved_credits = ("    return [paragraph for paragraph in paragraphs\n"
                      "            if not gutenberg.CREDITS.search(paragraph)]\n")
    former = former.replace('''    # TODO: keep only the paragraphs in which gutenberg.CREDITS finds nothing (.search).
    raise NotImplementedError("TODO")
''', solved_credits)
    former = former.replace("MIN_WORDS = None", "MIN_WORDS = 5")
    (learner / "01_prepare_dataset.py").write_text(former, encoding="utf-8")

    done = exercises.migrate()

    first = (learner / "01_clean_gutenberg.py").read_text(encoding="utf-8")
    second = (learner / "02_prepare_dataset.py").read_text(encoding="utf-8")
    assert solved_credits in first and "Exercice 1 — Nettoyer un fichier du Projet Gutenberg." in first
    new_stub = exercises.stub_for(exercises.get(1))
    unfinished = new_stub[new_stub.index("def strip_gutenberg"):new_stub.index("def remove_credits")]
    assert unfinished in first                  # what was not done starts from today's stub, today's TODOs
    assert first.count("NotImplementedError") == exercises.stub_for(exercises.get(1)).count("NotImplementedError") - 1
    assert "MIN_WORDS = 5" in second and "def build_dataset" in second
    assert not (learner / "01_prepare_dataset.py").exists()
    backups = list(learner.glob("01_prepare_dataset.*.bak.py"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == former    # the whole, half-done parts too
    assert any("remove_credits" in line for line in done)


def test_progress_records_move_with_the_numbers_once(tmp_path, learner):
    data = tmp_path / "data"
    progress = migration.progress_file(data)
    progress.parent.mkdir(parents=True)
    progress.write_text(json.dumps({"exercises": {"1": {"done": True, "runs": 4},
                                                  "2": {"done": True, "runs": 1},
                                                  "5": {"done": False, "runs": 2}}}), encoding="utf-8")
    create_app({"DATA_DIR": str(data), "TESTING": True, "CHECK_WORKER": False})     # the app start migrates
    records = learner_progress.load(data)
    assert set(records) == {"1", "2", "3", "7"}                  # 5 (evaluate) became 6, then 7
    assert records["1"]["runs"] == records["2"]["runs"] == 4 and records["3"]["runs"] == 1
    assert records["7"] == {"done": False, "runs": 2}
    assert not migration.migrate_progress(data)                                      # idempotent
    learner_progress.record_check(data, 3, {"all_passed": True, "passed": 3, "failed": 0, "status": "ok"})
    assert json.loads(progress.read_text(encoding="utf-8"))["numbering"] == migration.NUMBERING
    assert learner_progress.load(data)["7"]["runs"] == 2


def test_sync_migrates_and_reports(learner, capsys):
    from aurore import cli

    edited = former_stub("08_lora").decode() + "\n# started\n"
    (learner / "08_lora.py").write_text(edited, encoding="utf-8")
    assert cli.main(["exercises", "sync"]) == 2            # 10_lora.py now holds work: left as it is, and said
    out = capsys.readouterr().out
    assert "renamed 08_lora.py to 09_lora.py" in out and "renamed 09_lora.py to 10_lora.py" in out
    assert "kept" in out and "10_lora.py" in out.split("kept")[-1]
    assert (learner / "10_lora.py").read_text(encoding="utf-8") == edited
    assert sorted(path.name for path in learner.glob("*.py")) == sorted(e.filename for e in exercises.all_exercises())


# -- numbering 3: exercise 4 (attention) came in before training -----------------------------------

def test_the_files_of_numbering_2_move_up_by_one(learner):
    edited = former_stub("04_train").decode().replace('raise NotImplementedError("TODO")', "return None", 1)
    (learner / "04_train.py").write_text(edited, encoding="utf-8")
    (learner / "05_generate.py").write_bytes(former_stub("05_generate"))                 # untouched: it goes
    (learner / "03_tokenizer.py").write_text("# my tokenizer\n", encoding="utf-8")       # not renumbered

    done = exercises.migrate()

    assert (learner / "05_train.py").read_text(encoding="utf-8") == edited
    assert not (learner / "04_train.py").exists() and not (learner / "05_generate.py").exists()
    assert not (learner / "06_generate.py").exists()            # an untouched stub was no work to carry
    assert (learner / "03_tokenizer.py").read_text(encoding="utf-8") == "# my tokenizer\n"
    assert "renamed 04_train.py to 05_train.py" in done
    assert any(line.startswith("removed 05_generate.py") for line in done)
    assert exercises.migrate() == []                                                     # idempotent


@pytest.mark.parametrize("slug", list(migration.MOVES_3))
def test_every_renamed_stub_as_shipped_in_both_languages_holds_no_work(slug):
    former = former_stub(slug)
    assert migration._is_former_stub(slug, former)
    solution = subprocess.run(["git", "show", f"{_renaming_commit(slug)}^:solutions/{slug}.py"], cwd=paths.ROOT,
                              capture_output=True, check=True).stdout.decode()
    for lang in exercises.LANGS:
        assert migration._is_former_stub(slug, exercises.derive_stub(solution, lang).encode()), (slug, lang)
    assert not migration._is_former_stub(slug, former + b"# mine\n")


def _renaming_commit(slug: str) -> str:
    return subprocess.run(["git", "log", "--format=%H", "-1", "--", f"exercises/{slug}.py"], cwd=paths.ROOT,
                          capture_output=True, text=True, check=True).stdout.strip()


def test_a_file_of_numbering_1_goes_through_2_to_3(learner):
    edited = former_stub("04_generate").decode() + "\n# my sampler\n"
    (learner / "04_generate.py").write_text(edited, encoding="utf-8")
    (learner / "03_train.py").write_text("# my training\n", encoding="utf-8")
    (learner / "05_train.py").write_text(exercises.stub_for(exercises.get(5), "en"), encoding="utf-8")  # a stub

    done = exercises.migrate()

    assert (learner / "06_generate.py").read_text(encoding="utf-8") == edited
    assert (learner / "05_train.py").read_text(encoding="utf-8") == "# my training\n"
    assert sorted(path.name for path in learner.glob("*.py")) == ["05_train.py", "06_generate.py"]
    assert done[:2] == ["renamed 03_train.py to 04_train.py", "renamed 04_generate.py to 05_generate.py"]
    assert exercises.migrate() == []


def test_work_under_both_numberings_is_never_overwritten(learner):
    (learner / "04_train.py").write_text("# my work of numbering 2\n", encoding="utf-8")
    (learner / "05_train.py").write_text("# my work of numbering 3\n", encoding="utf-8")
    exercises.migrate()
    assert (learner / "05_train.py").read_text(encoding="utf-8") == "# my work of numbering 3\n"
    backups = list(learner.glob("04_train.*.bak.py"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == "# my work of numbering 2\n"


@pytest.mark.parametrize("numbering, records, expected", [
    (None, {"1": {"runs": 1}, "2": {"runs": 2}, "3": {"runs": 3}, "5": {"runs": 5}, "8": {"runs": 8}},
     {"1": {"runs": 1}, "2": {"runs": 1}, "3": {"runs": 2}, "5": {"runs": 3}, "7": {"runs": 5}, "10": {"runs": 8}}),
    (2, {"1": {"runs": 1}, "3": {"runs": 3}, "4": {"runs": 4}, "6": {"runs": 6}, "9": {"runs": 9}},
     {"1": {"runs": 1}, "3": {"runs": 3}, "5": {"runs": 4}, "7": {"runs": 6}, "10": {"runs": 9}}),
    (3, {"4": {"runs": 4}, "10": {"runs": 10}}, {"4": {"runs": 4}, "10": {"runs": 10}}),
])
def test_progress_of_numbering_1_or_2_lands_on_today_s_numbers(tmp_path, numbering, records, expected):
    progress = migration.progress_file(tmp_path)
    progress.parent.mkdir(parents=True)
    written = {"exercises": records} if numbering is None else {"numbering": numbering, "exercises": records}
    progress.write_text(json.dumps(written), encoding="utf-8")
    assert migration.migrate_progress(tmp_path) is (numbering != 3)
    data = json.loads(progress.read_text(encoding="utf-8"))
    assert data["exercises"] == expected and data["numbering"] == migration.NUMBERING == 3
    assert not migration.migrate_progress(tmp_path)                                  # idempotent
