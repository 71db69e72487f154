"""The offline kit: everything a room without Wi-Fi needs, in one zip file.

`create` gathers what this machine already has (downloaded books, prepared
dataset, tokenizer, sentence-splitter parameters, trained models) into a zip
with a `manifest.json` listing every file's size and SHA-256. `load` puts a
kit in place on another machine, from a USB key.

A kit is trusted only after it is verified whole: the zip must open, every
member must be listed in the manifest (and the reverse), every name must be
a plain relative path (no `..`, no absolute path, no link), and every file
must have its listed size and checksum. Files are unpacked into a hidden
staging folder first and moved into the data folder only when all of them
check out, so a corrupt or truncated kit changes nothing.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

import aurore
from aurore import paths, progress
from aurore.errors import AuroreError
from aurore.evaluation import memorisation, scoring
from aurore.store import modeldir

MANIFEST = "manifest.json"
#: The most bytes of manifest read (a real one lists a few thousand files: well under 1 MiB).
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
FORMAT = 1
CHUNK = 1 << 20
BOOK_NAME = re.compile(r"^\d+\.txt$")
MODEL_FILES = (modeldir.CONFIG_FILE, modeldir.WEIGHTS_FILE, "metrics.jsonl", scoring.REPORT_FILE)
#: Already-compressed or binary formats gain nothing from deflate.
STORED_SUFFIXES = (".h5", ".arrow", ".keras", ".npz", ".zip", ".gz")


@dataclass(frozen=True)
class Section:
    """A part of the data folder a kit can carry, and where it goes back."""
    name: str
    where: Callable[[], Path]
    #: "files": each file is moved into place on its own (the book cache keeps
    #: books the kit lacks); "dir": the folder is replaced whole;
    #: "dirs": each sub-folder (one model) is replaced whole.
    unit: str


SECTIONS = (
    Section("books", paths.cache_dir, "files"),
    Section("dataset", paths.dataset_dir, "dir"),
    Section("tokenizer", paths.tokenizer_dir, "dir"),
    Section("nltk_data", paths.nltk_dir, "dir"),
    Section("models", paths.models_dir, "dirs"),
)
SECTION_NAMES = tuple(section.name for section in SECTIONS)


def _section(name: str) -> Section:
    for section in SECTIONS:
        if section.name == name:
            return section
    raise AuroreError(f"Unknown kit section {name!r}: use one of {', '.join(SECTION_NAMES)}.")


# ------------------------------------------------------------------ create

def _files_of(section: Section) -> Iterator[tuple[str, Path]]:
    """(name in the kit, file on disk) for everything of `section` on this machine."""
    root = section.where()
    if not root.is_dir():
        return
    if section.name == "books":
        for path in sorted(root.iterdir()):
            if path.is_file() and BOOK_NAME.match(path.name):
                yield f"books/{path.name}", path
    elif section.name == "models":
        for model in sorted(modeldir.find_models(root)):
            for name in MODEL_FILES:
                if (model / name).is_file():
                    yield f"models/{model.name}/{name}", model / name
            yield from _tree(model / modeldir.TOKENIZER_DIR, f"models/{model.name}/{modeldir.TOKENIZER_DIR}")
    elif section.name == "dataset":
        if (root / "dataset_dict.json").is_file():
            # The memorisation index is derived data: rebuilt in seconds, and 9 MB that zip cannot shrink.
            yield from (item for item in _tree(root, "dataset") if item[1].name != memorisation.INDEX_FILE)
    else:
        yield from _tree(root, section.name)


def _tree(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """Regular files under `root`, skipping hidden and temporary ones (half-written work)."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or path.name.endswith(".part"):
            continue
        if path.is_file() and not path.is_symlink():
            yield f"{prefix}/{relative.as_posix()}", path


def create(kit_path: str | os.PathLike, without: tuple[str, ...] = ()) -> dict:
    """Write the kit to `kit_path` (atomically); returns its manifest."""
    kit_path = Path(kit_path)
    if kit_path.suffix.lower() != ".zip":
        raise AuroreError(f"The kit must be a .zip file, not {kit_path.name!r} (e.g. aurore-kit.zip).")
    for name in without:
        _section(name)
    entries = [(name, path) for section in SECTIONS if section.name not in without
               for name, path in _files_of(section)]
    if not entries:
        raise AuroreError(f"Nothing to put in a kit: no books, dataset, tokenizer or model under "
                          f"{paths.data_dir()}. Run `python -m aurore prepare` (and the later steps) first.")
    kit_path.parent.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT, "aurore": aurore.__version__,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "files": []}
    fd, tmp = tempfile.mkstemp(prefix=f".{kit_path.name}.", suffix=".part", dir=kit_path.parent)
    os.close(fd)
    total = sum(path.stat().st_size for _, path in entries)
    try:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as archive, \
                progress.task("Packing the kit", total=total, unit="B") as task:
            for name, path in entries:
                compression = (zipfile.ZIP_STORED if path.suffix.lower() in STORED_SUFFIXES
                               else zipfile.ZIP_DEFLATED)
                digest = hashlib.sha256()
                size = 0
                info = zipfile.ZipInfo.from_file(path, name)
                info.compress_type = compression
                with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        target.write(chunk)
                        size += len(chunk)
                        task.update(len(chunk))
                manifest["files"].append({"path": name, "size": size, "sha256": digest.hexdigest()})
            archive.writestr(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a kit is meant to be copied around
        os.replace(tmp, kit_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return manifest


# -------------------------------------------------------------- verify/load

def _refuse(kit: Path, why: str) -> AuroreError:
    return AuroreError(f"The kit {kit} is refused: {why}. Nothing was changed. "
                       "Copy the kit again from its source (or create a new one with `python -m aurore bundle "
                       "create`).")


def _safe_name(name: str) -> bool:
    """A plain relative POSIX path inside one of the known sections."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return False
    parts = PurePosixPath(name).parts
    if any(part in ("", ".", "..") for part in parts) or name.endswith("/"):
        return False
    if parts[0] not in SECTION_NAMES or len(parts) < 2:
        return False
    if parts[0] == "books" and (len(parts) != 2 or not BOOK_NAME.match(parts[1])):
        return False
    if parts[0] == "models" and len(parts) < 3:
        return False
    return True


def _read_manifest(kit: Path, archive: zipfile.ZipFile) -> dict:
    try:
        with archive.open(MANIFEST) as member:       # never more than the cap, whatever its header claims
            raw = member.read(MAX_MANIFEST_BYTES + 1)
    except KeyError:
        raise _refuse(kit, f"it has no {MANIFEST} (is it an Aurore kit?)") from None
    except (OSError, zipfile.BadZipFile, zlib.error, NotImplementedError) as error:
        raise _refuse(kit, f"its {MANIFEST} cannot be read ({error})") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise _refuse(kit, f"its {MANIFEST} is larger than {MAX_MANIFEST_BYTES // 2**20} MiB")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise _refuse(kit, f"its {MANIFEST} is unreadable ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(
            manifest.get("files"), list):
        raise _refuse(kit, f"its {MANIFEST} is not an Aurore kit manifest of format {FORMAT}")
    for entry in manifest["files"]:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("size"), int) and entry["size"] >= 0
                and isinstance(entry.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])):
            raise _refuse(kit, f"its {MANIFEST} has a malformed entry: {entry!r}")
    return manifest


def _check_members(kit: Path, archive: zipfile.ZipFile, manifest: dict) -> dict[str, dict]:
    listed: dict[str, dict] = {}
    for entry in manifest["files"]:
        if not _safe_name(entry["path"]):
            raise _refuse(kit, f"unsafe or unexpected file name {entry['path']!r} in its manifest")
        if entry["path"] in listed:
            raise _refuse(kit, f"{entry['path']!r} is listed twice")
        listed[entry["path"]] = entry
    seen = set()
    for info in archive.infolist():
        if info.filename == MANIFEST:
            continue
        if info.filename in seen:
            raise _refuse(kit, f"{info.filename!r} appears twice in the zip")
        seen.add(info.filename)
        if info.filename not in listed:
            raise _refuse(kit, f"{info.filename!r} is in the zip but not in the manifest")
        mode = info.external_attr >> 16
        if info.is_dir() or stat.S_ISLNK(mode) or (stat.S_IFMT(mode) not in (0, stat.S_IFREG)):
            raise _refuse(kit, f"{info.filename!r} is not a plain file")
        if info.file_size != listed[info.filename]["size"]:
            raise _refuse(kit, f"{info.filename!r} has {info.file_size} bytes, the manifest says "
                               f"{listed[info.filename]['size']}")
    missing = sorted(set(listed) - seen)
    if missing:
        raise _refuse(kit, f"{len(missing)} file(s) of the manifest are missing, e.g. {missing[0]!r}")
    return listed


def _open(kit: Path) -> zipfile.ZipFile:
    if not kit.is_file():
        raise AuroreError(f"No kit at {kit}. Give the path of the .zip file (e.g. /media/usb/aurore-kit.zip).")
    try:
        return zipfile.ZipFile(kit)
    except (zipfile.BadZipFile, OSError) as error:
        raise _refuse(kit, f"it is not a readable zip file, it may be truncated ({error})") from None


def _extract(kit: Path, archive: zipfile.ZipFile, listed: dict[str, dict], staging: Path | None) -> int:
    """Read every member, check its checksum; with `staging`, also write it there."""
    total = sum(entry["size"] for entry in listed.values())
    with progress.task("Checking the kit", total=total, unit="B") as task:
        for name, entry in listed.items():
            digest = hashlib.sha256()
            size = 0
            target = None
            if staging is not None:
                target = staging / name
                if not target.resolve().is_relative_to(staging.resolve()):  # belt and braces
                    raise _refuse(kit, f"unsafe file name {name!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(name) as source, (target.open("wb") if target else _Null()) as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                        task.update(len(chunk))
            except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as error:
                raise _refuse(kit, f"{name!r} cannot be read, the kit is damaged or truncated ({error})") from None
            if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
                raise _refuse(kit, f"{name!r} does not match its SHA-256 checksum (damaged copy)")
    return total


class _Null:
    def write(self, data: bytes) -> None:
        pass

    def __enter__(self) -> "_Null":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def verify(kit_path: str | os.PathLike) -> dict:
    """Check a kit completely without installing anything; returns its manifest."""
    kit = Path(kit_path)
    with _open(kit) as archive:
        manifest = _read_manifest(kit, archive)
        listed = _check_members(kit, archive, manifest)
        _extract(kit, archive, listed, staging=None)
    return manifest


def load(kit_path: str | os.PathLike) -> list[str]:
    """Verify the kit, then put its contents in the data folder; returns what was installed."""
    kit = Path(kit_path)
    data = paths.data_dir()
    data.mkdir(parents=True, exist_ok=True)
    with _open(kit) as archive:
        manifest = _read_manifest(kit, archive)
        listed = _check_members(kit, archive, manifest)
        needed = sum(entry["size"] for entry in listed.values())
        free = shutil.disk_usage(data).free
        if needed > free:
            raise AuroreError(f"The kit needs {needed / 1e9:.1f} GB in {data}, only {free / 1e9:.1f} GB are free. "
                              "Nothing was changed.")
        staging = Path(tempfile.mkdtemp(prefix=".kit-", suffix=".part", dir=data))
        try:
            _extract(kit, archive, listed, staging)
            return _install(staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _install(staging: Path) -> list[str]:
    """Move verified files into place: each book, and each folder whole, by atomic rename.

    The staging folder sits in the data folder, so these are renames on one
    disk (the book cache may be elsewhere with AURORE_CACHE: then copied
    next to its destination first, and renamed).
    """
    installed: list[str] = []
    for section in SECTIONS:
        source = staging / section.name
        if not source.is_dir():
            continue
        destination = section.where()
        if section.unit == "files":
            destination.mkdir(parents=True, exist_ok=True)
            for path in sorted(source.iterdir()):
                _move_file(path, destination / path.name)
                installed.append(f"{section.name}/{path.name}")
        elif section.unit == "dir":
            _replace_dir(source, destination)
            installed.append(section.name)
        else:
            for model in sorted(p for p in source.iterdir() if p.is_dir()):
                _replace_dir(model, destination / model.name)
                installed.append(f"{section.name}/{model.name}")
    return installed


def _move_file(source: Path, destination: Path) -> None:
    try:
        os.replace(source, destination)
    except OSError:  # another file system: copy beside the destination, then rename
        tmp = destination.with_name(f".{destination.name}.part")
        shutil.copy2(source, tmp)
        os.replace(tmp, destination)


def _replace_dir(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.parent.stat().st_dev != source.stat().st_dev:
        tmp = destination.with_name(f".{destination.name}.part")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp)
        source = tmp
    old = None
    if destination.exists():
        progress.log(f"Replacing {destination} with the kit's copy.")
        old = destination.with_name(f".{destination.name}.old-{os.getpid()}")
        os.replace(destination, old)
    os.replace(source, destination)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
