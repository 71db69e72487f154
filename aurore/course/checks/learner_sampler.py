"""The learner's sampler (the generation exercise) writing, outside the server's process.

« Mon modèle contre la référence » may choose tokens with the learner's own
code. That code may hang, exit (`SystemExit` at import), eat memory or crash
the interpreter: it never runs in the web server. It runs here, in a process
limited as a check is (`aurore.course.checks.child`: CPU time, memory, wall
time; forked by the warm worker when it is ready, so TensorFlow is imported
already), which loads the models, writes, and hands the texts back in a JSON
file. The server reads them, or explains why there are none.

    rows = generate(["…/models/tiny-mine", "…/models/tiny"], prompt, params)   # AuroreError when it fails
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import asdict
from pathlib import Path

from aurore.errors import AuroreError

#: Longest a comparison with the learner's sampler may take, both models loaded and written.
WALL_SECONDS = 120
CPU_SECONDS = 240
MEMORY_BYTES = 8 * 1024**3


# --- in the limited child ----------------------------------------------------------------------

def _write(path: str, result: dict) -> None:
    Path(path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def main(argv: list[str]) -> int:
    """`REQUEST.json RESULT.json`: write each model's text with the learner's sampler into RESULT.json."""
    request_path, result_path = argv
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    try:
        from aurore.course import exercises
        from aurore.generation.generator import Generator
        from aurore.generation.sampling import SamplingParams

        params = SamplingParams(**{key: tuple(value) if isinstance(value, list) else value
                                   for key, value in request["params"].items()})
        rules = exercises.rules("generate", "exercise")
        rows = []
        for model_dir in request["models"]:
            result = Generator.load(model_dir, rules).generate(request["prompt"], params)
            rows.append({"text": result.text, "finish_reason": result.finish_reason,
                         "new_tokens": result.new_tokens, "seconds": result.seconds})
    except AuroreError as error:
        _write(result_path, {"error": str(error)})
        return 0
    except BaseException as error:  # noqa: BLE001 - the learner's code: anything, SystemExit included
        traceback.print_exc()
        _write(result_path, {"error": f"Your sampler (exercise {_number()}) raised "
                                      f"{type(error).__name__}: {error}".rstrip(": ")})
        return 0
    _write(result_path, {"rows": rows})
    return 0


def _number() -> str:
    try:
        from aurore.course import exercises

        return str(exercises.for_step("generate").number)
    except Exception:  # noqa: BLE001
        return "?"


# --- in the server ---------------------------------------------------------------------------------

def generate(model_dirs: list[str | os.PathLike], prompt: str, params, worker=None, env: dict | None = None,
             wall_seconds: int = WALL_SECONDS, cpu_seconds: int = CPU_SECONDS,
             memory_bytes: int = MEMORY_BYTES) -> list[dict]:
    """Each model's text, written with the learner's sampler in a limited process.

    `params`: SamplingParams (the same seed for every model). Raises
    AuroreError saying why when the learner's code fails, exits, or takes
    longer than `wall_seconds`.
    """
    from aurore.course.checks import runner

    result, returncode, timed_out, output = runner.call_limited(
        __name__, {"models": [str(path) for path in model_dirs], "prompt": prompt,
                   "params": asdict(params)}, env, wall_seconds, cpu_seconds, memory_bytes, worker)
    if timed_out:
        raise AuroreError(f"Your sampler took longer than {wall_seconds} s and was stopped: look for an endless "
                          "loop in it.")
    if isinstance(result.get("rows"), list):
        return result["rows"]
    if result.get("error"):
        raise AuroreError(result["error"])
    last = [line for line in output.strip().splitlines() if line.strip()][-1:]
    raise AuroreError(f"Your sampler stopped the process that ran it (exit code {returncode})"
                      + (f": {last[0][:300]}" if last else "."))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
