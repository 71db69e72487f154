"""What the environment page shows: versions, GPU, data present, disk.

Versions come from package metadata (no heavy import in the web process);
the GPU is probed once, in a subprocess that imports TensorFlow, because
that import takes seconds and memory the app should not keep. For every
missing piece the page says what to do (a command or a button), in the
page's language (gettext: `pieces` is called while answering the request).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from flask_babel import gettext

from aurore import paths
from aurore.store import modeldir

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


def pieces(data_dir: str | Path) -> list[dict]:
    """Each piece of data the pipeline makes: present or not, what it is and how to make it (translated)."""
    data_dir = Path(data_dir)
    cache = paths.cache_dir()
    if cache.is_relative_to(paths.data_dir()):
        cache = _under(data_dir, cache)
    books = sorted(cache.glob("*.txt")) if cache.is_dir() else []
    dataset = paths.dataset_dir(data_dir)
    tokenizer = paths.tokenizer_dir(data_dir)
    models = modeldir.find_models(paths.models_dir(data_dir))
    return [
        {"key": "books", "ok": bool(books), "path": str(cache),
         "what": gettext("Books cached: %(count)s", count=len(books)),
         "todo": gettext("Run the 'prepare' step (button below) or `python -m aurore prepare`."),
         "step": "prepare"},
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
