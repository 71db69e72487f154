"""Silence TensorFlow's start-up noise, which TF_CPP_MIN_LOG_LEVEL no longer reaches.

TensorFlow 2.21 logs through absl before absl is initialised, so lines such
as "All log messages before absl::InitializeLog() is called…", the oneDNN
notice and "Could not find cuda drivers" go straight to the stderr file
descriptor whatever the log level (tensorflow/tensorflow#100442). A learner
sees them at every step. This import hook sends the C++ stderr of the one
`import tensorflow` to /dev/null; Python errors still surface, as the
exception propagates once stderr is back. AURORE_TF_LOGS=1 keeps them.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def stderr_fd_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (C++ logs included)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded, closed): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Wraps the first import of `tensorflow` in `stderr_fd_silenced`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def quiet_exec_module(module):
            with stderr_fd_silenced():
                exec_module(module)

        spec.loader.exec_module = quiet_exec_module
        return spec


def install() -> None:
    if os.environ.get("AURORE_TF_LOGS") == "1" or "tensorflow" in sys.modules:
        return
    if not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
