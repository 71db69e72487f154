"""The exercise machinery: metadata, stubs derived from solutions, loading.

Like rustlings, exercises and solutions are parallel numbered trees
(`exercises/NN_name.py`, `solutions/NN_name.py`) and one metadata file
(`exercises/info.toml`) holds each exercise's title, lesson, hints and checks,
and how its step runs (the run page, the agenda, the pipeline: read through
`aurore.course.steps`). Its keys are checked here, each mistake named.

One source of truth: a stub is *derived* from its solution. In a solution,
the teaching parts sit between markers::

    # BEGIN SOLUTION
    # TODO: cut the text between the START and END markers.
    start = text.find(...)
    ...
    # END SOLUTION

In the stub, the block keeps its instructions: each `# TODO` line with the
comment lines that continue it (an instruction may take several lines), and
its body becomes `raise NotImplementedError(...)`, or the code given on
`# STUB: …` lines (for example `# STUB: MIN_WORDS = None` for a constant to
fill in).
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import re
import shutil
import stat
import sys
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from aurore import paths
from aurore.errors import AuroreError
from aurore.store import atomic

INFO_FILE = paths.ROOT / "exercises" / "info.toml"
VARIANTS = ("solution", "exercise")
LANGS = ("fr", "en")

_BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*# END SOLUTION\s*$")
_TODO = re.compile(r"^(?P<indent>\s*)# TODO\b")
_COMMENT = re.compile(r"^(?P<indent>\s*)#")
_STUB = re.compile(r"^\s*# STUB: (?P<code>.*)$")

#: The keys of an exercise in info.toml: those it must have, and the others with their defaults.
REQUIRED_KEYS = ("number", "slug", "step", "checks", "title", "lesson", "run_title", "section", "about")
OPTIONAL_KEYS = {"hints": [], "bonus": False, "job_args": [], "job_options": [], "in_pipeline": True,
                 "pipeline_options": [], "pipeline_flags": [], "output": ""}
#: The keys whose value is a text in each of LANGS.
TEXT_KEYS = ("title", "lesson", "run_title", "section", "about")
#: The data folders (functions of aurore.paths) an `output` may start from: "{dataset_dir}/dataset_dict.json".
OUTPUT_FOLDERS = ("data_dir", "dataset_dir", "tokenizer_dir", "code_dataset_dir", "code_tokenizer_dir",
                  "models_dir")
_OUTPUT = re.compile(r"\{(?P<folder>\w+)\}/[^{}]+")


@dataclass(frozen=True)
class Exercise:
    number: int
    slug: str
    step: str
    title: dict[str, str]
    lesson: dict[str, str]
    hints: tuple[dict[str, str], ...] = field(default_factory=tuple)
    checks: str = ""
    #: How its step shows and runs (see the keys at the top of info.toml).
    run_title: dict[str, str] = field(default_factory=dict)
    section: dict[str, str] = field(default_factory=dict)
    about: dict[str, str] = field(default_factory=dict)
    bonus: bool = False
    job_args: tuple[str, ...] = ()
    job_options: tuple[str, ...] = ()
    in_pipeline: bool = True
    pipeline_options: tuple[str, ...] = ()
    pipeline_flags: tuple[str, ...] = ()
    #: The file that says its step is done, from a data folder ("{dataset_dir}/…"); "" when none does.
    output: str = ""

    @property
    def filename(self) -> str:
        return f"{self.slug}.py"

    @property
    def solution_path(self) -> Path:
        return paths.solutions_dir() / self.filename

    @property
    def exercise_path(self) -> Path:
        return paths.exercises_dir() / self.filename

    @property
    def checks_path(self) -> Path:
        return paths.ROOT / self.checks

    def path(self, variant: str) -> Path:
        if variant not in VARIANTS:
            raise AuroreError(f"Unknown code variant {variant!r}: use one of {', '.join(VARIANTS)}.")
        return self.solution_path if variant == "solution" else self.exercise_path

    def output_path(self) -> Path:
        """The file that says its step is done, in today's data folder (AURORE_DATA moves it)."""
        return Path(self.output.format(**{folder: getattr(paths, folder)() for folder in OUTPUT_FOLDERS}))


class InfoError(AuroreError):
    """A mistake in exercises/info.toml, naming the exercise and the key."""

    def __init__(self, item: dict | Exercise, key: str, problem: str):
        if isinstance(item, Exercise):
            item = {"number": item.number, "slug": item.slug}
        which = f"exercise {item.get('number', '?')} ({item.get('slug', 'no slug')})"
        super().__init__(f"{INFO_FILE.name}, {which}: `{key}` {problem}.")


def _checked_keys(item: dict) -> dict:
    """The exercise's keys with the optional ones filled in; a missing or unknown key is refused."""
    for key in REQUIRED_KEYS:
        if key not in item:
            raise InfoError(item, key, "is missing")
    for key in item:
        if key not in REQUIRED_KEYS and key not in OPTIONAL_KEYS:
            raise InfoError(item, key, f"is not a key of an exercise (known: {', '.join(REQUIRED_KEYS)}, "
                                       f"{', '.join(OPTIONAL_KEYS)})")
    return {**OPTIONAL_KEYS, **item}


def _checked_types(item: dict) -> None:
    """Texts in every language, lists of strings, true/false where the defaults say so."""
    for key in TEXT_KEYS:
        if not isinstance(item[key], dict) or set(item[key]) != set(LANGS):
            raise InfoError(item, key, f"needs a text in each of {', '.join(LANGS)} ({key}.fr = \"…\")")
    for key, default in OPTIONAL_KEYS.items():
        value = item[key]
        if isinstance(default, bool) and not isinstance(value, bool):
            raise InfoError(item, key, "is true or false")
        if key != "hints" and isinstance(default, list) and not (
                isinstance(value, list) and all(isinstance(part, str) for part in value)):
            raise InfoError(item, key, "is a list of strings")


def _checked_output(item: dict) -> None:
    """An output starts from a data folder of aurore.paths, so AURORE_DATA moves it with the rest."""
    output = item["output"]
    if output == "":
        return
    start = _OUTPUT.fullmatch(output) if isinstance(output, str) else None
    if not (start and start.group("folder") in OUTPUT_FOLDERS):
        raise InfoError(item, "output", "is a file from a data folder, such as \"{dataset_dir}/dataset_dict.json\" "
                                        f"(folders: {', '.join(OUTPUT_FOLDERS)})")


def exercise_from_info(item: dict) -> Exercise:
    """One `[[exercise]]` of info.toml, checked: a mistake is one clear message, never a KeyError."""
    item = _checked_keys(item)
    _checked_types(item)
    _checked_output(item)
    return Exercise(
        number=int(item["number"]),
        slug=item["slug"],
        step=item["step"],
        title=dict(item["title"]),
        lesson={lang: text.strip() + "\n" for lang, text in item["lesson"].items()},
        hints=tuple(dict(hint) for hint in item["hints"]),
        checks=item["checks"],
        run_title=dict(item["run_title"]),
        section=dict(item["section"]),
        about=dict(item["about"]),
        bonus=item["bonus"],
        job_args=tuple(item["job_args"]),
        job_options=tuple(item["job_options"]),
        in_pipeline=item["in_pipeline"],
        pipeline_options=tuple(item["pipeline_options"]),
        pipeline_flags=tuple(item["pipeline_flags"]),
        output=item["output"],
    )


@lru_cache(maxsize=1)
def _load_info() -> tuple[Exercise, ...]:
    with INFO_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    return tuple(exercise_from_info(item) for item in data["exercise"])


def all_exercises() -> tuple[Exercise, ...]:
    return _load_info()


def get(number: int | str) -> Exercise:
    """The exercise with that number; refuses anything else (no path games)."""
    text = str(number).strip()
    if not re.fullmatch(r"\d{1,2}", text):
        raise AuroreError(f"Not an exercise number: {text!r}. Exercises are numbered 1 to {len(all_exercises())}.")
    for exercise in all_exercises():
        if exercise.number == int(text):
            return exercise
    raise AuroreError(f"No exercise {text}. Exercises are numbered 1 to {len(all_exercises())}.")


def for_step(step: str) -> Exercise:
    for exercise in all_exercises():
        if exercise.step == step:
            return exercise
    raise AuroreError(f"No exercise teaches the step {step!r}.")


def derive_stub(solution_source: str) -> str:
    """Turn a solution's source into the learner's stub (see module docstring)."""
    out: list[str] = []
    lines = solution_source.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        begin = _BEGIN.match(lines[i])
        if not begin:
            if _END.match(lines[i]):
                raise ValueError(f"line {i + 1}: END SOLUTION without BEGIN SOLUTION")
            out.append(lines[i])
            i += 1
            continue
        indent = begin.group("indent")
        j = i + 1
        todos, stubs = [], []
        instruction_indent = None   # the indent of the instruction being read, None between instructions
        while j < len(lines) and not _END.match(lines[j]):
            if _BEGIN.match(lines[j]):
                raise ValueError(f"line {j + 1}: nested BEGIN SOLUTION")
            todo, comment = _TODO.match(lines[j]), _COMMENT.match(lines[j])
            if todo:
                instruction_indent = todo.group("indent")
            elif not (comment and comment.group("indent") == instruction_indent and not _STUB.match(lines[j])):
                instruction_indent = None
            if instruction_indent is not None:
                todos.append(lines[j])
            stub = _STUB.match(lines[j])
            if stub:
                stubs.append(f"{indent}{stub.group('code')}\n")
            j += 1
        if j == len(lines):
            raise ValueError(f"line {i + 1}: BEGIN SOLUTION without END SOLUTION")
        out.extend(todos)
        out.extend(stubs or [f'{indent}raise NotImplementedError("TODO")\n'])
        i = j + 1
    return "".join(out)


def stub_for(exercise: Exercise) -> str:
    return derive_stub(exercise.solution_path.read_text(encoding="utf-8"))


def backup(exercise: Exercise) -> str | None:
    """Copy the learner's file beside it under a name no other backup has; returns that name.

    Named to the second, with -2, -3… when that name is taken (two resets in
    one second never overwrite each other). Written whole beside it, then
    claimed atomically (`atomic.create_bytes`): a crash never leaves a
    truncated backup. The backup keeps the file's mode and times.
    """
    source = exercise.exercise_path
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        return None
    stamp = time.strftime('%Y%m%d-%H%M%S')
    for attempt in range(1, 10_000):
        suffix = "" if attempt == 1 else f"-{attempt}"
        target = source.with_name(f"{exercise.slug}.{stamp}{suffix}.bak.py")
        if atomic.create_bytes(target, data, _mode_of(source)):
            shutil.copystat(source, target)
            return target.name
    raise AuroreError(f"Too many backups of {source.name} in one second.")


def _mode_of(path: Path) -> int:
    """The permission bits of `path`; for a missing file, a new file's under this process's umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def reset_to_stub(number: int | str) -> str | None:
    """Put the stub back; the learner's version is kept beside it as a backup.

    The file keeps its mode (a 0644 file stays 0644). Returns the backup's
    file name, or None when there was no file to keep.
    """
    exercise = get(number)
    saved = backup(exercise)
    atomic.write_text(exercise.exercise_path, stub_for(exercise), _mode_of(exercise.exercise_path))
    return saved


def sync(force: bool = False) -> list[tuple[Exercise, str, str | None]]:
    """Rewrite every exercise file from its solution, without losing a learner's work.

    A file that differs from its stub may hold work: it is left as it is
    ("kept"), unless `force`, and then it is backed up first ("replaced").
    Returns (exercise, what was done, backup name) for each exercise.
    """
    done = []
    for exercise in all_exercises():
        stub = stub_for(exercise)
        try:
            current = exercise.exercise_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        except (OSError, UnicodeDecodeError):
            current = ""          # unreadable as text: treat it as the learner's
        if current == stub:
            done.append((exercise, "unchanged", None))
        elif current is None:
            atomic.write_text(exercise.exercise_path, stub, _mode_of(exercise.exercise_path))
            done.append((exercise, "written", None))
        elif not force:
            done.append((exercise, "kept", None))
        else:
            saved = backup(exercise)
            atomic.write_text(exercise.exercise_path, stub, _mode_of(exercise.exercise_path))
            done.append((exercise, "replaced", saved))
    return done


def unfinished(error: NotImplementedError, number: int | str) -> AuroreError:
    """The clear message for a step run with `--use exercise` before the exercise is done."""
    exercise = get(number)
    learner_file = exercise.exercise_path.resolve()
    where = [frame for frame in traceback.extract_tb(error.__traceback__)
             if Path(frame.filename).resolve() == learner_file]
    name = f"`{where[-1].name}` in " if where else ""
    return AuroreError(f"Exercise {exercise.number} is not finished: {name}exercises/{exercise.filename} "
                       "still raises NotImplementedError (a TODO). Complete it and check it with "
                       f"`python -m aurore check {exercise.number}`, or run the reference solution with "
                       "`--use solution`.")


def load_module(number: int | str, variant: str = "solution") -> ModuleType:
    """Import an exercise's solution or the learner's file, by path.

    A fresh import each call, so an edited exercise file is seen.
    """
    exercise = get(number)
    path = exercise.path(variant)
    if not path.is_file():
        raise AuroreError(
            f"{path} is missing. Restore it with `python -m aurore exercises reset {exercise.number}`."
        )
    name = f"aurore_{variant}_{exercise.slug}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(name, None)
        raise
    return module


def rules(step: str, variant: str = "solution") -> "ExerciseCode":
    """The code that teaches `step` (the solution, or the learner's file), for the code that runs it.

    The one way the stages get an exercise's functions: the commands and the
    web app call this and pass the result down (the stages never import the
    course). A TODO left in the learner's file stops the step with the message
    that says which function to finish (`unfinished`), never a traceback.
    """
    exercise = for_step(step)
    try:
        module = load_module(exercise.number, variant)
    except NotImplementedError as error:
        raise unfinished(error, exercise.number) from error
    return ExerciseCode(module, exercise, variant)


class ExerciseCode:
    """An exercise's module whose functions explain a TODO left in them.

    Attributes are the module's; calling one of its functions (or iterating
    a generator function's result) turns NotImplementedError into the clear
    "not finished" AuroreError, wherever the call happens: a command, the
    web app's generation thread, a callback during training.
    """

    def __init__(self, module: ModuleType, exercise: Exercise, variant: str):
        self.module, self.exercise, self.variant = module, exercise, variant
        self._explained: dict[str, object] = {}

    def __getattr__(self, name: str):
        value = getattr(self.module, name)
        if not inspect.isfunction(value):
            return value
        if name not in self._explained:
            self._explained[name] = self._explaining(value)
        return self._explained[name]

    def _explaining(self, function):
        number = self.exercise.number
        if inspect.isgeneratorfunction(function):
            @functools.wraps(function)
            def explained_generator(*args, **kwargs):
                try:
                    return (yield from function(*args, **kwargs))
                except NotImplementedError as error:
                    raise unfinished(error, number) from error
            return explained_generator

        @functools.wraps(function)
        def explained(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except NotImplementedError as error:
                raise unfinished(error, number) from error
        return explained
