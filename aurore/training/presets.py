"""GPT-2 model presets, as plain data (nanoGPT style), and model arithmetic.

A preset fixes the architecture (layers, width, context) and the training
recipe (batch, learning rate, warm-up, evaluation cadence). The vocabulary
size always comes from the tokenizer. Building the KerasHub model itself is
the learner's job in exercise 5 (`solutions/05_train.py`).

Choosing a preset and overriding it (`lookup`, `--set key=value` pairs) is the
same for every model trained here: the char-LSTM's presets use it too.
"""

from __future__ import annotations

import json

from aurore.errors import AuroreError
from aurore.training import optimizers

#: The preset a command uses when none is named: the best for a CPU in its time.
DEFAULT = "cpu"

PRESETS: dict[str, dict] = {
    # For tests and checks: a few seconds on any machine.
    "tiny": dict(
        num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64, dropout=0.0,
        sequence_length=32, batch_size=4, learning_rate=3e-3, warmup_steps=2, max_steps=12,
        eval_interval=4, eval_batches=2, patience=0, weight_decay=0.1, mixed_precision=None,
        jit_compile=False,
    ),
    # A 2-core laptop gets a readable model within 15 minutes. The time limit
    # rules: the learning-rate schedule is fitted to the steps that fit in it
    # (aurore.training.callbacks.TimeBudgetSchedule); max_steps only bounds a fast machine.
    # Found by `python -m aurore tune` on a 2-core AVX2 CPU (issue 11, docs/benchmarks.md):
    # in 15 minutes a small model that makes many steps at a high learning rate beats
    # a wider one (4 layers of 256: 1.986 bits per character, this one: see there).
    # The search ran with context 64 and batch 32; the preset keeps its 2,048 tokens a
    # step as 16 rows of 128, so that the writers' page still gets ~100 new tokens after
    # a prompt. XLA runs these small steps twice as fast once told the CPU's ISA
    # (aurore.machine); its compiling costs ~15 s of the budget.
    "cpu": dict(
        num_layers=3, num_heads=4, hidden_dim=128, intermediate_dim=512, dropout=0.0,
        sequence_length=128, batch_size=16, learning_rate=9.16e-3, warmup_steps=75, max_steps=50000,
        eval_interval=500, eval_batches=20, patience=5, weight_decay=0.28, mixed_precision=None,
        jit_compile=True, max_minutes=15,
    ),
    # Python code completion (exercise 9): the cpu recipe (many small steps at a high learning
    # rate, XLA) with twice its context, so that a function fits, and half its batch, so that a
    # step keeps its 2,048 tokens. In 15 quiet minutes: 4,603 steps, 1.254 bits per character on
    # the normalised test files, 19.5 % of completions parse (docs/benchmarks.md, issue 27); the
    # former 4 layers of 256 without XLA made 1,080 steps (2 % parsed, raw files).
    "code": dict(
        num_layers=3, num_heads=4, hidden_dim=128, intermediate_dim=512, dropout=0.0,
        sequence_length=256, batch_size=8, learning_rate=9.16e-3, warmup_steps=75, max_steps=50000,
        eval_interval=500, eval_batches=20, patience=5, weight_decay=0.28, mixed_precision=None,
        jit_compile=True, max_minutes=15,
    ),
    # GPT-2 small (124M parameters with GPT-2's 50,257-token vocabulary), one GPU.
    "gpu": dict(
        num_layers=12, num_heads=12, hidden_dim=768, intermediate_dim=3072, dropout=0.1,
        sequence_length=1024, batch_size=16, learning_rate=6e-4, warmup_steps=500, max_steps=20000,
        eval_interval=500, eval_batches=50, patience=5, weight_decay=0.1,
        mixed_precision="mixed_bfloat16", jit_compile=True,
    ),
}

#: Settings no preset fixes but any run may set: `optimizer` is "adamw" (exercise 5's) unless
#: set to "muon" (aurore.training.optimizers).
OPTIONAL_KEYS = ("max_minutes", "optimizer")

#: Settings a user may override from the command line (`--set key=value`).
ARCHITECTURE_KEYS = ("num_layers", "num_heads", "hidden_dim", "intermediate_dim", "dropout", "sequence_length")


def preset(name: str, **overrides) -> dict:
    """A copy of the named preset with overrides applied (unknown keys refused)."""
    settings = lookup(PRESETS, name, overrides, OPTIONAL_KEYS)
    optimizers.check(settings.get("optimizer", "adamw"))
    if settings["hidden_dim"] % settings["num_heads"]:
        raise AuroreError(f"hidden_dim ({settings['hidden_dim']}) must be a multiple of num_heads "
                          f"({settings['num_heads']}).")
    return settings


class UnknownSetting(AuroreError, KeyError):
    """A key a preset lacks, asked for by name (`settings["hidden_size"]`): the message lists the right ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class Settings(dict):
    """A preset's settings: a dict whose missing key says which keys there are, not a bare KeyError."""

    def __missing__(self, key):
        known = ", ".join(sorted(str(name) for name in self))
        raise UnknownSetting(f"{key!r} is not a setting of the preset {self.get('preset', '')!r}: its settings "
                             f"are {known} (aurore/training/presets.py).")


def lookup(table: dict[str, dict], name: str, overrides: dict, optional_keys=(), *,
           preset_word: str = "preset", setting_word: str = "training setting") -> dict:
    """A copy of `table[name]` named by its `preset` key, with overrides (None skipped, unknown keys refused).

    Any model's presets (GPT-2's here, the char-LSTM's) are chosen the same way; the
    words name whose they are in the messages.
    """
    if name not in table:
        raise AuroreError(f"Unknown {preset_word} {name!r}: choose one of {', '.join(table)}.")
    settings = Settings(table[name], preset=name)
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in table[name] and key not in optional_keys:
            raise AuroreError(f"Unknown {setting_word} {key!r}: known settings are {', '.join(table[name])}.")
        settings[key] = _typed(key, value, table[name].get(key), name) if key in table[name] else value
    return settings


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a word"}


def _typed(key: str, value, reference, preset_name: str):
    """`value` as the preset's own value of `key` is typed: `--set batch_size=eight` is refused by name.

    A whole number stands for a number (`--set dropout=0`); a setting the
    preset leaves empty (None) takes a word or stays empty.
    """
    if reference is None:
        if value is None or isinstance(value, str):
            return value
        expected = str
    else:
        expected = type(reference)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
            return value
    raise AuroreError(f"{key}={value!r}: {key} is {_KINDS.get(expected, expected.__name__)} "
                      f"(the {preset_name} preset has {reference!r}).")


def settings_from_args(preset_name: str, pairs: list[str] | None = None, **overrides) -> dict:
    """Preset + `--set key=value` pairs (values parsed as JSON when they can be)."""
    return preset(preset_name, **{**parse_set_pairs(pairs), **overrides})


def parse_set_pairs(pairs: list[str] | None, example: str = "batch_size=8") -> dict:
    """`--set key=value` pairs as a dict, values parsed as JSON when they can be (8 → 8, adamw → "adamw").

    `lookup` then checks each against the type of the preset's own value.
    """
    parsed = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise AuroreError(f"--set {pair!r}: write it as key=value, e.g. --set {example}.")
        try:
            parsed[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key.strip()] = value
    return parsed


def parameter_count(settings: dict, vocab_size: int) -> dict:
    """Parameters of a GPT-2 (tied embeddings), split into embedding and the rest.

    Per layer: attention 4·d² + 4·d, MLP 2·d·f + f + d, two layer norms 4·d.
    """
    d, f, n = settings["hidden_dim"], settings["intermediate_dim"], settings["num_layers"]
    per_layer = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d
    embedding = vocab_size * d + settings["sequence_length"] * d
    return {"embedding": embedding, "layers": n * per_layer + 2 * d, "total": embedding + n * per_layer + 2 * d}


def training_flops_per_token(settings: dict, vocab_size: int) -> float:
    """Matrix FLOPs to train on one token: forward + backward = 3 × forward.

    Forward, per token: 2 FLOPs per weight of every matrix multiply (layers
    and the output projection onto the vocabulary, tied to the embedding),
    plus attention scores and weighted sum, 2·2·T·d per layer (T the context,
    counting the full square as the kernels do). Hence ≈ 6·N + 12·L·T·d.
    """
    d, f, n, t = (settings["hidden_dim"], settings["intermediate_dim"], settings["num_layers"],
                  settings["sequence_length"])
    matrix_weights = n * (4 * d * d + 2 * d * f) + vocab_size * d
    attention = n * 2 * 2 * t * d
    return 3 * (2 * matrix_weights + attention)
