"""Time `python -m aurore prepare` on the real books, three ways, and audit the result.

1. `--source DIR` (local folder), with a cold Punkt cache;
2. `--mirror http://127.0.0.1:PORT/`: a local `python -m http.server` serving the
   books in gutenberg.org's layout (`/cache/epub/<id>/pg<id>.txt`), fresh AURORE_CACHE;
3. the same `--mirror` command again with the server stopped: served from the cache.

Then every split is searched for licence or credit text, and the test split's
books are listed. Usage:

    python bench/prepare.py [--books-dir /work/shared/corpus/gutenberg]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aurore.corpus import catalogue  # noqa: E402
from aurore.store import saved_dataset  # noqa: E402

#: Licence and credit text; "produit par" and "licence" alone are ordinary French, so
#: credits are only matched where they start a sentence.
LEAKS = re.compile(r"gutenberg|^produced by|^produit par|trademark|proofread|pgdp|gallica|https?://|www\.|"
                   r"^\*\*\*|\*\*\*\s*(?:START|END)|this ebook|\be-?text\b", re.I)


def _run(argv: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "aurore", "prepare", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        print(result.stdout[-3000:])
        raise SystemExit(f"prepare failed ({result.returncode})")
    return seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _audit(path: Path) -> None:
    loaded = saved_dataset.load(path)
    for name, split in loaded.items():
        texts = list(split["text"])
        hits = [t for t in texts if LEAKS.search(t)]
        elisions = sum("***" in t for t in texts)
        print(f"  {name:<10} {len(texts):>7,} sentences, licence/credit hits: {len(hits)}"
              f"  ('***' name elisions inside story sentences: {elisions})")
        for text in hits[:5]:
            print(f"      {text[:140]}")
    print(f"  test books: {sorted(set(loaded['test']['book']))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books-dir", default="/work/shared/corpus/gutenberg")
    args = parser.parse_args()
    books_dir = Path(args.books_dir)
    ids = [*catalogue.training_ids(), catalogue.test_id()]

    with tempfile.TemporaryDirectory(prefix="aurore-bench-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "AURORE_DATA": str(tmp / "data"), "AURORE_CACHE": str(tmp / "cache"),
               "AURORE_PROGRESS": "json"}
        env.pop("AURORE_SOURCE", None)
        env.pop("AURORE_MIRROR", None)

        source_s = _run(["--source", str(books_dir), "--out", str(tmp / "ds-source")], env)
        print(f"--source, cold Punkt cache:          {source_s:6.1f} s")
        warm_s = _run(["--source", str(books_dir), "--out", str(tmp / "ds-source2")], env)
        print(f"--source, Punkt parameters cached:   {warm_s:6.1f} s")

        site = tmp / "site"
        for book in ids:
            target = site / "cache" / "epub" / str(book)
            target.mkdir(parents=True)
            shutil.copyfile(books_dir / f"{book}.txt", target / f"pg{book}.txt")
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                                   "--directory", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            mirror = f"http://127.0.0.1:{port}/"
            mirror_s = _run(["--mirror", mirror, "--out", str(tmp / "ds-mirror")], env)
            print(f"--mirror, fresh AURORE_CACHE:        {mirror_s:6.1f} s  ({len(list((tmp / 'cache').iterdir()))} books cached)")
        finally:
            server.terminate()
            server.wait()
        cached_s = _run(["--mirror", mirror, "--out", str(tmp / "ds-cached")], env)
        print(f"--mirror, server stopped, from cache: {cached_s:6.1f} s")

        same = (list(saved_dataset.load(tmp / "ds-source")["train"]["text"])
                == list(saved_dataset.load(tmp / "ds-cached")["train"]["text"]))
        print(f"source and cached-mirror datasets identical: {same}")
        print("audit of the --source dataset:")
        _audit(tmp / "ds-source")
        print(saved_dataset.format_stats(saved_dataset.load_stats(tmp / "ds-source")))


if __name__ == "__main__":
    main()
