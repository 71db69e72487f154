"""The environment page counts the books wherever they come from (the cache, AURORE_SOURCE, the prepared
dataset) and answers the GPU row at once where the system shows no GPU."""

import json

from aurore.web.workshop import environment
from tests.test_web_workshop import workshop_env  # noqa: F401  (fixture)


def books_row(page: str) -> str:
    return page.split('data-piece="books"')[1].split("</tr>")[0]


def test_a_learner_with_a_dataset_from_aurore_source_is_not_told_to_start_over(workshop_env, monkeypatch, tmp_path):
    monkeypatch.setenv("AURORE_CACHE", str(tmp_path / "empty-cache"))       # books from AURORE_SOURCE are never cached
    monkeypatch.delenv("AURORE_SOURCE", raising=False)
    client = workshop_env["make_app"]().test_client()
    assert "absent" in books_row(client.get("/environment").get_data(as_text=True))     # nothing yet: say so

    dataset = workshop_env["data"] / "dataset"
    dataset.mkdir(parents=True)
    stats = {"splits": {}, "books": {"train/3": {"split": "train", "book": 3}, "validation/3": {"split": "validation", "book": 3},
                                     "train/4": {"split": "train", "book": 4}, "test/5": {"split": "test", "book": 5}}}
    (dataset / "stats.json").write_text(json.dumps(stats), encoding="utf-8")
    row = books_row(client.get("/environment").get_data(as_text=True))
    assert "présent" in row and "absent" not in row and "Lancez" not in row
    assert "Livres du jeu de données préparé : 3" in row

    source = tmp_path / "books"
    source.mkdir()
    for book in (3, 4, 5, 6):
        (source / f"{book}.txt").write_text("x", encoding="utf-8")
    monkeypatch.setenv("AURORE_SOURCE", str(source))
    row = books_row(client.get("/environment").get_data(as_text=True))
    assert "Livres dans AURORE_SOURCE : 4" in row and "présent" in row


def test_no_gpu_device_is_answered_without_tensorflow(workshop_env, monkeypatch):
    monkeypatch.setattr(environment.platform, "system", lambda: "Linux")
    monkeypatch.setattr(environment.shutil, "which", lambda name: None)
    monkeypatch.setattr(environment.Path, "glob", lambda self, pattern: iter(()))
    client = workshop_env["make_app"]().test_client()
    assert client.get("/environment/gpu?quick=1").get_json() == {"ok": True, "known": True, "devices": []}


def test_a_gpu_device_needs_tensorflow_to_say(workshop_env, monkeypatch):
    monkeypatch.setattr(environment.platform, "system", lambda: "Linux")
    monkeypatch.setattr(environment.shutil, "which", lambda name: None)
    monkeypatch.setattr(environment.Path, "glob", lambda self, pattern: iter([environment.Path("/dev/nvidia0")]))
    client = workshop_env["make_app"]().test_client()
    assert client.get("/environment/gpu?quick=1").get_json() == {"ok": True, "known": False,
                                                                 "devices": ["/dev/nvidia0"]}
