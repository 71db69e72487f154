"""Offline kit: round trip, and damaged or malicious kits refused without any change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from aurore.course import bundle
from aurore.errors import AuroreError

ROOT = Path(__file__).resolve().parent.parent


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def _fill(data: Path) -> None:
    """A data folder as the workshop leaves it (small stand-in files)."""
    _write(data / "cache/books/13380.txt", "GABRIEL\n\nPar George Sand.\n" * 50)
    _write(data / "cache/books/34204.txt", "LA PETITE FADETTE\n\nLe père Barbeau.\n" * 50)
    _write(data / "cache/books/.34205.txt.part", "half a download")
    _write(data / "dataset/dataset_dict.json", '{"splits": ["train", "validation", "test"]}')
    _write(data / "dataset/train/data-00000-of-00001.arrow", os.urandom(3000))
    _write(data / "dataset/stats.json", '{"sentences": 3}')
    _write(data / "dataset/shingles-8.npy", os.urandom(800))      # the memorisation index: derived data
    _write(data / "tokenizer/tokenizer.json", '{"model": {"type": "BPE"}}')
    _write(data / "tokenizer/tokenizer_config.json", "{}")
    _write(data / "nltk_data/punkt-french-abc.json", "{}")
    for name in ("cpu", "gpu"):
        model = data / "models" / name
        _write(model / "aurore.json", json.dumps({"format": 1, "name": name}))
        _write(model / "model.weights.h5", os.urandom(5000))
        _write(model / "metrics.jsonl", '{"step": 100, "val_loss": 4.2}\n')
        _write(model / "evaluation.json", '{"test": {"bits_per_character": 1.9}}')
        _write(model / "tokenizer/tokenizer.json", '{"model": {"type": "BPE"}}')
        _write(model / "checkpoint/optimizer.h5", os.urandom(2000))
    _write(data / "models/broken/aurore.json", "{}")  # incomplete: no weights


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def source(tmp_path, monkeypatch):
    data = tmp_path / "source"
    _fill(data)
    monkeypatch.setenv("AURORE_DATA", str(data))
    monkeypatch.delenv("AURORE_CACHE", raising=False)
    return data


@pytest.fixture
def kit(source, tmp_path):
    path = tmp_path / "usb" / "aurore-kit.zip"
    bundle.create(path)
    return path


@pytest.fixture
def room(tmp_path, monkeypatch):
    """The room's machine: an existing data folder that a bad kit must leave alone."""
    data = tmp_path / "room"
    _write(data / "cache/books/99999.txt", "un livre déjà là")
    _write(data / "tokenizer/tokenizer.json", '{"old": true}')
    monkeypatch.setenv("AURORE_DATA", str(data))
    return data


def test_round_trip_installs_every_file_and_nothing_else(source, kit, room):
    expected = _snapshot(source)
    installed = bundle.load(kit)
    got = _snapshot(room)
    for name in ("cache/books/13380.txt", "cache/books/34204.txt", "dataset/train/data-00000-of-00001.arrow",
                 "dataset/stats.json", "tokenizer/tokenizer.json", "nltk_data/punkt-french-abc.json",
                 "models/cpu/model.weights.h5", "models/gpu/metrics.jsonl", "models/cpu/tokenizer/tokenizer.json",
                 "models/cpu/evaluation.json"):
        assert got[name] == expected[name], name
    assert "tokenizer/tokenizer_config.json" in got
    assert not any("checkpoint" in name for name in got), "training checkpoints stay out of the kit"
    assert not any(".part" in name for name in got), "half-downloaded files stay out of the kit"
    assert "dataset/shingles-8.npy" not in got, "the memorisation index is rebuilt, not carried"
    assert "models/broken/aurore.json" not in got, "incomplete models stay out of the kit"
    assert got["cache/books/99999.txt"] == "un livre déjà là".encode(), "books the kit lacks are kept"
    assert "models/cpu" in installed and "books/13380.txt" in installed
    assert not [p for p in room.iterdir() if p.name.startswith(".kit-")], "the staging folder is removed"


def test_manifest_lists_sizes_and_sha256(kit, source):
    import hashlib

    with zipfile.ZipFile(kit) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    entries = {entry["path"]: entry for entry in manifest["files"]}
    weights = (source / "models/cpu/model.weights.h5").read_bytes()
    assert entries["models/cpu/model.weights.h5"] == {
        "path": "models/cpu/model.weights.h5", "size": len(weights),
        "sha256": hashlib.sha256(weights).hexdigest()}
    assert bundle.verify(kit)["format"] == bundle.FORMAT


def test_create_without_a_section(source, tmp_path):
    manifest = bundle.create(tmp_path / "books-only.zip", without=("models", "dataset", "tokenizer", "nltk_data"))
    assert {entry["path"].split("/")[0] for entry in manifest["files"]} == {"books"}


def _rewrite(kit: Path, out: Path, *, members: dict[str, bytes] | None = None, manifest=None,
             symlink: str | None = None) -> Path:
    """A copy of `kit` with members replaced or added, and/or another manifest."""
    with zipfile.ZipFile(kit) as archive:
        contents = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    contents.update(members or {})
    if manifest is not None:
        contents["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, "/etc/passwd")
    return out


def _manifest(kit: Path) -> dict:
    with zipfile.ZipFile(kit) as archive:
        return json.loads(archive.read("manifest.json"))


def _assert_refused_and_unchanged(kit: Path, room: Path, message: str) -> None:
    before = _snapshot(room)
    with pytest.raises(AuroreError, match=message):
        bundle.load(kit)
    assert _snapshot(room) == before
    assert sorted(p.name for p in room.iterdir()) == ["cache", "tokenizer"]


def test_truncated_kit_is_refused(kit, room, tmp_path):
    cut = tmp_path / "cut.zip"
    data = kit.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    _assert_refused_and_unchanged(cut, room, "truncated")


def test_flipped_byte_is_refused(kit, room, tmp_path):
    damaged = tmp_path / "damaged.zip"
    data = bytearray(kit.read_bytes())
    with zipfile.ZipFile(kit) as archive:
        info = archive.getinfo("models/cpu/model.weights.h5")  # stored as is: its bytes are in the file
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 100
    data[offset] ^= 0xFF
    damaged.write_bytes(bytes(data))
    _assert_refused_and_unchanged(damaged, room, "damaged")


def test_checksum_mismatch_is_refused(kit, room, tmp_path):
    manifest = _manifest(kit)
    for entry in manifest["files"]:
        if entry["path"] == "tokenizer/tokenizer.json":
            entry["sha256"] = "0" * 64
    _assert_refused_and_unchanged(_rewrite(kit, tmp_path / "bad.zip", manifest=manifest), room, "SHA-256")


@pytest.mark.parametrize("evil", ["../evil.txt", "books/../../evil.txt", "/tmp/evil.txt", "models/../x/y",
                                  "C:/evil.txt", "books\\..\\evil.txt", "books/evil.sh", "elsewhere/x.txt"])
def test_path_traversal_and_unknown_places_are_refused(kit, room, tmp_path, evil):
    import hashlib

    payload = b"#!/bin/sh\necho owned\n"
    manifest = _manifest(kit)
    manifest["files"].append({"path": evil, "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()})
    bad = _rewrite(kit, tmp_path / "evil.zip", members={evil: payload}, manifest=manifest)
    _assert_refused_and_unchanged(bad, room, "unsafe")
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_unlisted_missing_and_link_members_are_refused(kit, room, tmp_path):
    extra = _rewrite(kit, tmp_path / "extra.zip", members={"books/11111.txt": b"extra"})
    _assert_refused_and_unchanged(extra, room, "not in the manifest")

    manifest = _manifest(kit)
    manifest["files"].append({"path": "books/22222.txt", "size": 1, "sha256": "a" * 64})
    missing = _rewrite(kit, tmp_path / "missing.zip", manifest=manifest)
    _assert_refused_and_unchanged(missing, room, "missing")

    manifest = _manifest(kit)
    manifest["files"].append({"path": "tokenizer/link.json", "size": 11, "sha256": "b" * 64})
    link = _rewrite(kit, tmp_path / "link.zip", manifest=manifest, symlink="tokenizer/link.json")
    _assert_refused_and_unchanged(link, room, "not a plain file")


def test_not_a_kit(room, tmp_path):
    plain = tmp_path / "photos.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("photo.jpg", b"jpeg")
    _assert_refused_and_unchanged(plain, room, "manifest.json")
    with pytest.raises(AuroreError, match="No kit"):
        bundle.load(tmp_path / "nowhere.zip")


def test_a_huge_manifest_is_refused_without_being_read_whole(kit, room, tmp_path):
    manifest = _manifest(kit)
    manifest["padding"] = " " * (bundle.MAX_MANIFEST_BYTES + 10)    # deflates to a few KiB: a zip bomb's way
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(kit) as archive, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in archive.infolist():
            if info.filename != "manifest.json":
                out.writestr(info.filename, archive.read(info.filename))
        out.writestr("manifest.json", json.dumps(manifest))
    assert bomb.stat().st_size < kit.stat().st_size + 100_000
    _assert_refused_and_unchanged(bomb, room, "larger than")


def test_load_replaces_a_folder_whole(kit, room):
    bundle.load(kit)
    assert json.loads((room / "tokenizer/tokenizer.json").read_text()) == {"model": {"type": "BPE"}}


def test_nothing_to_pack_and_bad_name_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path / "empty"))
    monkeypatch.delenv("AURORE_CACHE", raising=False)
    with pytest.raises(AuroreError, match="Nothing to put"):
        bundle.create(tmp_path / "kit.zip")
    with pytest.raises(AuroreError, match=".zip"):
        bundle.create(tmp_path / "kit.tar")
    assert not (tmp_path / "kit.zip").exists()


def test_cli_round_trip_and_refusal(source, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AURORE_DATA": str(source)}
    run = lambda *args, data=source: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "aurore", "bundle", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**env, "AURORE_DATA": str(data)})
    kit = tmp_path / "kit.zip"
    created = run("create", str(kit))
    assert created.returncode == 0, created.stderr
    assert "Kit written" in created.stdout
    assert run("verify", str(kit)).returncode == 0
    target = tmp_path / "target"
    loaded = run("load", str(kit), data=target)
    assert loaded.returncode == 0, loaded.stderr
    assert (target / "models/cpu/model.weights.h5").read_bytes() == (source / "models/cpu/model.weights.h5").read_bytes()
    shutil.copy(kit, tmp_path / "cut.zip")
    with open(tmp_path / "cut.zip", "r+b") as handle:
        handle.truncate(kit.stat().st_size - 10)
    refused = run("load", str(tmp_path / "cut.zip"), data=tmp_path / "other")
    assert refused.returncode == 2 and "refused" in refused.stderr and "Traceback" not in refused.stderr
