"""The exercise page's editor routes: the learner's file on disk stays the one source of truth.

A save carries the version (hash) it started from: it writes atomically and keeps the
file's permissions; a file changed on disk since is never overwritten (409, with what
the file holds now); a bad body is a clear 400; the CSRF token is required.
"""

import hashlib
import os
import stat

from aurore.course import exercises
from tests.test_web_workshop import SOLUTION, csrf, workshop_env  # noqa: F401  (fixture)


def version(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_source_gives_the_text_and_its_version(workshop_env):
    client = workshop_env["make_app"]().test_client()
    stub = exercises.derive_stub(SOLUTION)
    source = client.get("/exercises/1/source").get_json()
    assert source["text"] == stub and source["version"] == version(stub)
    assert client.get("/exercises/1/mtime").get_json()["version"] == version(stub)
    page = client.get("/exercises/1").get_data(as_text=True)
    assert f'data-version="{version(stub)}"' in page and 'id="code-editor"' in page


def test_a_save_writes_the_file_and_keeps_its_mode(workshop_env):
    client = workshop_env["make_app"]().test_client()
    learner = workshop_env["learner"]
    os.chmod(learner, 0o640)
    stub = learner.read_text(encoding="utf-8")
    answer = client.post("/exercises/1/save", json={"text": SOLUTION, "version": version(stub)}, headers=csrf(client))
    assert answer.status_code == 200, answer.get_json()
    assert learner.read_text(encoding="utf-8") == SOLUTION
    assert stat.S_IMODE(learner.stat().st_mode) == 0o640
    assert answer.get_json()["version"] == version(SOLUTION)
    assert not [p.name for p in learner.parent.iterdir() if p.name.endswith(".part")]


def test_a_save_over_a_file_changed_on_disk_is_refused_and_says_what_it_holds(workshop_env):
    client = workshop_env["make_app"]().test_client()
    learner = workshop_env["learner"]
    started_from = version(learner.read_text(encoding="utf-8"))
    learner.write_text("# saved by another editor\n", encoding="utf-8")
    answer = client.post("/exercises/1/save", json={"text": "# typed in the page\n", "version": started_from},
                         headers=csrf(client))
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "file_changed" and "disque" in error["message"]
    assert error["current"]["text"] == "# saved by another editor\n"
    assert learner.read_text(encoding="utf-8") == "# saved by another editor\n"     # nothing overwritten
    # Knowing the disk's version, the learner may choose to keep theirs.
    kept = client.post("/exercises/1/save", json={"text": "# typed in the page\n",
                                                  "version": error["current"]["version"]}, headers=csrf(client))
    assert kept.status_code == 200 and learner.read_text(encoding="utf-8") == "# typed in the page\n"


def test_a_bad_save_is_a_clear_400_and_needs_the_csrf_token(workshop_env):
    client = workshop_env["make_app"]().test_client()
    learner = workshop_env["learner"]
    before = learner.read_text(encoding="utf-8")
    assert client.post("/exercises/1/save", json={"text": "x", "version": version(before)}).status_code == 403
    for body in ({"version": version(before)}, {"text": 3, "version": None}, {"text": "x", "version": 5}, [1]):
        answer = client.post("/exercises/1/save", json=body, headers=csrf(client))
        assert answer.status_code == 400, body
        assert answer.get_json()["error"]["code"] == "bad_save"
    deep = "[" * 20_000 + "]" * 20_000                 # deeper than Python's recursion limit
    for raw in (deep, "{not json", ""):
        answer = client.post("/exercises/1/save", data=raw, content_type="application/json", headers=csrf(client))
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "bad_save", raw[:10]
    too_large = client.post("/exercises/1/save", json={"text": "x" * (48 * 1024 + 1), "version": version(before)},
                            headers=csrf(client))
    assert too_large.status_code == 413 and "Kio" in too_large.get_json()["error"]["message"]
    assert learner.read_text(encoding="utf-8") == before
