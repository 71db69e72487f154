"""One owner for the default preset: `presets.DEFAULT`, read by every command, page and folder."""

from __future__ import annotations

import argparse
import re

import pytest

from aurore import cli
from aurore.errors import AuroreError
from aurore.training import presets
from import_graph import module_files


def _preset_defaults(parser: argparse.ArgumentParser) -> dict[str, object]:
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return {name: action.default for name, command in commands.choices.items()
            for action in command._actions if "--preset" in action.option_strings}


def test_every_command_defaults_to_the_one_default_preset(monkeypatch):
    monkeypatch.setattr(presets, "DEFAULT", "tiny")
    defaults = _preset_defaults(cli.build_parser())
    # The char-LSTM has presets of its own, named like GPT-2's; code completion trains its own `code` preset.
    defaults.pop("char-lstm", None)
    assert defaults.pop("code") == "code"
    assert {"train", "tune", "pipeline", "generate", "evaluate", "lora"} <= set(defaults)
    assert set(defaults.values()) == {"tiny"}, defaults


def test_no_module_types_the_default_presets_name():
    """A second "cpu" would drift the day the default changes."""
    typed = [f"{path.name}:{number}" for module, path in module_files().items()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"""["']cpu["']""", line) and not line.lstrip().startswith("#")
             and not re.search(r"""["']cpu["']: machine\.|facts\.get\(["']cpu["']""", line)]  # the processor's name
    assert typed and all(name.startswith(("presets.py:", "char_lstm.py:")) for name in typed), typed


def test_every_preset_sets_every_required_key():
    """A new preset is one entry in PRESETS: a key it forgets would fail later, mid-training."""
    required = {key for settings in presets.PRESETS.values() for key in settings} - set(presets.OPTIONAL_KEYS)
    missing = {name: sorted(required - set(settings)) for name, settings in presets.PRESETS.items()
               if required - set(settings)}
    assert missing == {}
    assert presets.DEFAULT in presets.PRESETS


def test_set_values_are_checked_against_the_presets_types():
    settings = presets.settings_from_args("tiny", ["dropout=0", "learning_rate=1e-3", "batch_size=8",
                                                   "mixed_precision=mixed_float16", "jit_compile=true"])
    assert settings["dropout"] == 0.0 and isinstance(settings["dropout"], float)
    assert (settings["batch_size"], settings["mixed_precision"], settings["jit_compile"]) == (8, "mixed_float16", True)
    for pair, message in (("batch_size=eight", "batch_size is a whole number (the tiny preset has 4)"),
                          ("batch_size=8.5", "batch_size is a whole number"),
                          ("batch_size=true", "batch_size is a whole number"),
                          ("jit_compile=1", "jit_compile is true or false"),
                          ("learning_rate=fast", "learning_rate is a number"),
                          ("mixed_precision=16", "mixed_precision is a word")):
        with pytest.raises(AuroreError, match=re.escape(message)):
            presets.settings_from_args("tiny", [pair])


def test_a_wrong_preset_key_lists_the_right_ones():
    """A learner's `settings["hidden_size"]` says which keys there are, not a bare KeyError (issue 24)."""
    settings = presets.preset("tiny")
    with pytest.raises(KeyError) as caught:
        settings["hidden_size"]
    message = str(caught.value)
    assert "'hidden_size' is not a setting" in message
    assert all(key in message for key in ("hidden_dim", "intermediate_dim", "weight_decay", "num_layers"))
    assert isinstance(caught.value, AuroreError)             # the CLI and the pages show it as a message
    assert settings.get("hidden_size") is None and settings["hidden_dim"] == presets.PRESETS["tiny"]["hidden_dim"]
