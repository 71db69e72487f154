"""A newcomer's install, followed literally: a fresh virtual environment from
`requirements.txt` alone (no dev tools), then what the README tells them to do.

- `python -m aurore check N --solution` passes for every exercise (the checks
  are a runtime feature: what they need must come with requirements.txt);
- `python app.py` starts and "check my code" passes through the web endpoint;
- the README's command line, in order: prepare → tokenizer → train (a short
  `--max-minutes`) → generate prints French text.

The books are the real ones in ../shared/corpus/gutenberg when this checkout
has them (as on CI), else the project's fixture books: the same commands run
either way. Installing takes a minute or two from pip's cache.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from aurore import paths
from aurore.course import exercises

# Installing TensorFlow, then the README's steps (up to 900 s each): past pytest.ini's per-test limit.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

SHARED_BOOKS = paths.ROOT.parent / "shared" / "corpus" / "gutenberg"


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory):
    """A virtual environment holding requirements.txt and nothing else."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              "-r", str(paths.ROOT / "requirements.txt")], capture_output=True, text=True)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    yield python
    shutil.rmtree(venv, ignore_errors=True)     # 2 GB: not kept among pytest's last temp folders


@pytest.fixture(scope="module")
def newcomer_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a learner's shell: their own data folder, nothing of the test run's."""
    data = tmp_path_factory.mktemp("newcomer-data")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "AURORE_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(AURORE_DATA=str(data), PYTHONUNBUFFERED="1")
    return env


def run(python: Path, *args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *args], cwd=paths.ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_requirements_alone_carry_what_the_checks_need(venv_python, newcomer_env):
    has_pytest = run(venv_python, "-c", "import pytest", env=newcomer_env)
    assert has_pytest.returncode == 0, "pytest must come with requirements.txt: the checks run on it"
    playwright = run(venv_python, "-c", "import playwright", env=newcomer_env)
    assert playwright.returncode != 0, "test-only tools belong in requirements-dev.txt"


def test_the_suite_without_the_dev_tools_says_what_to_install(venv_python, newcomer_env):
    """tests/conftest.py: the tests needing a missing tool are left out, and one line names the install command."""
    one_file = run(venv_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_sentences.py",
                   env=newcomer_env)
    assert one_file.returncode == 0, one_file.stdout[-3000:] + one_file.stderr[-3000:]
    assert "install them with `python3 -m pip install -r requirements-dev.txt`" in one_file.stdout
    browser = run(venv_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/browser", env=newcomer_env)
    output = (browser.stdout + browser.stderr).strip()
    assert browser.returncode == pytest.ExitCode.USAGE_ERROR and "Traceback" not in output
    assert output.splitlines() == [next(line for line in output.splitlines() if "requirements-dev.txt" in line)]


@pytest.mark.parametrize("exercise", exercises.all_exercises(), ids=lambda e: e.slug)
def test_every_solution_passes_its_check_in_the_fresh_install(venv_python, newcomer_env, exercise):
    done = run(venv_python, "-m", "aurore", "check", str(exercise.number), "--solution", "--lang", "en",
               env=newcomer_env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"^\d+ passed, 0 failed", done.stdout, re.M), done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_started_app_passes_a_check_through_the_web(venv_python, newcomer_env, tmp_path):
    exercise = exercises.get(6)
    learner = tmp_path / "exercises"
    learner.mkdir()
    # The learner has finished exercise 6: their file is the solution.
    (learner / exercise.filename).write_text(exercise.solution_path.read_text(encoding="utf-8"), encoding="utf-8")
    env = {**newcomer_env, "AURORE_EXERCISES": str(learner)}
    port = _free_port()
    server = subprocess.Popen([str(venv_python), "app.py", "--port", str(port)], cwd=paths.ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        deadline = time.monotonic() + 120
        while True:
            try:
                page = opener.open(f"{base}/exercises/6", timeout=10).read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()[-3000:]
                assert time.monotonic() < deadline, "the app did not answer within 120 s"
                time.sleep(0.5)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        check = urllib.request.Request(f"{base}/exercises/6/check", method="POST", data=b"{}", headers={
            "X-CSRF-Token": token, "Content-Type": "application/json", "Origin": base})
        report = json.loads(opener.open(check, timeout=300).read())
        assert report["all_passed"], report
        assert report["passed"] > 0 and report["failed"] == 0
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_readme_command_line_runs_end_to_end(venv_python, newcomer_env, tmp_path):
    if SHARED_BOOKS.is_dir():
        books = SHARED_BOOKS
    else:
        sys.path.insert(0, str(paths.ROOT / "tests"))
        from fixture_books import write_fixture_books

        books = tmp_path / "books"
        write_fixture_books(books)
    steps = [
        ("prepare", "--source", str(books)),
        ("tokenizer",),
        # A count of steps, not minutes: 30 s left a slow 2-core Zen 3 under the suite's load a handful of steps
        # after the probe and XLA's compiling, and the text was noise. 100 steps write common French words.
        ("train", "--max-steps", "100", "--no-evaluate"),
        ("generate", "--prompt", "La nuit était", "--seed", "1", "--stop-at-sentence-end"),
    ]
    for command in steps:
        done = run(venv_python, "-m", "aurore", *command, env=newcomer_env, timeout=900)
        assert done.returncode == 0, f"{command[0]}: " + done.stdout[-3000:] + done.stderr[-3000:]
    text = done.stdout.split("\n[")[0].strip()     # the text, without generate's closing [… tokens …] line
    assert text.startswith("La nuit était"), text
    # What the model wrote, not the prompt (whose "la" passed any text): several words, one of them among
    # French's commonest, and whole characters only.
    written = text[len("La nuit était"):]
    words = re.findall(r"[a-zàâçéèêëîïôûùüÿœ']+", written.lower())
    assert len(words) >= 3 and "\ufffd" not in written, text
    assert set(words) & {"de", "la", "le", "et", "il", "elle", "les", "un", "une", "que", "à", "en", "ne", "se",
                         "pas", "qui", "dans", "son", "sa", "je", "vous", "des", "du", "au"}, text
