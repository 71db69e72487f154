"""The Docker image, checked without a Docker engine.

The Dockerfile and docker-compose.yml are parsed and held to the project's
pins; the entry point is plain bash, so it runs here: its commands are
printed with AURORE_DRY_RUN=1 and parsed by the real CLI, and `serve` and
`health` are run for real against the web app.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from aurore.course import exercises

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


@pytest.fixture(scope="module")
def dockerfile():
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def _all(instructions, keyword):
    return [args for kw, args in instructions if kw == keyword]


def _env(instructions) -> dict[str, str]:
    env = {}
    for args in _all(instructions, "ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def _pinned(requirements: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)$", requirements, re.MULTILINE)
    assert match, f"{name} is not pinned in requirements.txt"
    return match.group(1)


def test_base_image_is_the_pinned_tensorflow_gpu_tag(dockerfile):
    requirements = (ROOT / "requirements.txt").read_text()
    version = _pinned(requirements, "tensorflow")
    froms = _all(dockerfile, "FROM")
    assert len(froms) == 1
    assert froms[0] == f"tensorflow/tensorflow:{version}-gpu"


def test_dependencies_come_from_the_same_requirements_file_without_replacing_tensorflow(dockerfile):
    copies = " ".join(_all(dockerfile, "COPY"))
    assert "requirements.txt" in copies
    runs = " ".join(_all(dockerfile, "RUN"))
    assert "-r requirements.txt" in runs
    assert "-c /tmp/constraints.txt" in runs, "the image's TensorFlow must be held by a constraint"
    # Every other mention of a tensorflow package uses the pinned version, never a bare name.
    for spec in re.findall(r'"(tensorflow[^"]*)"', runs):
        assert spec.endswith('==${pinned#tensorflow==}'), spec
    assert "latest" not in (ROOT / "Dockerfile").read_text().split("FROM", 1)[1].splitlines()[0]


def test_runs_as_a_non_root_user_created_in_the_image(dockerfile):
    users = _all(dockerfile, "USER")
    assert users and users[-1] not in ("root", "0")
    runs = " ".join(_all(dockerfile, "RUN"))
    assert "useradd" in runs and users[-1] in runs
    keywords = [kw for kw, _ in dockerfile]
    assert keywords.index("USER") > max(i for i, kw in enumerate(keywords) if kw == "RUN"), \
        "nothing should run as root after switching user"


def test_volumes_and_env_match_the_paths_aurore_reads(dockerfile):
    env = _env(dockerfile)
    volumes = " ".join(_all(dockerfile, "VOLUME"))
    assert env["AURORE_DATA"] in volumes and env["AURORE_EXERCISES"] in volumes
    source = (ROOT / "aurore" / "paths.py").read_text()
    assert '"AURORE_DATA"' in source and '"AURORE_EXERCISES"' in source


def test_exposed_port_is_the_served_port(dockerfile):
    from aurore.web.server import build_parser

    exposed = _all(dockerfile, "EXPOSE")
    assert exposed == [_env(dockerfile)["AURORE_PORT"]]
    assert int(exposed[0]) == build_parser().parse_args([]).port
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert f"{exposed[0]}:{exposed[0]}" in compose["services"]["aurore"]["ports"]


def test_entrypoint_and_healthcheck_point_at_the_script(dockerfile):
    entrypoint = _all(dockerfile, "ENTRYPOINT")
    assert entrypoint == ['["/app/docker/entrypoint.sh"]']
    assert "/app" == _all(dockerfile, "WORKDIR")[0]
    assert any(args.startswith(". /app") for args in _all(dockerfile, "COPY"))
    health = _all(dockerfile, "HEALTHCHECK")
    assert len(health) == 1 and health[0].endswith('CMD ["/app/docker/entrypoint.sh", "health"]')
    assert os.access(ENTRYPOINT, os.X_OK), "docker/entrypoint.sh must be executable"
    assert ENTRYPOINT.read_text().startswith("#!/usr/bin/env bash\n")
    assert subprocess.run(["bash", "-n", str(ENTRYPOINT)]).returncode == 0


def test_dockerignore_keeps_data_out_and_code_in():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", "/data"} <= ignored
    for needed in ("aurore", "solutions", "exercises", "tests", "templates", "static", "app.py",
                   "requirements.txt", "docker"):
        assert not any(pattern.strip("/") == needed for pattern in ignored), needed


def test_compose_reserves_the_gpus_and_mounts_the_volumes():
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["aurore"]
    assert service["build"] == "."
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    mounts = {volume.split(":")[1] for volume in service["volumes"]}
    assert mounts == {"/data", "/workspace/exercises"}


# ------------------------------------------------------------ entry point

def _entry(*args: str, env: dict | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(ENTRYPOINT), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT),
                               "AURORE_EXERCISES": str(ROOT / "exercises"), **(env or {})})


def _dry(*args: str, env: dict | None = None) -> list[str]:
    result = _entry(*args, env={"AURORE_DRY_RUN": "1", **(env or {})})
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_help_lists_every_subcommand():
    result = _entry("help")
    assert result.returncode == 0
    for word in ("serve", "solution N", "exercise N", "check N", "pipeline", "aurore ARGS", "health", "shell"):
        assert word in result.stdout


def test_unknown_command_and_missing_numbers_are_refused():
    unknown = _entry("sing")
    assert unknown.returncode == 2 and "unknown command" in unknown.stderr
    assert _entry("check", env={"AURORE_DRY_RUN": "1"}).returncode == 2
    bad = _entry("solution", "99", env={"AURORE_DRY_RUN": "1"})
    assert bad.returncode == 2 and "No exercise 99" in bad.stderr


def _parses_as_cli(argv: list[str]) -> None:
    from aurore.cli import build_parser

    assert argv[:3] == [sys.executable, "-m", "aurore"], argv
    try:
        build_parser().parse_args(argv[3:])
    except SystemExit as error:  # argparse refused the command line
        pytest.fail(f"`python -m aurore {' '.join(argv[3:])}` is not a valid command ({error})")


@pytest.mark.parametrize("exercise", [e.number for e in exercises.all_exercises()])
def test_solution_and_exercise_map_to_the_step_commands(exercise):
    step = exercises.get(exercise).step
    for variant in ("solution", "exercise"):
        argv = _dry(variant, str(exercise))
        assert argv[3:6] == [step, "--use", variant]
        _parses_as_cli(argv)


def test_check_pipeline_and_aurore_map_to_real_commands():
    assert _dry("check", "2")[3:] == ["check", "2"]
    _parses_as_cli(_dry("check", "2"))
    assert _dry("pipeline")[3:] == ["pipeline"]
    _parses_as_cli(_dry("pipeline", "--max-minutes", "5"))
    _parses_as_cli(_dry("aurore", "train", "--preset", "gpu", "--strategy", "mirrored"))
    _parses_as_cli(_dry("aurore", "export", "--out", "/data/served"))
    _parses_as_cli(_dry("aurore", "bundle", "load", "/data/kit.zip"))


def test_serve_maps_to_the_app_with_a_token_or_public():
    from aurore.web.server import build_parser

    argv = _dry("serve", env={"AURORE_PORT": "5000", "AURORE_HOST": "0.0.0.0"})
    assert argv[:2] == [sys.executable, "app.py"]
    args = build_parser().parse_args(argv[2:])
    assert (args.host, args.port, args.token, args.public) == ("0.0.0.0", 5000, "auto", False)
    # The token travels in the environment, never on the command line (every local user sees that in `ps`).
    argv = _dry("serve", env={"AURORE_TOKEN": "s3cret"})
    assert "s3cret" not in argv
    args = build_parser().parse_args(argv[2:])
    assert args.token is None and args.token_file is None
    args = build_parser().parse_args(_dry("serve", "--public")[2:])
    assert args.public and args.token is None


def test_a_fresh_exercises_volume_gets_the_stubs_and_keeps_the_learners_work(tmp_path):
    volume = tmp_path / "exercises"
    volume.mkdir()
    mine = volume / exercises.get(1).filename
    mine.write_text("# my own work\n")
    _dry("check", "1", env={"AURORE_EXERCISES": str(volume)})
    assert mine.read_text() == "# my own work\n"
    for exercise in exercises.all_exercises()[1:]:
        assert (volume / exercise.filename).read_text() == (ROOT / "exercises" / exercise.filename).read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_then_health_against_the_real_app(tmp_path):
    port = str(_free_port())
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT), "AURORE_PORT": port,
           "AURORE_HOST": "127.0.0.1", "AURORE_DATA": str(tmp_path / "data"),
           "AURORE_EXERCISES": str(tmp_path / "exercises")}
    assert _entry("health", env={"AURORE_PORT": port}).returncode != 0, "nothing listens yet"
    server = subprocess.Popen([str(ENTRYPOINT), "serve"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if _entry("health", env={"AURORE_PORT": port}).returncode == 0:
                break
            assert server.poll() is None, server.stdout.read()
            time.sleep(1)
        else:
            pytest.fail("the app did not answer /health within 90 s")
    finally:
        server.terminate()
        server.wait(timeout=30)
