"""The attention exercise's code, for « Ce que le modèle regarde », and the learner's run outside the server.

`attention_function(variant)` is the one way the CLI and the web app get the
exercise's `multi_head_attention`: through `exercises.rules`, as every step
gets its exercise's code.

The learner's function may hang, exit or crash: in the web app it never runs in
the server's process but here, in a process limited as a check is
(`aurore.course.checks.child`, forked by the warm worker when it is ready),
which loads the model, computes the map (`aurore.generation.attention_map`)
and hands it back in a JSON file, as `learner_sampler` does for the sampler.

    amap = compute("…/models/tiny", text, layer=1, head=1)   # a dict; AuroreError when it fails
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

from aurore.errors import AuroreError

#: The attention exercise's step (exercises/info.toml).
STEP = "attention"
WALL_SECONDS = 60
CPU_SECONDS = 120
MEMORY_BYTES = 8 * 1024**3


def exercise():
    """The attention exercise of `info.toml`."""
    from aurore.course import exercises

    return exercises.for_step(STEP)


def attention_module(variant: str = "solution"):
    """The exercise's code, the reference solution's or the learner's (`variant` "exercise"), its TODOs explained."""
    from aurore.course import exercises

    return exercises.rules(STEP, variant)


def attention_function(variant: str = "solution"):
    """`multi_head_attention` of the reference or of the learner, a TODO in it explained."""
    return attention_module(variant).multi_head_attention


def function_label(variant: str) -> str:
    """What the map says computed it: "reference" or "exercise"."""
    return "reference" if variant == "solution" else "exercise"


# --- in the limited child ----------------------------------------------------------------------

def _write(path: str, result: dict) -> None:
    Path(path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def main(argv: list[str]) -> int:
    """`REQUEST.json RESULT.json`: the learner's attention map of the request's text, into RESULT.json."""
    request_path, result_path = argv
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    try:
        from aurore.generation.attention_map import attention_map
        from aurore.store import modeldir

        function = attention_function("exercise")
        amap = attention_map(modeldir.load(request["model"]), request["text"], request["layer"], request["head"],
                             function, function="exercise")
    except AuroreError as error:
        _write(result_path, {"error": str(error), "mismatch": type(error).__name__ == "AttentionMismatch"})
        return 0
    except BaseException as error:  # noqa: BLE001 - the learner's code: anything, SystemExit included
        traceback.print_exc()
        _write(result_path, {"error": f"Your attention code raised {type(error).__name__}: {error}".rstrip(": ")})
        return 0
    _write(result_path, {"map": amap.as_dict()})
    return 0


# --- in the server ---------------------------------------------------------------------------------

def compute(model_dir: str | os.PathLike, text: str, layer: int, head: int, worker=None, env: dict | None = None,
            wall_seconds: int = WALL_SECONDS, cpu_seconds: int = CPU_SECONDS,
            memory_bytes: int = MEMORY_BYTES) -> dict:
    """The attention map (`AttentionMap.as_dict()`) computed by the learner's function, in a limited process.

    Raises AuroreError saying why when the learner's code fails, does not
    reproduce the layer, exits, or takes longer than `wall_seconds`.
    """
    from aurore.course.checks import runner

    result, returncode, timed_out, output = runner.call_limited(
        __name__, {"model": str(model_dir), "text": text, "layer": layer, "head": head}, env, wall_seconds, cpu_seconds, memory_bytes, worker)
    if timed_out:
        raise AuroreError(f"Your attention code took longer than {wall_seconds} s and was stopped: look for an "
                          "endless loop in it.")
    if isinstance(result.get("map"), dict):
        return result["map"]
    if result.get("error"):
        if result.get("mismatch"):
            from aurore.generation.attention_map import AttentionMismatch

            raise AttentionMismatch(result["error"])
        raise AuroreError(result["error"])
    last = [line for line in output.strip().splitlines() if line.strip()][-1:]
    raise AuroreError(f"Your attention code stopped the process that ran it (exit code {returncode})"
                      + (f": {last[0][:300]}" if last else "."))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
