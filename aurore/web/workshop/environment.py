"""What the environment page shows: versions, GPU, data present, disk.

Versions come from package metadata (no heavy import in the web process);
the GPU is looked for in two steps: at once, in what the system shows
(`nvidia-smi`, /dev/nvidia*: no GPU there, no GPU for TensorFlow on Linux),
then, only when there is one, by a probe in a subprocess that imports
TensorFlow (seconds and memory the app should not keep), once. The books are
counted wherever they come from: the download cache, `AURORE_SOURCE`'s
folder (never copied to the cache), or the prepared dataset itself. For every
missing piece the page says what to do (a command or a button), in the
page's language (gettext: `pieces` is called while answering the request).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from flask_babel import gettext

from aurore import paths
from aurore.store import modeldir, saved_dataset

PACKAGES = (("TensorFlow", "tensorflow"), ("Keras", "keras"), ("KerasHub", "keras-hub"),
            ("Transformers", "transformers"), ("Tokenizers", "tokenizers"), ("Flask", "flask"))

_GPU_PROBE = ("import aurore, json, tensorflow as tf; "
              "print(json.dumps([d.name for d in tf.config.list_physical_devices('GPU')]))")
_gpu_lock = threading.Lock()
_gpu_cache: dict | None = None


def versions() -> list[dict]:
    rows = [{"name": "Python", "version": platform.python_version()}]
    for name, dist in PACKAGES:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = None
        rows.append({"name": name, "version": version})
    return rows


def gpu_seen_by_the_system() -> dict:
    """At once, without TensorFlow: {"known": bool, "devices": [...]}; known=False where only TensorFlow can say.

    On Linux, TensorFlow uses NVIDIA GPUs through their driver: no driver device, no GPU.
    """
    if platform.system() != "Linux":
        return {"known": False, "devices": []}
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            done = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10)
            names = [line.split(" (UUID")[0] for line in done.stdout.splitlines() if line.startswith("GPU")]
            if done.returncode == 0:
                return {"known": True, "devices": names}
        except (subprocess.TimeoutExpired, OSError):
            pass
    devices = sorted(str(path) for path in Path("/dev").glob("nvidia[0-9]*"))
    return {"known": not devices, "devices": devices}


def gpu(timeout: float = 120) -> dict:
    """GPUs TensorFlow sees: {"ok": bool, "devices": [...], "error": str|None}; probed once per process."""
    global _gpu_cache
    with _gpu_lock:
        if _gpu_cache is None:
            try:
                done = subprocess.run([sys.executable, "-c", _GPU_PROBE], capture_output=True, text=True,
                                      timeout=timeout, cwd=paths.ROOT)
                lines = done.stdout.strip().splitlines()
                devices = json.loads(lines[-1]) if done.returncode == 0 and lines else None
                _gpu_cache = ({"ok": True, "devices": devices, "error": None} if devices is not None else
                              {"ok": False, "devices": [], "error": (done.stderr or "")[-500:]})
            except (subprocess.TimeoutExpired, OSError, ValueError) as error:
                return {"ok": False, "devices": [], "error": str(error)}
        return _gpu_cache


def _under(data_dir: Path, default: Path) -> Path:
    """A data path as aurore.paths defines it, moved under this app's data folder."""
    return data_dir / default.relative_to(paths.data_dir())


def _nonempty(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def _book_files(folder: Path | None) -> list[Path]:
    return sorted(folder.glob("*.txt")) if folder is not None and folder.is_dir() else []


def books_piece(cache: Path, source: str | None, dataset: Path) -> dict:
    """The books row: found in the cache, in AURORE_SOURCE's folder, or already inside the prepared dataset."""
    piece = {"key": "books", "ok": True, "step": "prepare",
             "todo": gettext("Run the 'prepare' step (button below) or `python -m aurore prepare`.")}
    cached = _book_files(cache)
    from_source = _book_files(Path(source)) if source else []
    stats = saved_dataset.load_stats(dataset) if _nonempty(dataset) else None
    in_dataset = {entry.get("book") for entry in (stats or {}).get("books", {}).values()}
    if cached:
        return {**piece, "path": str(cache), "what": gettext("Books cached: %(count)s", count=len(cached))}
    if from_source:
        return {**piece, "path": str(source),
                "what": gettext("Books in AURORE_SOURCE: %(count)s", count=len(from_source))}
    if in_dataset:
        return {**piece, "path": str(dataset),
                "what": gettext("Books in the prepared dataset: %(count)s", count=len(in_dataset))}
    return {**piece, "ok": False, "path": str(cache), "what": gettext("Books cached: %(count)s", count=0)}


def pieces(data_dir: str | Path) -> list[dict]:
    """Each piece of data the pipeline makes: present or not, what it is and how to make it (translated)."""
    data_dir = Path(data_dir)
    cache = paths.cache_dir()
    if cache.is_relative_to(paths.data_dir()):
        cache = _under(data_dir, cache)
    dataset = paths.dataset_dir(data_dir)
    tokenizer = paths.tokenizer_dir(data_dir)
    models = modeldir.find_models(paths.models_dir(data_dir))
    return [
        books_piece(cache, os.environ.get("AURORE_SOURCE"), dataset),
        {"key": "dataset", "ok": _nonempty(dataset), "path": str(dataset),
         "what": gettext("Dataset"),
         "todo": gettext("Run the 'prepare' step or `python -m aurore prepare`."),
         "step": "prepare"},
        {"key": "tokenizer", "ok": _nonempty(tokenizer), "path": str(tokenizer),
         "what": gettext("Specialised tokenizer"),
         "todo": gettext("Run the 'tokenizer' step or `python -m aurore tokenizer`."),
         "step": "tokenizer"},
        {"key": "model", "ok": bool(models), "path": ", ".join(str(m) for m in models) or
         str(paths.models_dir(data_dir)),
         "what": gettext("Trained models: %(count)s", count=len(models)),
         "todo": gettext("Run the 'train' step or `python -m aurore train`."),
         "step": "train"},
    ]


def disk(data_dir: str | Path) -> dict:
    """Free space where the data folder lives (its closest existing parent)."""
    path = Path(data_dir)
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    return {"free_gib": round(usage.free / 1024**3, 1), "total_gib": round(usage.total / 1024**3, 1),
            "low": usage.free < 5 * 1024**3, "path": str(path)}
