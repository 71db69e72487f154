"""A warm process that runs exercise checks in forked children.

Importing TensorFlow, Keras, KerasHub, `datasets` and pytest takes 5–10 s on a
laptop, while most checks run in well under a second. The worker pays for the
imports once; then, for each check, it forks a child that starts with all of
that imported and nothing left by the previous check: the learner's module is
loaded anew in each child, which limits itself (`aurore.course.checks.child`), runs
pytest and exits. The worker itself never runs a TensorFlow operation, so no
thread pool exists when it forks.

The server talks to it over a Unix socket pair (one JSON message a request),
passing the write end of a pipe for the child's output, so the output is read
and capped by the server exactly as for a cold check (`aurore.course.checks.runner`).

    worker = CheckWorker(); worker.start()     # in the background
    result = worker.run(pytest_args, env, cwd, cpu_seconds, memory_bytes, wall_seconds, output_fd)
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass

from aurore import paths

#: What the checks and the solutions import, in the order that costs least.
PRELOAD = ("numpy", "pytest", "aurore.course.checks.plugin", "aurore.course.checks.child", "tensorflow", "keras", "keras_hub",
           "transformers", "tokenizers", "datasets", "nltk", "aurore.training.presets", "aurore.corpus.tokenization",
           "aurore.corpus.sentences", "aurore.store.saved_dataset", "aurore.corpus.catalogue", "aurore.corpus.download", "aurore.corpus.gutenberg",
           "aurore.progress", "aurore.corpus.preparation")
#: Longest a request or reply may be (the environment travels with the request).
MESSAGE_BYTES = 1 << 20
#: How long the worker may take to import everything before it counts as broken.
START_SECONDS = 180


# --- the worker process ---------------------------------------------------------------------------

def _send(sock: socket.socket, **message) -> None:
    sock.sendall(json.dumps(message).encode())


def _child(request: dict, output_fd: int) -> None:
    """In the forked child: a session of its own, the output to the pipe, then the checks. Never returns."""
    code = 70
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["pytest"]
        from aurore.course.checks import child

        code = child.run(request["cpu_seconds"], request["memory_bytes"], request["pytest_args"], request.get("entry"))
    except BaseException:  # noqa: BLE001 - whatever happens, the child must end here
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


def serve(sock: socket.socket) -> None:
    """Import everything, say ready, then run one check at a time until the server goes."""
    for name in PRELOAD:
        importlib.import_module(name)
    # The imported objects never change: keep them out of the children's garbage collections.
    gc.freeze()
    _send(sock, ready=True, pid=os.getpid())
    while True:
        try:
            data, fds, _flags, _address = socket.recv_fds(sock, MESSAGE_BYTES, 1)
        except OSError:
            return
        if not data:                      # the server closed its end: it is gone
            return
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            _send(sock, error="one output descriptor expected")
            continue
        request = json.loads(data)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(request, fds[0])
        os.close(fds[0])
        _send(sock, pid=pid)
        _pid, status = os.waitpid(pid, 0)
        _send(sock, pid=pid, returncode=os.waitstatus_to_exitcode(status))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sock = socket.socket(fileno=int(argv[0]))
    serve(sock)
    return 0


# --- the server's side ----------------------------------------------------------------------------

@dataclass
class Outcome:
    """How a check child ended: its exit code (negative: killed by that signal) and whether it timed out."""
    returncode: int | None
    timed_out: bool


class WorkerUnavailable(Exception):
    """The worker is not there (not started, still importing, crashed): run the check cold instead."""


class CheckWorker:
    """The server's handle on one warm worker process; one check at a time."""

    def __init__(self, env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None):
        self._env, self._cwd = env, cwd or paths.ROOT
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._ready = threading.Event()
        self._failed = False
        self._started_at = 0.0

    # life cycle
    def start(self) -> None:
        """Start the worker in the background (it imports for a few seconds); no-op if it runs."""
        with self._lock:
            if self._process is not None and self._process.poll() is None and not self._failed:
                return
            self._stop_locked()
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            env = dict(self._env if self._env is not None else os.environ)
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            self._process = subprocess.Popen(
                [sys.executable, "-m", "aurore.course.checks.warm_worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], cwd=self._cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            theirs.close()
            self._sock, self._failed, self._started_at = ours, False, time.monotonic()
            self._ready.clear()
            threading.Thread(target=self._await_ready, args=(ours,), daemon=True).start()

    def _await_ready(self, sock: socket.socket) -> None:
        sock.settimeout(START_SECONDS)
        try:
            message = json.loads(sock.recv(MESSAGE_BYTES) or b"{}")
        except (OSError, ValueError):
            message = {}
        if message.get("ready") and sock is self._sock:
            self._ready.set()
        elif sock is self._sock:
            self._failed = True

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and not self._failed

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._failed:
            if self._ready.wait(0.05):
                return not self._failed
        return self.ready

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._process is not None:
            kill_group(self._process.pid)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self._process = None
        self._ready.clear()

    # one check
    def run(self, pytest_args: list[str], env: dict[str, str], cwd: str, cpu_seconds: int, memory_bytes: int,
            wall_seconds: float, output_fd: int, entry: str | None = None) -> Outcome:
        """Run pytest with `pytest_args` (or `entry`'s main, see `child.run`) in a fresh child writing to `output_fd`.

        Raises WorkerUnavailable when the worker cannot take it (the caller
        then runs the check cold); `output_fd` is the caller's to close.
        """
        if not self.ready:
            raise WorkerUnavailable("the check worker is not ready")
        with self._lock:
            sock = self._sock
            if sock is None:
                raise WorkerUnavailable("the check worker stopped")
            request = {"pytest_args": pytest_args, "env": env, "cwd": str(cwd), "cpu_seconds": cpu_seconds,
                       "memory_bytes": memory_bytes, "entry": entry}
            try:
                sock.settimeout(10)
                socket.send_fds(sock, [json.dumps(request).encode()], [output_fd])
                started = json.loads(sock.recv(MESSAGE_BYTES) or b"{}")
            except (OSError, ValueError) as error:
                self._broken_locked()
                raise WorkerUnavailable(f"the check worker did not answer: {error}") from error
            pid = started.get("pid")
            if not isinstance(pid, int):
                self._broken_locked()
                raise WorkerUnavailable(f"the check worker refused the check: {started}")
            timed_out = False
            sock.settimeout(wall_seconds)
            try:
                finished = json.loads(sock.recv(MESSAGE_BYTES) or b"{}")
            except TimeoutError:
                timed_out = True
                kill_group(pid)
                sock.settimeout(10)
                try:
                    finished = json.loads(sock.recv(MESSAGE_BYTES) or b"{}")
                except (OSError, ValueError):
                    finished = {}
            except (OSError, ValueError):
                finished = {}
            # Whatever the outcome, nothing the check started outlives it.
            kill_group(pid)
            if "returncode" not in finished:
                # The worker died or hung with the check: start afresh next time.
                self._broken_locked()
            return Outcome(returncode=finished.get("returncode"), timed_out=timed_out)

    def _broken_locked(self) -> None:
        self._failed = True
        self._stop_locked()


def kill_group(pid: int) -> None:
    """SIGKILL the session `pid` leads (a check and everything it started)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


_shared: CheckWorker | None = None
_shared_lock = threading.Lock()


def shared() -> CheckWorker:
    """This process's worker (the web server keeps one; it ends with the server)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = CheckWorker()
            atexit.register(_shared.stop)
        return _shared


if __name__ == "__main__":
    sys.exit(main())
