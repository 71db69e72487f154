"""Checks from the command line through a running app's warm worker.

`python -m aurore check N` started cold imports TensorFlow anew (5–10 s on a
laptop), while the web app keeps a warm check worker. A running app (not in
public mode) says where it is in a file only its user may read,
`<data>/workshop/running-app.json` (0600: its address, its process id and a
key made at each start), removed when it stops. The command reads it, posts
the check to that address with the key (which stands for the access token and
the form's CSRF token), and prints the same report; with no app running (or
one that does not answer), it runs the check cold, as before.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from aurore.store import atomic

#: The header carrying the key of the discovery file (the app accepts it instead of token and CSRF).
KEY_HEADER = "X-Aurore-Local-Key"
FILE_NAME = "running-app.json"
#: Longest wait for a check through the app (its own limit is 300 s, and it may wait for its worker).
TIMEOUT_SECONDS = 400


def file_path(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "workshop" / FILE_NAME


def announce(data_dir: str | os.PathLike, url: str, key: str) -> Path:
    """Write the discovery file (0600 from the start: atomic writes create their file so)."""
    path = file_path(data_dir)
    atomic.write_text(path, json.dumps({"url": url, "pid": os.getpid(), "key": key}))
    path.chmod(0o600)
    return path


def withdraw(data_dir: str | os.PathLike) -> None:
    """Remove the discovery file if it is this process's (another app may have taken the folder since)."""
    path = file_path(data_dir)
    found = read(data_dir)
    if found is not None and found.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def read(data_dir: str | os.PathLike) -> dict | None:
    """The running app's address and key, or None (no file, unreadable, or its process is gone)."""
    try:
        found = json.loads(file_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(found, dict) and isinstance(found.get("url"), str) and isinstance(found.get("key"), str)
            and isinstance(found.get("pid"), int) and _alive(found["pid"])):
        return None
    return found


def check_through_app(data_dir: str | os.PathLike, number: int, lang: str,
                      timeout: float = TIMEOUT_SECONDS) -> dict | None:
    """The check report from the running app, or None when there is none or it cannot be reached."""
    found = read(data_dir)
    if found is None:
        return None
    request = urllib.request.Request(f"{found['url'].rstrip('/')}/exercises/{number}/check?lang={lang}",
                                     data=b"", method="POST",
                                     headers={KEY_HEADER: found["key"], "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            report = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            return None
        return {"refused": message}
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and isinstance(report.get("checks"), list) else None
