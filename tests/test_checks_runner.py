"""The check runner survives whatever the learner's code does: it crashes,
hangs, burns CPU, eats memory, prints megabytes, leaves processes behind.
Each case runs a tiny check file in the real limited process, both ways the
product starts one: cold (the CLI) and forked by the warm worker (the web)."""

import os
import textwrap
import time

import pytest

from aurore.course.checks import runner, warm_worker
from aurore.errors import AuroreError


@pytest.fixture(scope="module")
def ready_worker():
    worker = warm_worker.CheckWorker()
    worker.start()
    assert worker.wait_ready(180), "the check worker did not start"
    yield worker
    worker.stop()


@pytest.fixture(params=["cold", "warm"])
def run(request):
    """`run(path, **options)`: run_check_file cold or through the warm worker, checking which ran."""
    worker = request.getfixturevalue("ready_worker") if request.param == "warm" else None

    def run_file(path, **options):
        report = runner.run_check_file(path, worker=worker, **options)
        assert report["warm"] is (worker is not None)
        return report

    return run_file


def write_checks(tmp_path, body: str):
    path = tmp_path / "test_fake_checks.py"
    path.write_text("import pytest\n\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def test_reports_each_check_with_its_bilingual_title_and_message(tmp_path, run):
    path = write_checks(tmp_path, '''
        from aurore.course.checks.plugin import say

        @pytest.mark.check(fr="Ça marche", en="It works")
        def test_good():
            assert 1 + 1 == 2

        @pytest.mark.check(fr="Le compte est bon", en="The count is right")
        def test_bad():
            got = 3
            assert got == 4, say(fr=f"On attendait 4, on a obtenu {got}.", en=f"Expected 4, got {got}.")
    ''')
    report = run(path, lang="en", wall_seconds=60)
    assert report["status"] == "ok" and report["detail"] is None
    assert (report["passed"], report["failed"], report["all_passed"]) == (1, 1, False)
    good, bad = report["checks"]
    assert good["outcome"] == "passed" and good["title"] == {"fr": "Ça marche", "en": "It works"}
    assert bad["outcome"] == "failed"
    assert bad["message"] == "Expected 4, got 3."


def test_all_passing_checks_mark_the_exercise_passed(tmp_path, run):
    path = write_checks(tmp_path, '''
        def test_one():
            assert sorted([2, 1]) == [1, 2]
    ''')
    report = run(path, wall_seconds=60)
    assert report["all_passed"] is True
    assert report["seconds"] > 0


def test_a_process_that_dies_is_reported_as_crashed(tmp_path, run):
    path = write_checks(tmp_path, '''
        import os

        def test_dies():
            print("about to die", flush=True)
            os._exit(3)
    ''')
    report = run(path, wall_seconds=60)
    assert report["status"] == "crashed"
    assert report["returncode"] == 3
    assert report["all_passed"] is False
    assert "about to die" in report["output"]
    assert "sortie" in report["detail"]["fr"] and "output" in report["detail"]["en"]


def test_a_hanging_check_is_stopped_at_the_wall_time_limit(tmp_path, run):
    path = write_checks(tmp_path, '''
        import time

        def test_hangs():
            time.sleep(120)
    ''')
    started = time.monotonic()
    report = run(path, wall_seconds=4)
    assert time.monotonic() - started < 20
    assert report["status"] == "timeout"
    assert report["all_passed"] is False
    assert "4 s" in report["detail"]["en"]


def test_a_busy_loop_is_stopped_by_the_cpu_limit(tmp_path, run):
    path = write_checks(tmp_path, '''
        def test_spins():
            while True:
                pass
    ''')
    report = run(path, wall_seconds=120, cpu_seconds=2)
    assert report["status"] == "crashed"
    assert "CPU" in report["detail"]["en"]


def test_memory_hungry_code_gets_a_memory_error_not_the_machine(tmp_path, run):
    path = write_checks(tmp_path, '''
        def test_eats_memory():
            hoard = bytearray(4 * 1024**3)
            assert hoard
    ''')
    # 2 GiB: above what a child forked from the warm worker (TensorFlow loaded) already holds, below the 4 GiB asked.
    report = run(path, wall_seconds=60, memory_bytes=2 * 1024**3)
    assert report["status"] == "ok"
    (entry,) = report["checks"]
    assert entry["outcome"] == "failed"
    assert "MemoryError" in entry["message"]


def test_megabytes_of_output_are_cut_to_a_tail(tmp_path, run):
    path = write_checks(tmp_path, '''
        import os

        def test_floods():
            line = b"x" * 999 + b"\\n"
            for _ in range(20_000):      # 20 MB straight to the real stdout
                os.write(1, line)
            os.write(1, b"THE END\\n")
    ''')
    report = run(path, wall_seconds=120, output_bytes=10_000)
    assert report["status"] == "ok" and report["all_passed"]
    assert len(report["output"]) < 12_000
    assert "bytes of output left out" in report["output"]
    assert "THE END" in report["output"]


def test_huge_check_messages_are_shortened(tmp_path, run):
    path = write_checks(tmp_path, '''
        def test_shouts():
            assert False, "!" * 100_000
    ''')
    report = run(path, wall_seconds=60)
    (entry,) = report["checks"]
    assert len(entry["message"]) <= runner.MESSAGE_CHARS + 10


def test_processes_left_behind_are_killed(tmp_path, run):
    pid_file = tmp_path / "child.pid"
    path = write_checks(tmp_path, f'''
        import subprocess

        def test_spawns():
            child = subprocess.Popen(["sleep", "300"])
            open({str(pid_file)!r}, "w").write(str(child.pid))
    ''')
    report = run(path, wall_seconds=60)
    assert report["all_passed"]
    pid = int(pid_file.read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        # A zombie reaped by init still answers kill(0) briefly.
        time.sleep(0.1)
    else:
        with open(f"/proc/{pid}/stat") as stat:
            assert stat.read().split()[2] == "Z", "the check's child process is still running"


def test_the_language_reaches_the_checks(tmp_path, run):
    path = write_checks(tmp_path, '''
        from aurore.course.checks.plugin import say

        def test_lang():
            assert False, say(fr="en français", en="in English")
    ''')
    assert run(path, lang="fr", wall_seconds=60)["checks"][0]["message"] == "en français"


def test_exercise_numbers_are_validated_before_anything_runs():
    with pytest.raises(AuroreError):
        runner.run_checks("../../etc/passwd")


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(ValueError):
        runner.run_check_file(tmp_path / "x.py", variant="other")


def test_each_warm_check_starts_clean_of_the_previous_one(tmp_path, ready_worker):
    path = write_checks(tmp_path, '''
        import os
        import sys

        def test_fresh():
            assert "aurore_left_behind" not in sys.modules, "a module left by an earlier check"
            assert "AURORE_LEFT_BEHIND" not in os.environ, "an environment variable left by an earlier check"
            sys.modules["aurore_left_behind"] = sys
            os.environ["AURORE_LEFT_BEHIND"] = "1"
    ''')
    for _ in range(2):
        report = runner.run_check_file(path, worker=ready_worker, wall_seconds=60)
        assert report["warm"] and report["all_passed"], report["checks"]


def test_the_warm_worker_still_serves_after_a_timeout(tmp_path, ready_worker):
    hang = write_checks(tmp_path, '''
        import time

        def test_hangs():
            time.sleep(120)
    ''')
    assert runner.run_check_file(hang, worker=ready_worker, wall_seconds=3)["status"] == "timeout"
    good = tmp_path / "test_good.py"
    good.write_text("def test_one():\n    assert 2 + 2 == 4\n", encoding="utf-8")
    report = runner.run_check_file(good, worker=ready_worker, wall_seconds=60)
    assert report["warm"] and report["all_passed"]


def test_a_dead_worker_falls_back_to_a_cold_check_then_restarts(tmp_path):
    worker = warm_worker.CheckWorker()
    worker.start()
    try:
        assert worker.wait_ready(180)
        warm_worker.kill_group(worker._process.pid)
        worker._process.wait(timeout=10)
        good = write_checks(tmp_path, '''
            def test_one():
                assert 2 + 2 == 4
        ''')
        report = runner.run_check_file(good, worker=worker, wall_seconds=60)
        assert report["all_passed"] and report["warm"] is False
        worker.start()
        assert worker.wait_ready(180)
        assert runner.run_check_file(good, worker=worker, wall_seconds=60)["warm"] is True
    finally:
        worker.stop()


def test_an_unready_worker_is_not_waited_for(tmp_path):
    worker = warm_worker.CheckWorker()          # never started
    good = write_checks(tmp_path, '''
        def test_one():
            assert 2 + 2 == 4
    ''')
    report = runner.run_check_file(good, worker=worker, wall_seconds=60)
    assert report["all_passed"] and report["warm"] is False


def test_cold_checks_start_without_preexec_fn(tmp_path, monkeypatch):
    """preexec_fn is unsafe in a threaded server (the web app): limits are set by the child itself."""
    seen = {}
    real_popen = runner.subprocess.Popen

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(runner.subprocess, "Popen", spy)
    path = write_checks(tmp_path, '''
        import resource

        def test_limited():
            assert resource.getrlimit(resource.RLIMIT_CPU)[0] == 7
    ''')
    report = runner.run_check_file(path, wall_seconds=60, cpu_seconds=7)
    assert seen.get("preexec_fn") is None and seen.get("start_new_session") is True
    assert report["all_passed"], report["checks"]
