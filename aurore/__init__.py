"""Aurore: the neural network that wrote novels.

A workshop library: corpus preparation, tokenizer, GPT-2 training on
TensorFlow with KerasHub, evaluation, generation, and the exercise machinery.
Importing the package quiets TensorFlow's start-up noise and selects the
TensorFlow backend for Keras, before either is imported.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The hub is unreachable in workshop rooms: never wait on it.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# transformers warns that PyTorch is absent: Aurore uses it for tokenizers only.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from aurore import machine as _machine, quiet as _quiet  # noqa: E402

# XLA:CPU generates half-speed code unless told its ISA (aurore.machine).
_xla_flags = _machine.xla_flags_naming_the_isa(os.environ)
if _xla_flags:
    os.environ["XLA_FLAGS"] = _xla_flags

_quiet.install()

__version__ = "0.1.0"
