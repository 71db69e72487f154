"""Atomic files and folder swaps under injected faults: the real code fails mid-way, nothing is lost.

Each crash is produced by the code under test, not built by hand: an
`os.replace` that raises at a chosen rename, or a child process that runs
`aurore.store.atomic` and is killed with SIGKILL at a chosen point (between
writing and renaming, between the two renames of a swap, before the old
folder is removed). Then the old content must be intact and `recover_dir`
must put back the last complete version. bench/mutation.py runs this file
against mutants of atomic.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from aurore.store import atomic

#: The folder `aurore` was imported from (under bench/mutation.py: the mutated copy), for the child processes.
IMPORT_ROOT = Path(atomic.__file__).resolve().parents[2]

#: A child that runs one atomic operation and dies by SIGKILL at the chosen `os.replace` call (1st, 2nd…),
#: just before it ("before") or just after it ("after"); "wait" instead of dying: it says "ready" on a file
#: and sleeps, a swap in progress.
CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from aurore.store import atomic

    operation, target, call, when, ready = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    for number in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
        signal.signal(number, signal.SIG_DFL)     # any signal sent to it ends it (nohup ignores SIGHUP)
    real_replace, calls = os.replace, []

    def stop():
        if when.endswith("wait"):
            Path(ready).write_text("ready")
            time.sleep(600)
        os.kill(os.getpid(), signal.SIGKILL)

    def replace(source, destination):
        calls.append(source)
        if len(calls) == call and when.startswith("before"):
            stop()
        real_replace(source, destination)
        if len(calls) == call and when.startswith("after"):
            stop()

    os.replace = replace
    if operation == "file":
        atomic.write_text(target, "new version")
    else:
        with atomic.replace_dir(target) as tmp:
            (tmp / "state.json").write_text("new version")
    sys.exit(0)   # the kill did not happen
""")


def _child(operation: str, target: Path, call: int, when: str, ready: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(IMPORT_ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", CHILD, operation, str(target), str(call), when,
                             str(ready or target.parent / "ready")], env=env)


def _killed(operation: str, target: Path, call: int, when: str) -> int:
    """Run the child to its SIGKILL; its pid (a process that is gone)."""
    child = _child(operation, target, call, when)
    assert child.wait(timeout=120) == -signal.SIGKILL, "the child was meant to die by SIGKILL"
    return child.pid


def _folder(path: Path, text: str) -> None:
    with atomic.replace_dir(path) as tmp:
        (tmp / "state.json").write_text(text)
        (tmp / text.replace(" ", "_")).write_text(text)


def _leftovers(parent: Path, keep: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name != keep)


# --- files ---

def test_a_file_is_written_whole_with_no_temporary_left(tmp_path):
    target = tmp_path / "deep" / "er" / "notes.txt"
    atomic.write_text(target, "première version é")
    assert target.read_text(encoding="utf-8") == "première version é"
    atomic.write_bytes(target, b"\x00second")
    assert target.read_bytes() == b"\x00second"
    assert _leftovers(target.parent, "notes.txt") == []


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, failing):
    target = tmp_path / "notes.txt"
    atomic.write_text(target, "old version")

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, broken)
    with pytest.raises(OSError, match="No space left"):
        atomic.write_text(target, "new version")
    monkeypatch.undo()
    assert target.read_text() == "old version"
    assert _leftovers(tmp_path, "notes.txt") == []


def test_a_write_interrupted_by_the_user_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "notes.txt"
    monkeypatch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        atomic.write_text(target, "never")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_right_after_the_rename_keeps_the_new_file_and_is_reported(tmp_path, monkeypatch):
    target = tmp_path / "notes.txt"
    real_replace = os.replace

    def replace_then_interrupt(source, destination):
        real_replace(source, destination)
        raise KeyboardInterrupt()

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):       # not the temporary's FileNotFoundError
        atomic.write_text(target, "new version")
    monkeypatch.undo()
    assert target.read_text() == "new version" and _leftovers(tmp_path, "notes.txt") == []


def test_a_kill_between_writing_and_renaming_keeps_the_old_file(tmp_path):
    target = tmp_path / "notes.txt"
    atomic.write_text(target, "old version")
    _killed("file", target, call=1, when="before")
    assert target.read_text() == "old version"
    # The temporary was fully written (synced) but never renamed in.
    (part,) = [p for p in tmp_path.iterdir() if p.name != "notes.txt"]
    assert part.name.startswith(".notes.txt.") and part.name.endswith(".part") and part.read_text() == "new version"


def test_a_kill_just_after_the_rename_leaves_the_new_file_whole(tmp_path):
    target = tmp_path / "notes.txt"
    atomic.write_text(target, "old version")
    _killed("file", target, call=1, when="after")
    assert target.read_text() == "new version" and _leftovers(tmp_path, "notes.txt") == []


# --- folders ---

def test_a_folder_is_replaced_whole_with_nothing_left_beside_it(tmp_path):
    folder = tmp_path / "checkpoint"
    _folder(folder, "first version")
    _folder(folder, "second version")
    assert sorted(p.name for p in folder.iterdir()) == ["second_version", "state.json"]   # nothing of the first
    assert (folder / "state.json").read_text() == "second version"
    assert _leftovers(tmp_path, "checkpoint") == []


def test_an_error_while_filling_the_folder_leaves_the_old_one(tmp_path):
    folder = tmp_path / "checkpoint"
    _folder(folder, "old version")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic.replace_dir(folder) as tmp:
            (tmp / "state.json").write_text("half")
            raise RuntimeError("boom")
    assert (folder / "state.json").read_text() == "old version"
    assert _leftovers(tmp_path, "checkpoint") == []


def test_a_second_rename_that_fails_puts_the_old_folder_back(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoint"
    _folder(folder, "old version")
    real_replace, calls = os.replace, []

    def replace(source, destination):
        calls.append(Path(source).name)
        if len(calls) == 2:       # the old folder is aside; the new one fails to move in
            raise OSError(5, "Input/output error")
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="Input/output"):
        _folder(folder, "new version")
    monkeypatch.undo()
    assert calls[0] == "checkpoint" and calls[1].endswith(".part")     # then the way back: old -> checkpoint
    assert (folder / "state.json").read_text() == "old version"
    assert _leftovers(tmp_path, "checkpoint") == []
    _folder(folder, "new version")                      # and the next swap works
    assert (folder / "state.json").read_text() == "new version"


def test_a_kill_between_the_two_renames_is_recovered(tmp_path):
    folder = tmp_path / "checkpoint"
    _folder(folder, "old version")
    pid = _killed("dir", folder, call=1, when="after")
    assert not folder.exists()
    aside = tmp_path / f".checkpoint.old-{pid}"
    assert (aside / "state.json").read_text() == "old version"     # the old content, intact, aside
    assert atomic.recover_dir(folder) is True
    assert (folder / "state.json").read_text() == "old version" and not aside.exists()
    assert atomic.recover_dir(folder) is False                      # nothing left to do


def test_a_new_swap_first_recovers_a_swap_killed_midway(tmp_path):
    folder = tmp_path / "checkpoint"
    _folder(folder, "old version")
    _killed("dir", folder, call=1, when="after")
    _folder(folder, "new version")
    assert (folder / "state.json").read_text() == "new version"
    assert [name for name in _leftovers(tmp_path, "checkpoint") if ".old-" in name] == []


def test_a_kill_before_the_old_folder_is_removed_leaves_the_new_one_and_recovery_tidies(tmp_path):
    folder = tmp_path / "checkpoint"
    _folder(folder, "old version")
    pid = _killed("dir", folder, call=2, when="after")
    assert (folder / "state.json").read_text() == "new version"
    aside = tmp_path / f".checkpoint.old-{pid}"
    assert aside.exists()
    assert atomic.recover_dir(folder) is False                # the folder was there: nothing restored
    assert not aside.exists() and (folder / "state.json").read_text() == "new version"


def test_a_kill_before_the_first_rename_leaves_the_old_folder_in_place(tmp_path):
    folder = tmp_path / "checkpoint"
    _folder(folder, "old version")
    _killed("dir", folder, call=1, when="before")
    assert (folder / "state.json").read_text() == "old version"
    assert atomic.recover_dir(folder) is False
    assert (folder / "state.json").read_text() == "old version"


def test_a_swap_in_progress_is_left_alone_until_its_process_is_gone(tmp_path):
    folder = tmp_path / "checkpoint"
    _folder(folder, "old version")
    ready = tmp_path.parent / f"{tmp_path.name}-ready"
    child = _child("dir", folder, call=1, when="after-wait", ready=ready)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert child.poll() is None and time.monotonic() < deadline, "the child never reached its swap"
            time.sleep(0.05)
        aside = tmp_path / f".checkpoint.old-{child.pid}"
        assert atomic.recover_dir(folder) is False               # alive: its swap is not ours to finish
        assert not folder.exists() and (aside / "state.json").read_text() == "old version"
        with pytest.raises(subprocess.TimeoutExpired):            # asked whether it lives, not signalled:
            child.wait(timeout=1)                                # it still sleeps in its swap
    finally:
        child.kill()
        child.wait(timeout=60)
    assert atomic.recover_dir(folder) is True
    assert (folder / "state.json").read_text() == "old version"


def test_recovery_puts_back_the_latest_of_several_dead_swaps_and_removes_the_others(tmp_path):
    folder = tmp_path / "checkpoint"
    _folder(folder, "old version")
    _killed("dir", folder, call=1, when="after")              # the old version aside, the folder missing
    older = tmp_path / f".checkpoint.old-{_killed('file', tmp_path / 'other', call=1, when='before')}"
    older.mkdir()                                             # an earlier dead swap's leftover, an hour older
    (older / "state.json").write_text("older version")
    os.utime(older, (time.time() - 3600, time.time() - 3600))
    assert atomic.recover_dir(folder) is True
    assert (folder / "state.json").read_text() == "old version"
    assert [name for name in _leftovers(tmp_path, "checkpoint") if ".old-" in name] == []


def test_recovery_ignores_files_and_names_that_are_not_a_swap(tmp_path):
    folder = tmp_path / "checkpoint"
    for name in (".checkpoint.old-notapid", ".checkpoint.old-", ".other.old-1"):
        (tmp_path / name).mkdir()
    (tmp_path / ".checkpoint.old-1").write_text("a file, not a folder")
    assert atomic.recover_dir(folder) is False
    assert not folder.exists()
    assert _leftovers(tmp_path, "checkpoint") == sorted([".checkpoint.old-notapid", ".checkpoint.old-",
                                                         ".other.old-1", ".checkpoint.old-1"])


def test_a_name_with_glob_characters_is_recovered_only_from_its_own_leftovers(tmp_path):
    folder = tmp_path / "run[1]"
    _folder(folder, "old version")
    pid = _killed("dir", folder, call=1, when="after")
    decoy = tmp_path / f".run1.old-{pid}"                     # what `.run[1].old-*` matches if not escaped
    decoy.mkdir()
    (decoy / "state.json").write_text("another run")
    os.utime(decoy, (time.time() + 60, time.time() + 60))
    assert atomic.recover_dir(folder) is True and (folder / "state.json").read_text() == "old version"
    assert not (tmp_path / f".run[1].old-{pid}").exists() and (decoy / "state.json").exists()


def test_a_swap_of_another_user_s_process_is_taken_for_alive(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoint"
    _folder(folder, "old version")
    pid = _killed("dir", folder, call=1, when="after")

    def not_permitted(target, signal_number):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "kill", not_permitted)            # what kill(pid, 0) says for someone else's
    assert atomic.recover_dir(folder) is False and (tmp_path / f".checkpoint.old-{pid}").exists()
    monkeypatch.undo()
    assert atomic.recover_dir(folder) is True


def test_a_name_with_dashes_is_recovered(tmp_path):
    folder = tmp_path / "my-model-v2"
    _folder(folder, "old version")
    _killed("dir", folder, call=1, when="after")
    assert atomic.recover_dir(folder) is True and (folder / "state.json").read_text() == "old version"


def test_two_recoveries_racing_over_a_leftover_both_succeed(tmp_path, monkeypatch):
    """The other process removed the leftover first: this one's removal finds nothing, and goes on."""
    folder = tmp_path / "checkpoint"
    _folder(folder, "old version")
    pid = _killed("dir", folder, call=2, when="after")
    real_rmtree = shutil.rmtree

    def removed_first_by_the_other(path, **options):
        real_rmtree(path)
        real_rmtree(path, **options)

    monkeypatch.setattr(shutil, "rmtree", removed_first_by_the_other)
    assert atomic.recover_dir(folder) is False
    monkeypatch.undo()
    assert not (tmp_path / f".checkpoint.old-{pid}").exists() and (folder / "state.json").read_text() == "new version"
