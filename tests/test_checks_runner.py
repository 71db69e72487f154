"""The check runner survives whatever the learner's code does: it crashes,
hangs, burns CPU, eats memory, prints megabytes, leaves processes behind.
Each case runs a tiny check file in the real limited subprocess."""

import os
import textwrap
import time

import pytest

from aurore import checks
from aurore.errors import AuroreError


def write_checks(tmp_path, body: str):
    path = tmp_path / "test_fake_checks.py"
    path.write_text("import pytest\n\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def test_reports_each_check_with_its_bilingual_title_and_message(tmp_path):
    path = write_checks(tmp_path, '''
        from aurore.check_plugin import say

        @pytest.mark.check(fr="Ça marche", en="It works")
        def test_good():
            assert 1 + 1 == 2

        @pytest.mark.check(fr="Le compte est bon", en="The count is right")
        def test_bad():
            got = 3
            assert got == 4, say(fr=f"On attendait 4, on a obtenu {got}.", en=f"Expected 4, got {got}.")
    ''')
    report = checks.run_check_file(path, lang="en", wall_seconds=60)
    assert report["status"] == "ok" and report["detail"] is None
    assert (report["passed"], report["failed"], report["all_passed"]) == (1, 1, False)
    good, bad = report["checks"]
    assert good["outcome"] == "passed" and good["title"] == {"fr": "Ça marche", "en": "It works"}
    assert bad["outcome"] == "failed"
    assert bad["message"] == "Expected 4, got 3."


def test_all_passing_checks_mark_the_exercise_passed(tmp_path):
    path = write_checks(tmp_path, '''
        def test_one():
            assert True
    ''')
    report = checks.run_check_file(path, wall_seconds=60)
    assert report["all_passed"] is True
    assert report["seconds"] > 0


def test_a_process_that_dies_is_reported_as_crashed(tmp_path):
    path = write_checks(tmp_path, '''
        import os

        def test_dies():
            print("about to die", flush=True)
            os._exit(3)
    ''')
    report = checks.run_check_file(path, wall_seconds=60)
    assert report["status"] == "crashed"
    assert report["returncode"] == 3
    assert report["all_passed"] is False
    assert "about to die" in report["output"]
    assert "sortie" in report["detail"]["fr"] and "output" in report["detail"]["en"]


def test_a_hanging_check_is_stopped_at_the_wall_time_limit(tmp_path):
    path = write_checks(tmp_path, '''
        import time

        def test_hangs():
            time.sleep(120)
    ''')
    started = time.monotonic()
    report = checks.run_check_file(path, wall_seconds=4)
    assert time.monotonic() - started < 20
    assert report["status"] == "timeout"
    assert report["all_passed"] is False
    assert "4 s" in report["detail"]["en"]


def test_a_busy_loop_is_stopped_by_the_cpu_limit(tmp_path):
    path = write_checks(tmp_path, '''
        def test_spins():
            while True:
                pass
    ''')
    report = checks.run_check_file(path, wall_seconds=120, cpu_seconds=2)
    assert report["status"] == "crashed"
    assert "CPU" in report["detail"]["en"]


def test_memory_hungry_code_gets_a_memory_error_not_the_machine(tmp_path):
    path = write_checks(tmp_path, '''
        def test_eats_memory():
            hoard = bytearray(4 * 1024**3)
            assert hoard
    ''')
    report = checks.run_check_file(path, wall_seconds=60, memory_bytes=512 * 1024**2)
    assert report["status"] == "ok"
    (entry,) = report["checks"]
    assert entry["outcome"] == "failed"
    assert "MemoryError" in entry["message"]


def test_megabytes_of_output_are_cut_to_a_tail(tmp_path):
    path = write_checks(tmp_path, '''
        import os

        def test_floods():
            line = b"x" * 999 + b"\\n"
            for _ in range(20_000):      # 20 MB straight to the real stdout
                os.write(1, line)
            os.write(1, b"THE END\\n")
    ''')
    report = checks.run_check_file(path, wall_seconds=120, output_bytes=10_000)
    assert report["status"] == "ok" and report["all_passed"]
    assert len(report["output"]) < 12_000
    assert "bytes of output left out" in report["output"]
    assert "THE END" in report["output"]


def test_huge_check_messages_are_shortened(tmp_path):
    path = write_checks(tmp_path, '''
        def test_shouts():
            assert False, "!" * 100_000
    ''')
    report = checks.run_check_file(path, wall_seconds=60)
    (entry,) = report["checks"]
    assert len(entry["message"]) <= checks.MESSAGE_CHARS + 10


def test_processes_left_behind_are_killed(tmp_path):
    pid_file = tmp_path / "child.pid"
    path = write_checks(tmp_path, f'''
        import subprocess

        def test_spawns():
            child = subprocess.Popen(["sleep", "300"])
            open({str(pid_file)!r}, "w").write(str(child.pid))
    ''')
    report = checks.run_check_file(path, wall_seconds=60)
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


def test_the_language_reaches_the_checks(tmp_path):
    path = write_checks(tmp_path, '''
        from aurore.check_plugin import say

        def test_lang():
            assert False, say(fr="en français", en="in English")
    ''')
    assert checks.run_check_file(path, lang="fr", wall_seconds=60)["checks"][0]["message"] == "en français"


def test_exercise_numbers_are_validated_before_anything_runs():
    with pytest.raises(AuroreError):
        checks.run_checks("../../etc/passwd")


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(ValueError):
        checks.run_check_file(tmp_path / "x.py", variant="other")
