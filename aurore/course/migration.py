"""The learners' files and progress follow a renumbering of the exercises, and nothing is lost.

Numbering 2: exercise 1 was split in two (cleaning a Gutenberg file;
sentences and the dataset) and exercises 2 to 8 became 3 to 9. Numbering 3:
exercise 4 (attention, by hand) came in before training, and exercises 4 to
9 became 5 to 10. A learner who updates Aurore may still have the former
files in `exercises/` and the former numbers in their progress:
`migrate_files` and `migrate_progress` carry them over, one numbering after
the other (a learner of numbering 1 goes through 2 to 3), at app start and in
`python -m aurore exercises sync`. Both are idempotent.

- A former file that is exactly a stub as shipped holds no work: it goes.
- A renamed file that holds work takes its new name (`02_tokenizer.py`
  becomes `03_tokenizer.py`), unless the new file already holds other work:
  then the former one is kept beside it as a backup.
- The split file: each finished function (no TODO left) and each constant
  filled in goes to the new file that has it; the whole former file is kept
  as a backup as well (a half-done function is there).
- Progress: in numbering 2, the former exercise 1's record counts for the
  two halves and the others move up by one; in numbering 3, 4 to 9 move up
  by one; the file then says which numbering it uses.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import time
from pathlib import Path

from aurore import paths
from aurore.store import atomic

#: The numbering the progress file is written in (no `numbering` key: the first, 1 to 8).
NUMBERING = 3

#: Each former file (its slug) → the new slugs its work goes to (one: renamed; two: split), from numbering 1 to 2.
MOVES = {
    "01_prepare_dataset": ("01_clean_gutenberg", "02_prepare_dataset"),
    "02_tokenizer": ("03_tokenizer",),
    "03_train": ("04_train",),
    "04_generate": ("05_generate",),
    "05_evaluate": ("06_evaluate",),
    "06_char_lstm": ("07_char_lstm",),
    "07_code_completion": ("08_code_completion",),
    "08_lora": ("09_lora",),
}
#: From numbering 2 to 3: exercise 4 (attention) came in before training.
MOVES_3 = {
    "04_train": ("05_train",),
    "05_generate": ("06_generate",),
    "06_evaluate": ("07_evaluate",),
    "07_char_lstm": ("08_char_lstm",),
    "08_code_completion": ("09_code_completion",),
    "09_lora": ("10_lora",),
}
#: Former exercise numbers → the new ones their progress counts for (numbering 1 to 2, then 2 to 3).
NUMBERS = {"1": ("1", "2"), **{str(n): (str(n + 1),) for n in range(2, 9)}}
NUMBERS_3 = {str(n): (str(n + 1),) for n in range(4, 10)}
#: The renumberings in order: (the numbering they lead to, file moves, progress moves).
STAGES = ((2, MOVES, NUMBERS), (3, MOVES_3, NUMBERS_3))

#: SHA-256 of every former stub as shipped (git history): such a file holds no work.
FORMER_STUBS = {
    "01_prepare_dataset": (
        "1493ac0a74baff4899609fc7582ddf659822d10b0b69c1ca456a7ead2ffd9e2a",
        "991f677a87612e85ee1fa610abb19024f104103dfa15e363932d1d219ba90749",
        "9aa8ca637714bffe80fc547602736bba00b1294608b8196f26b9047bd887d18d",
        "a061f2f8f67c28496a28634e89c17b7777b4d284d5204fad7c00f06137ca1ee4",
        "d5b895d4d46ac9c7289d7f46812f758c9512b2a0fd6b1a8f8cacb75605a67cb9",
        "fd57b2b8677e5ccfe628c60cba41eb8dbb12c6f49a9d847aef562b7ea470dc57",
    ),
    "02_tokenizer": (
        "8883777a8e1a6c459a65a0642cc55286fa3a2182845fda7ec3e8f98523a04c33",
        "9536cc18eaeffee36c0b098d2360b9c15b7a369327a84e99a9d84fb1fdcc3bcf",
        "a8c7df46f2341692b3cc98617020241a2a74de1e8116ea06d41ea154e71b9aea",
    ),
    "03_train": (
        "2627cbf04d807a7332482b3fb72aa47a9ce0a027c639d7c0a7c6d7e5442097ff",
        "5903ffd6fd6fa7c66a5799e3ce6bd125b4e7eca4fe7753daaef7958c487b3d74",
    ),
    "04_generate": (
        "9794d0ddb74b2790d32ad769465d54f5aee0313a3feb6f665b613229b313dba0",
        "bb603d696bd960e411bb6b25ad9cf7f1c5e132cdb68a44da532264b1141ea6b0",
        "c660adabba21521d4f6bd252c314641e0feaaf75d6970ab764c8e187c521461e",
    ),
    "05_evaluate": (
        "b09ce194265a38f2efb0670363210e6ba303f52126b1675487c4514669905583",
    ),
    "06_char_lstm": (
        "0af3ec0cec1a0852492b26506dec8c242c2dc05455bead2283f6369ef79c0ffa",
        "f28609196265860766f78ffd605d016016b571c57dbb9c99dce842e1b283892f",
    ),
    "07_code_completion": (
        "59be6d3a8cd5d62e0d15717328cd206682a90035d200f2df4b2f51dfbd250874",
    ),
    "08_lora": (
        "3010c006780b131444753d59733ecf9b4f6e6ab585ce7f4ccc0e5affb4dc4285",
        "e51948b2a5b842eda186b06998cd4cc99bbbc4cf80bac75fd3a28a38757ed16e",
    ),
    "04_train": (
        "0bf35422326d882b78cd0c651c21ac6a1624c54c192ffe32407e5e0443d06b62",
        "ad04902d799637dd3c46488da168668ba2da6746abb4ef9a847fcc2ef4f3d373",
        "b2e3e3b6f84b10760655b2588baa01cc9bee1290f09c752e0b6d330aae9906a3",
        "f88811484560470ee574baea10837822c57bfdcad2c50435d740ddcf62ce9780",
    ),
    "05_generate": (
        "96f25735e5d58a5140e81a4651466dd6d1e76c7aaa16edb9f112918a054521b6",
        "b31a30df2fa76a6aed7895d8ad1b1e9c127dd1416d395d00b9e139962e4f4ff6",
        "f32a85f69857e47996cb6a05ddfb07cde69d54b44ff5f93c6695ed9cdf01efb5",
    ),
    "06_evaluate": (
        "0a7701a4c9fe44867dcb9a3ca8e3704720105996dd914b1f2bd2673edb307cc1",
        "79435591a46a6a0b0b30055dce7c6c65ca4f2aadd90af52ba1bffeadc273b431",
        "903d97237343bbbc4f665bc9431ac71d22370d58ff8b668e104ec1c0f5bc16e2",
    ),
    "07_char_lstm": (
        "314bde677bc5c7f566d46d1178740e372f95aaa146f5e6aa74b3f0fb816b434e",
        "50e7282cf4dde060eca79770b114c4b63a19456f23d26f44e780edd7024cef4c",
        "a33fa6003d5dc9f35e148d30da59d9b9f597890de99e17d80e2535fcaf062fba",
    ),
    "08_code_completion": (
        "13fa6d1b06b7a9fbcffa242c072de8fbd7cb107334b30bdd7e83df289a560ba6",
        "55c8abb2fe7d1c71bc7e877ad62b371af60e550def2f59f6ac8368e0d055740b",
        "7caf218a6d725b02abe4792044e8e15fe67f005a4724bfb5d1e3a58c733122b6",
    ),
    "09_lora": (
        "2f6dd5e09427ec1255f8ce037b22f9c9fdeb876db5f3d5346925220df2aa3e6b",
        "9ebc34cf3964c3a17ae57a66ec942124d800de68a6b6fe01a32bb6fd9a242644",
        "ef96f2bd22a1206faf4e50d67ad2fe8a4547a6c78f09f789002bb8f7d48402c9",
    ),
}


def progress_file(data_dir: str | Path) -> Path:
    """Where the learner's progress lives (read and written by aurore.web.workshop.learner_progress)."""
    return Path(data_dir) / "workshop" / "progress.json"


def _is_former_stub(slug: str, data: bytes) -> bool:
    return hashlib.sha256(data).hexdigest() in FORMER_STUBS.get(slug, ())


def _set_aside(path: Path, data: bytes) -> str:
    """Keep `data` beside `path` under a new backup name (claimed atomically), then remove `path`."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 10_000):
        target = path.with_name(f"{path.stem}.{stamp}{'' if attempt == 1 else f'-{attempt}'}.bak.py")
        try:
            with target.open("xb") as handle:
                handle.write(data)
        except FileExistsError:
            continue
        path.unlink()
        return target.name
    raise OSError(f"Too many backups of {path.name} in one second.")


def _pieces(source: str) -> dict[str, tuple[int, int, bool]]:
    """Top-level functions and constants: name → (first line, last line, whether the learner did it)."""
    found = {}
    for node in ast.parse(source).body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            text = ast.get_source_segment(source, node) or ""
            found[node.name] = (first, node.end_lineno, "NotImplementedError" not in text)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            filled = not (isinstance(node.value, ast.Constant) and node.value.value is None)
            found[node.targets[0].id] = (first, node.end_lineno, filled)
    return found


def carry_over(former: str, stub: str) -> tuple[str, list[str]]:
    """The new stub with each piece the learner finished in the former file put in; and their names."""
    try:
        done = {name: piece for name, piece in _pieces(former).items() if piece[2]}
    except SyntaxError:
        return stub, []
    lines, former_lines = stub.splitlines(keepends=True), former.splitlines(keepends=True)
    carried = []
    for name, (first, last, _) in sorted(_pieces(stub).items(), key=lambda item: -item[1][0]):
        if name in done:
            begin, end, _ = done[name]
            lines[first - 1:last] = former_lines[begin - 1:end]
            carried.append(name)
    return "".join(lines), sorted(carried)


def migrate_files(stub_for, folder: str | Path | None = None) -> list[str]:
    """Carry the former exercise files over to the new names, one numbering after the other; what was done.

    `stub_for(slug)`: the stubs a new file may start from, the default one first (a file equal
    to one holds no work).
    """
    folder = Path(folder or paths.exercises_dir())
    done = []
    for _, moves, _ in STAGES:
        done += _move_files(moves, stub_for, folder)
    return done


def _holds_no_work(path: Path, stub_for) -> bool:
    """A file that is not there, or is today's stub, or a former stub as shipped (a numbering in between)."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return True
    return data.decode("utf-8", errors="replace") in stub_for(path.stem) or _is_former_stub(path.stem, data)


def _move_files(moves: dict, stub_for, folder: Path) -> list[str]:
    done = []
    for former, targets in moves.items():
        path = folder / f"{former}.py"
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            continue
        if _is_former_stub(former, data):
            path.unlink()
            done.append(f"removed {path.name} (an untouched starting file; now {', '.join(targets)})")
            continue
        source = data.decode("utf-8", errors="replace")
        new_paths = [folder / f"{target}.py" for target in targets]
        free = [_holds_no_work(p, stub_for) for p in new_paths]
        if len(targets) == 1:
            if free[0]:
                os.replace(path, new_paths[0])
                done.append(f"renamed {path.name} to {new_paths[0].name}")
            else:
                backup = _set_aside(path, data)
                done.append(f"kept {path.name} as {backup}: {new_paths[0].name} already holds other work")
            continue
        for target, new_path, is_free in zip(targets, new_paths, free):
            if not is_free:
                continue
            merged, carried = carry_over(source, stub_for(target)[0])
            if carried:
                atomic.write_text(new_path, merged)
                done.append(f"wrote {new_path.name} with your {', '.join(carried)} from {path.name}")
        backup = _set_aside(path, data)
        done.append(f"kept {path.name} as {backup} (exercise 1 is now two exercises)")
    return done


def migrate_progress(data_dir: str | Path) -> bool:
    """Renumber a progress file written with former numbers, one numbering after the other; True when it changed."""
    path = progress_file(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    numbering = data.get("numbering", 1) if isinstance(data, dict) else NUMBERING
    if not isinstance(numbering, int) or numbering >= NUMBERING:
        return False
    records = data.get("exercises") if isinstance(data.get("exercises"), dict) else {}
    for leads_to, _, numbers in STAGES:
        if numbering < leads_to:
            moved = {}
            for number, record in records.items():
                for new in numbers.get(number, (number,)):
                    moved[new] = record
            records = moved
    atomic.write_text(path, json.dumps({**data, "numbering": NUMBERING, "exercises": records}, indent=1))
    return True
