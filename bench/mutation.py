"""Mutation testing of the modules that guard the learner's files, access and figures (mutmut).

Why: a test suite can pass while a promise is broken. A mutant is the code with
one small change (`<` for `<=`, a call removed, a constant changed); the
module's own fast tests must fail on it ("killed"). A mutant that passes
("survived") is a promise no test holds, unless it is *equivalent* (the change
cannot alter what the code does): those are listed in EQUIVALENT with why.

Usage (slow: minutes per module; run one module at a time on a shared machine):

    python bench/mutation.py                 # every module, one after the other
    python bench/mutation.py atomic sampling # some of them
    python bench/mutation.py --list          # the modules, their files and tests
    python bench/mutation.py security --only '*x__landing*' --only '*x_refused*'   # some functions' mutants

Each module runs in a fresh copy of the working tree under /tmp/aurore-mutation/<module>
(mutmut writes its `mutants/` folder there; the working tree is never touched), with
only that module's targeted tests, under `nice`. Prints per module: mutants,
killed, survived, equivalent, and the killed share of the non-equivalent ones,
then every survivor's diff; `docs/testing.md` records the figures. Target: 90 %.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("AURORE_MUTATION_DIR", "/tmp/aurore-mutation"))
TARGET = 0.90


@dataclass(frozen=True)
class Module:
    files: tuple[str, ...]     # what is mutated ("solution:STEP": that step's exercise solution)
    tests: tuple[str, ...]     # the fast tests that must notice ("checks:STEP": that exercise's checks)
    fork_safe: bool = True     # False: TensorFlow in the test process (mutmut's fork server)
    only: tuple[str, ...] = ()  # mutate only these functions (a module with other jobs)
    skip: tuple[str, ...] = ()  # not these (they need a trained model: the slow tests' share)
    #: third-party modules the fork server imports once (fork_safe False), so that each mutant's run does
    #: not import them anew (TensorFlow: 4 s a mutant); never the project's own, which mutmut mutates
    preload: tuple[str, ...] = ()


MODULES = {
    "atomic": Module(("aurore/store/atomic.py",), ("tests/test_atomic.py",)),
    "rate_limit": Module(("aurore/web/writers/rate_limit.py",), ("tests/test_rate_limit.py",)),
    "sampling": Module(("solution:generate", "aurore/generation/sampling.py"),
                       ("tests/test_sampling_rules.py", "checks:generate")),
    "scoring": Module(("aurore/evaluation/scoring.py", "solution:evaluate"),
                      ("tests/test_scoring_formulas.py", "checks:evaluate"),
                      skip=("token_log_likelihoods", "evaluate_texts", "evaluate", "_stamp")),
    "stubs": Module(("aurore/course/exercises.py",),
                    ("tests/test_properties.py", "tests/test_exercise_machinery.py", "-k", "stub and not fails_every_check"),
                    only=("derive_stub",)),
    "attention": Module(("aurore/generation/cached_model.py",), ("tests/test_attention_oracle.py",),
                        fork_safe=False, skip=("default_xla", "limit_threads"),
                        preload=("tensorflow", "keras", "keras_hub")),
    # The app starts processes (the checks' warm worker, jobs): mutmut's fork mode reaps them and stops.
    # Left out of its tests: those that run a job or a check (a child process of the app's).
    "security": Module(("aurore/web/security.py",),
                       ("tests/test_security_units.py", "tests/test_security_contract.py", "tests/test_security.py",
                        "-k",
                        "not job_keeps and not job_s_output and not finished_jobs and not check_command"
                        " and not diverging_training and not run_no_code and not announces_itself"),
                       fork_safe=False),
}


def resolve(entry: str) -> str:
    """A path of the tree; "solution:STEP" and "checks:STEP" found by the step's name (exercises get renumbered)."""
    kind, _, step = entry.partition(":")
    if kind not in ("solution", "checks") or not step:
        return entry
    sys.path.insert(0, str(ROOT))
    from aurore.course import exercises

    exercise = exercises.for_step(step)
    path = exercise.solution_path if kind == "solution" else Path(exercise.checks_path)
    return str(Path(path).resolve().relative_to(ROOT))


def selected(module: Module, files: list[str]) -> list[str]:
    """mutmut's mutant-name globs for the functions of `files` to mutate ([]: all of them)."""
    import ast

    if not module.only and not module.skip:
        return []
    globs = []
    for file in files:
        tree = ast.parse((ROOT / file).read_text(encoding="utf-8"))
        for node in tree.body:
            functions = [(node.name, f"x_{node.name}")] if isinstance(node, ast.FunctionDef) else \
                [(item.name, f"xǁ{node.name}ǁ{item.name}") for item in node.body
                 if isinstance(item, ast.FunctionDef)] if isinstance(node, ast.ClassDef) else []
            for name, mangled in functions:
                if (not module.only or name in module.only) and name not in module.skip:
                    globs.append(f"*.{mangled}__mutmut_*")
    return globs


#: Mutants that cannot change behaviour, per module, by mutmut's name less the module's dotted path
#: (`x_write_text__mutmut_7` is `<module>.x_write_text__mutmut_7`), with why; docs/testing.md lists them.
#: mutmut numbers mutants per function: after an edit of a function, rerun and check its entries.
EQUIVALENT: dict[str, dict[str, str]] = {
    "atomic": {
        "x_write_text__mutmut_7": 'encode("UTF-8"): the same codec as "utf-8"',
        "x_recover_dir__mutmut_10": 'rsplit("-") for rsplit("-", 1): the last piece is the same',
        "x_recover_dir__mutmut_13": 'rsplit("-", 2) for rsplit("-", 1): the last piece is the same',
        "x_recover_dir__mutmut_14": '[+1] for [-1]: a name matched by ".NAME.old-*" splits in two pieces',
    },
    "sampling": {
        "x_check_stop__mutmut_38": 'encode("UTF-8"): the same codec as "utf-8"',
        "x_check_choice__mutmut_14": "ensure_ascii=None: as falsy as False",
        "xǁSettingǁcheck__mutmut_24": "highest(None) for a number setting: only max_new_tokens reads the server limit",
        **{f"x_{function}__mutmut_{n}": "no dtype: the library passes float64 (apply_temperature makes it), and "
                                        "on ints or lists this function gives the same result"
           for function in ("softmax", "sort_descending", "apply_temperature") for n in (3, 5)},
        **{f"x_sort_descending__mutmut_{n}": "which of two paths sorts (the quick one and the stable one): both "
                                             "give the same order; only the time differs"
           for n in (16, 17, 18, 19)},
        "x_sort_descending__mutmut_29": 'kind="STABLE": NumPy reads the kind without regard to case',
    },
    "scoring": {
        **{f"x_try_rules__mutmut_{n}": "the trial case's values: any case that runs the rules does (a rule left "
                                       "unfinished still raises)"
           for n in (2, 9, 10, 11, 21, 22, 25, 32, 33, 34, 35, 36, 37)},
        **{f"x_save_report__mutmut_{n}": "the report's indent: every reader parses JSON" for n in (8, 10, 14)},
        "x_read_report__mutmut_7": 'encoding="UTF-8": the same codec as "utf-8"',
        **{f"x_summarise__mutmut_{n}": "no dtype: the log-likelihoods come as float arrays; on ints or lists the "
                                       "rules give the same figures" for n in (3, 5)},
        **{f"x_masked_log_likelihoods__mutmut_{n}": "no dtype: NumPy's default is float64 already"
           for n in (28, 36, 38)},
        **{f"x_unigram_log_likelihoods__mutmut_{n}": "no dtype: the ids come as integer arrays (the token stream)"
           for n in (8, 10, 16, 18)},
    },
    "rate_limit": {
        "xǁInFlightLimitǁ__call____mutmut_24": "refused = None: as falsy as False",
        **{f"xǁInFlightLimitǁ_release__mutmut_{n}":
           "the default count of a client with no count: never read, a release always follows its own count"
           for n in (4, 6, 7, 14)},
    },
    "attention": {
        **{f"xǁCachedModelǁ__init____mutmut_{n}": "whether XLA compiles the forward pass (self.xla None, True or "
                                                  "False, jit_compile left out): the same numbers, compiled or not"
           for n in (6, 7, 8, 9, 10, 13, 15)},
        "xǁCachedModelǁ__init____mutmut_22": 'getattr(…, "normalize_first", None): as falsy as False',
        **{f"xǁCachedModelǁ_forward__mutmut_{n}": "a start of 1 on an axis the update spans whole (rows, heads, "
                                                  "head size): slice_update clamps it back to 0"
           for n in (37, 38, 39)},
        "xǁCachedModelǁ_call__mutmut_3": "the shapes' key from the positions for the tokens: both are [rows, width]",
        **{f"xǁCachedModelǁ_call__mutmut_{n}": "the concrete function looked up anew at every call: the same "
                                               "function, traced again (time only)" for n in (6, 7, 10)},
        **{f"xǁCachedModelǁ_new_cache__mutmut_{n}": "trainable=None, True or left out: the cache is never trained"
           for n in (5, 7, 12, 14, 16, 21)},
        "xǁCachedModelǁprefill__mutmut_15": "< for <= against the largest batch size: 32 rows run as 32 either way",
        **{f"xǁCachedModelǁprefill__mutmut_{n}": "an index array's dtype left to NumPy (int64, or float64 for the "
                                                 "zeros): every reader casts it (astype int32, the embedding's cast)"
           for n in (25, 27, 33, 35, 56, 58, 63)},
        "xǁCachedModelǁprefill__mutmut_70": "no lower bound on the padding's positions: a padding slot is masked as "
                                            "a key and its output never read",
        "xǁCachedModelǁprefill__mutmut_71": "no upper bound on a prompt's positions: slot - padding stays below the "
                                            "width, at most the context",
        "xǁCachedModelǁprefill__mutmut_77": "the cap at context + 1: never reached, as for no cap",
        **{f"xǁCachedModelǁprefill__mutmut_{n}": 'tf.constant(int) without "int32": int32 is its default for a '
                                                 "Python int" for n in (102, 104, 109, 111)},
        **{f"xǁCachedModelǁstep__mutmut_{n}": "the token column's dtype left to NumPy (float64): the embedding "
                                              "casts it" for n in (14, 16)},
        "xǁCachedModelǁstep__mutmut_31": "the positions' cap at context + 1: the generator gives a row at most its "
                                         "context (max_new_tokens cut to the room left), so the cap is never reached",
        **{f"xǁCachedModelǁstep__mutmut_{n}": 'tf.constant(int) without "int32": int32 is its default for a '
                                              "Python int" for n in (51, 53, 61, 63)},
    },
    "security": {
        **{f"x_ensure_secret_key__mutmut_{n}": "the key file's codec: the key is hex, the same in ASCII as in the "
                                               "default codec or another spelling of ascii" for n in (14, 16)},
        "x_ensure_secret_key__mutmut_18": 'an unreadable key file read as "XXXX" rather than "": both shorter than 32, '
                                          'both replaced by a new key',
        "x_ensure_secret_key__mutmut_22": "token_hex(None): 32 random bytes, its default",
        "x_ensure_secret_key__mutmut_23": "33 random bytes for 32: as unguessable; only its length >= 32 is read",
        "x_is_loopback__mutmut_6": 'split("XX%XX"): the zone of an address left on; ipaddress reads an IPv6 address '
                                   "with its zone (the same loopback or not); only an IPv4 address written with a %zone, "
                                   "which no client address is, would differ",
        "x_is_loopback__mutmut_5": 'no address read as "XXXX" rather than "": neither is an address (False)',
        "x_host_name__mutmut_10": 'rstrip("XX.XX"): urlsplit gives the name in lower case, so only the final dots '
                                  'are cut, as with rstrip(".")',
        "x_host_port__mutmut_5": 'no Host read as "XXXX" rather than "": no port either way',
        **{f"x__given_token__mutmut_{n}": "the Authorization header's name in another case: HTTP header names "
                                          "are read without regard to case" for n in (7, 8)},
        "x__given_token__mutmut_9": 'the default of a missing Authorization header: "XXXX" does not start with '
                                    '"bearer " either, as "" does not',
        **{f"x_page_pass__mutmut_{n}": "the HMAC's fixed message (none, or another): the pass is still an HMAC-SHA256 "
                                       "keyed by the token (one-way), and the landing and the check both call this "
                                       "function" for n in (2, 7, 8)},
        **{f"x__landing__mutmut_{n}": "Response's status None or left out: 200, its default" for n in (18, 20)},
        **{f"x__landing__mutmut_{n}": "the Cache-Control header's name in another case: header names are read and "
                                      "written without regard to case" for n in (32, 33)},
        **{f"x__landing__mutmut_{n}": 'samesite="strict" or "STRICT": werkzeug title-cases it, the cookie says '
                                      'SameSite=Strict' for n in (48, 49)},
        **{f"x_check_access__mutmut_{n}": 'the last refusal\'s reason None, left out or unknown: every reader of a '
                                          '403\'s reason (errors.refusal) gives such a reason the "loopback" text, '
                                          'this line\'s' for n in (43, 45, 47, 48)},
        "x_csrf_token__mutmut_3": "token_urlsafe(None): 32 random bytes, its default",
        "x_csrf_token__mutmut_4": "33 random bytes for 32: as unguessable; nothing reads the token's length",
        **{f"x_check_csrf__mutmut_{n}": "the Origin header's name in another case: header names are read without "
                                        "regard to case" for n in (12, 13)},
        **{f"x_check_csrf__mutmut_{n}": "the Sec-Fetch-Site header's name in another case: header names are read "
                                        "without regard to case" for n in (40, 41)},
    },
}


def equivalent_reason(name: str, mutant: str) -> str | None:
    """Why `mutant` (mutmut's full name) is equivalent, or None."""
    return EQUIVALENT.get(name, {}).get(mutant.rsplit(".", 1)[-1])


def copy_tree(dest: Path) -> None:
    """The working tree as git sees it (tracked and new files, no ignored ones) into `dest`."""
    if dest.exists():
        shutil.rmtree(dest)
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


#: exercises.load_module's module name, and the one mutmut gives a solution file (its path, dotted).
LOADED_AS = 'name = f"aurore_{variant}_{exercise.slug}"'
MUTMUT_NAME = 'name = f"solutions.{path.stem}" if variant == "solution" else f"aurore_{variant}_{exercise.slug}"'


def name_solutions_as_mutmut_does(dest: Path) -> None:
    """In the copy: load a solution as module `solutions.NN_name`, the name mutmut's trampolines compare.

    The course loads a solution by path under a name of its own; mutmut activates
    a mutant only in the module named after the file, and maps the tests that
    call a function by that name too: without this, no solution mutant would run.
    """
    machinery = dest / "aurore" / "course" / "exercises.py"
    source = machinery.read_text(encoding="utf-8")
    if LOADED_AS not in source:
        raise SystemExit(f"bench/mutation.py: exercises.load_module no longer has `{LOADED_AS}`: update LOADED_AS.")
    machinery.write_text(source.replace(LOADED_AS, MUTMUT_NAME), encoding="utf-8")


#: Appended to the copy's tests/conftest.py: a killed mutant is known at its first failing example, so
#: Hypothesis does not shrink it (minutes per mutant otherwise), and keeps no example database between mutants.
HYPOTHESIS_PROFILE = """

try:
    from hypothesis import Phase, settings as _settings
except ImportError:
    pass
else:
    _settings.register_profile("mutation", phases=[Phase.explicit, Phase.generate], database=None)
    _settings.load_profile("mutation")
"""


#: What the fork server's preloaded modules need before they are imported (aurore/__init__.py sets the same).
PRELOAD_ENVIRONMENT = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
PRELOAD_FILE = "mutmut-preload.txt"


def write_config(dest: Path, files: list[str], tests: list[str], fork_safe: bool, preload: tuple[str, ...] = ()) -> None:
    """mutmut reads [tool.mutmut] of pyproject.toml in its working folder."""
    tops = sorted({Path(name).parts[0] for name in os.listdir(dest)} - {"aurore", "solutions", "mutants"})
    config = {
        "source_paths": ["aurore", "solutions"],
        "only_mutate": files,
        "also_copy": tops,
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q", "-p", "no:randomly"],
        "pytest_add_cli_args_test_selection": tests,
        "process_isolation": "fork" if fork_safe else "forkserver",
        "use_git_change_detection": False,
    }
    if preload and not fork_safe:
        (dest / PRELOAD_FILE).write_text("\n".join(preload) + "\n")
        config.update(forkserver_warmup="import", preload_modules_file=PRELOAD_FILE)
    lines = ["[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in config.items()]
    (dest / "pyproject.toml").write_text("\n".join(lines) + "\n")


def mutmut(dest: Path, *args: str, capture: bool = False) -> str:
    """Run mutmut in `dest`: its output returned (capture), else written to dest/mutmut.log (a progress bar)."""
    command = ["nice", "-n", "10", sys.executable, "-m", "mutmut", *args]
    env = {**os.environ, **PRELOAD_ENVIRONMENT, "PYTHONDONTWRITEBYTECODE": "1"}
    if not capture:
        with open(dest / "mutmut.log", "w") as log:
            done = subprocess.run(command, cwd=dest, text=True, stdout=log, stderr=subprocess.STDOUT, env=env)
        if done.returncode != 0:
            raise SystemExit(f"mutmut {args[0]} stopped (exit {done.returncode}): see {dest / 'mutmut.log'}")
        return ""
    done = subprocess.run(command, cwd=dest, text=True, capture_output=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"mutmut {' '.join(args)} failed in {dest}:\n{done.stdout}\n{done.stderr}")
    return done.stdout if capture else ""


SHOW = """
import sys
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
for name in sys.argv[1:]:
    print(f"# {name}: survived")
    print(get_diff_for_mutant(name, path=find_mutant(name).path))
"""


def diffs(dest: Path, mutants: list[str]) -> str:
    """Each mutant's diff, as `mutmut show` prints it, in one process (mutmut show starts anew per mutant)."""
    if not mutants:
        return ""
    done = subprocess.run(["nice", "-n", "10", sys.executable, "-c", SHOW, *mutants], cwd=dest, text=True,
                          capture_output=True)
    if done.returncode == 0:
        return done.stdout
    return "".join(mutmut(dest, "show", mutant, capture=True) for mutant in mutants)


def statuses(dest: Path, globs: list[str]) -> dict[str, str]:
    """Every mutant's name and status ("killed", "survived", "timeout", "no tests", …), of `globs` if given."""
    listing = mutmut(dest, "results", "--all", "true", capture=True)
    found = {}
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name and (not globs or any(fnmatch.fnmatch(name, glob) for glob in globs)):
            found[name] = status
    return found


def run(name: str, children: int, only: list[str] | None = None) -> dict:
    module = MODULES[name]
    files, tests = [resolve(f) for f in module.files], [resolve(t) for t in module.tests]
    globs = only or selected(module, files)
    dest = WORK / name
    copy_tree(dest)
    with open(dest / "tests" / "conftest.py", "a", encoding="utf-8") as conftest:
        conftest.write(HYPOTHESIS_PROFILE)
    if any(file.startswith("solutions/") for file in files):
        name_solutions_as_mutmut_does(dest)
    write_config(dest, files, tests, module.fork_safe, module.preload)
    print(f"== {name}: mutating {', '.join(files)} against {', '.join(tests)}", flush=True)
    mutmut(dest, "run", "--max-children", str(children), *globs)
    found = statuses(dest, globs)
    killed = [m for m, s in found.items() if s == "killed"]
    equivalent = [m for m, s in found.items() if s != "killed" and equivalent_reason(name, m)]
    # A timeout (a mutant that made the tests run past mutmut's limit) is not counted as killed: on a loaded
    # machine it may be the load. Rerun the module on a quiet one to settle them.
    timeouts = [m for m, s in found.items() if s == "timeout" and not equivalent_reason(name, m)]
    survived = [m for m, s in found.items() if s not in ("killed", "timeout") and not equivalent_reason(name, m)]
    if not found:
        raise SystemExit(f"mutmut made no mutant: see {dest / 'mutmut.log'}")
    unchecked = [m for m, s in found.items() if s == "not checked"]
    if unchecked:
        raise SystemExit(f"mutmut left {len(unchecked)} mutants unchecked: see {dest / 'mutmut.log'}")
    counted = len(killed) + len(survived) + len(timeouts)
    summary = {"module": name, "files": files, "mutants": len(found), "killed": len(killed),
               "survived": len(survived), "timeout": len(timeouts), "equivalent": len(equivalent),
               "killed_share": round(len(killed) / counted, 4) if counted else None,
               "survivors": {m: found[m] for m in survived}}
    print(diffs(dest, survived), end="")
    for mutant in equivalent:
        print(f"# {mutant}: equivalent ({equivalent_reason(name, mutant)})")
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"default: all, one after the other ({', '.join(MODULES)})")
    parser.add_argument("--list", action="store_true", help="the modules, what each mutates and its tests")
    parser.add_argument("--children", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--json", type=Path, help="also write the summaries to this file")
    parser.add_argument("--only", action="append", metavar="GLOB",
                        help="only the mutants whose mutmut name matches GLOB (repeatable), e.g. '*x__landing*': "
                             "to check the tests of some functions; the figures are then those functions' only")
    args = parser.parse_args(argv)
    unknown = [name for name in args.modules if name not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}: choose among {', '.join(MODULES)}")
    if args.list:
        for name, module in MODULES.items():
            print(f"{name:11} {' '.join(map(resolve, module.files)):60} {' '.join(map(resolve, module.tests))}")
        return 0
    summaries = [run(name, args.children, args.only) for name in (args.modules or MODULES)]
    print(f"{'module':11} {'mutants':>7} {'killed':>6} {'survived':>8} {'timeout':>7} {'equivalent':>10} "
          f"{'killed %':>8}")
    for s in summaries:
        share = "-" if s["killed_share"] is None else f"{100 * s['killed_share']:.1f}"
        print(f"{s['module']:11} {s['mutants']:7} {s['killed']:6} {s['survived']:8} {s['timeout']:7} "
              f"{s['equivalent']:10} {share:>8}")
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=2) + "\n")
    below = [s["module"] for s in summaries if s["killed_share"] is not None and s["killed_share"] < TARGET]
    if below:
        print(f"Below the {TARGET:.0%} target: {', '.join(below)}")
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
