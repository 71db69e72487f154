"""The character-level LSTM baseline (bonus exercise 8): train it, save it, measure it.

The teaching parts (vocabulary, encoding, the model, the loss) come from
exercise 8's module; this file is the plumbing, as `aurore.training.loop` is for
GPT-2: the same prepared dataset, the same time limit (`--max-minutes`), and
the same run (`aurore.training.resumable`: resumable checkpoints, the monitor's
metrics events, the best model kept, early stopping).

A char-LSTM folder (`models/char-lstm`, or `models/char-lstm-mine` for the
learner's code) holds:
    char_lstm.json       {"format": 1, "kind": "char-lstm", "vocabulary": [...], "settings": {...}}
    model.keras          the whole Keras model (architecture and weights)
    metrics.jsonl        one line per evaluation during training
    evaluation.json      the last report, stamped with the weights it measured
    checkpoint/          training state for resuming
It has no tokenizer/ folder, so the GPT-2 model lists never mistake it for theirs.

Bits per character are comparable with GPT-2's and xz's: the test text is
laid out the same way (each sentence plus one separator character) and every
character after the first is predicted once (`aurore.evaluation.scoring.windows`),
so the characters predicted are exactly the characters counted.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from types import ModuleType

import numpy as np

from aurore import progress
from aurore.errors import AuroreError
from aurore.evaluation import scoring
from aurore.evaluation.baselines import xz_baseline
from aurore.messages import N_, gettext, number
from aurore.store import atomic, checkpoint, modeldir, saved_dataset
from aurore.training import presets, resumable

CONFIG_FILE = "char_lstm.json"
MODEL_FILE = "model.keras"
FORMAT = 1
KIND = "char-lstm"
#: The model folder's name under models/ (with paths.MINE_SUFFIX for the learner's).
MODEL_NAME = "char-lstm"

PRESETS: dict[str, dict] = {
    # For tests and checks: seconds on any machine.
    "tiny": dict(embedding_dim=8, units=16, num_layers=1, dropout=0.0, sequence_length=16, batch_size=4,
                 learning_rate=1e-2, max_steps=12, eval_interval=4, eval_batches=2, eval_length=64, patience=0),
    # The baseline for a 2-core laptop: one layer of 512 units, as char-rnn's classic recipe; the time
    # limit rules (max_steps only bounds a fast machine), and the best validation loss is kept.
    "cpu": dict(embedding_dim=64, units=512, num_layers=1, dropout=0.1, sequence_length=128, batch_size=32,
                learning_rate=2e-3, max_steps=50000, eval_interval=100, eval_batches=20, eval_length=256,
                patience=5, max_minutes=15),
}
OPTIONAL_KEYS = ("max_minutes",)
#: How the training's logs and errors name it.
WORDS = resumable.Words(subject=N_("The char-LSTM training"), noun="char-LSTM training", start_over="")


def preset(name: str, pairs: list[str] | None = None, **overrides) -> dict:
    """A copy of the named preset, with `--set key=value` pairs and overrides (unknown keys refused)."""
    chosen = presets.parse_set_pairs(pairs, example="units=256")
    settings = presets.lookup(PRESETS, name, {**chosen, **overrides}, OPTIONAL_KEYS,
                              preset_word="char-LSTM preset", setting_word="char-LSTM setting")
    for key in ("units", "embedding_dim", "num_layers", "sequence_length", "batch_size", "eval_length"):
        if not isinstance(settings[key], int) or settings[key] < 1:
            raise AuroreError(f"The char-LSTM setting {key} must be a whole number of at least 1, "
                              f"not {settings[key]!r}.")
    if not (isinstance(settings["dropout"], (int, float)) and 0 <= settings["dropout"] < 1):
        raise AuroreError(f"dropout must be a number from 0 to below 1, not {settings['dropout']!r}.")
    return settings


# -- data ----------------------------------------------------------------------------------------
def vocabulary(module: ModuleType, texts) -> list[str]:
    """Exercise 8's vocabulary, checked: distinct single characters, the separator among them."""
    found = module.build_vocabulary(texts)
    if not (isinstance(found, (list, tuple)) and len(found) >= 2
            and all(isinstance(c, str) and len(c) == 1 for c in found) and len(set(found)) == len(found)
            and "\n" in found):
        raise AuroreError(f"Exercise 8: `build_vocabulary` returned {found!r:.80}, not a list of distinct "
                          "characters with UNKNOWN and SEPARATOR first. Check it with `python -m aurore check 8`.")
    return list(found)


def encode(module: ModuleType, texts, vocab: list[str]) -> np.ndarray:
    """Exercise 8's stream of character ids, checked (one id per character and separator, all known)."""
    texts = [text for text in texts if text]
    stream = np.asarray(module.encode(texts, vocab))
    expected = 1 + sum(len(text) + 1 for text in texts)
    if stream.ndim != 1 or len(stream) != expected or not np.issubdtype(stream.dtype, np.integer) \
            or (stream.size and (stream.min() < 0 or stream.max() >= len(vocab))):
        raise AuroreError(f"Exercise 8: `encode` returned {stream!r:.80}, not {expected} ids from 0 to "
                          f"{len(vocab) - 1} (one per character, one separator before each sentence and one at "
                          "the end). Check it with `python -m aurore check 8`.")
    return stream.astype(np.int32)


def blocks(stream: np.ndarray, length: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets): the stream cut into full blocks of `length` characters, targets one further."""
    count = (len(stream) - 1) // length
    if count == 0:
        raise AuroreError(f"The {what} split is too short to fill one block of {length} characters. "
                          "Prepare more text, or use a smaller --set sequence_length=….")
    return (stream[:count * length].reshape(count, length), stream[1:count * length + 1].reshape(count, length))


def _batches(inputs, targets, batch_size: int, seed: int | None = None, max_batches: int | None = None):
    """tf.data batches: shuffled and endless for training (a seed), else fixed and in order."""
    import tensorflow as tf

    if max_batches:
        inputs, targets = inputs[:max_batches * batch_size], targets[:max_batches * batch_size]
    data = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if seed is not None:
        data = data.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True).repeat()
    return data.batch(batch_size, drop_remainder=seed is not None).prefetch(tf.data.AUTOTUNE)


# -- the model folder ----------------------------------------------------------------------------
def is_model_dir(path) -> bool:
    path = Path(path)
    return (path / CONFIG_FILE).is_file() and (path / MODEL_FILE).is_file()


def save(model_dir, model, vocab: list[str], settings: dict) -> None:
    """The model first (written aside, then renamed), then its config: each file is whole or old."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_dir / f".tmp-{os.getpid()}.{MODEL_FILE}"
    try:
        model.save(str(tmp))
        os.replace(tmp, model_dir / MODEL_FILE)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    config = {"format": FORMAT, "kind": KIND, "vocabulary": vocab, "settings": settings}
    atomic.write_text(model_dir / CONFIG_FILE, json.dumps(config, indent=1, ensure_ascii=False))


def read_config(model_dir) -> dict:
    model_dir = Path(model_dir)
    if not is_model_dir(model_dir):
        raise AuroreError(f"No char-LSTM model in {model_dir} (it needs {CONFIG_FILE} and {MODEL_FILE}). "
                          "Train one with `python -m aurore char-lstm`.")
    try:
        return json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AuroreError(f"{model_dir / CONFIG_FILE} cannot be read ({error}). Train again with "
                          "`python -m aurore char-lstm --restart`.") from error


def load(model_dir):
    """(Keras model, vocabulary, settings) of a char-LSTM folder."""
    import keras

    config = read_config(model_dir)
    try:
        model = keras.models.load_model(str(Path(model_dir) / MODEL_FILE), compile=False)
    except Exception as error:  # keras/h5py/zipfile raise many kinds here
        raise AuroreError(f"The char-LSTM model in {model_dir} cannot be loaded ({error}). Train again with "
                          "`python -m aurore char-lstm --restart`.") from error
    return model, list(config["vocabulary"]), dict(config.get("settings", {}))


# -- training ------------------------------------------------------------------------------------
def train(module: ModuleType, dataset_dir, model_dir, settings: dict, **options) -> dict:
    """Train (or resume) and leave a complete char-LSTM folder; one training per folder at a time."""
    model_dir = Path(model_dir)
    with modeldir.training_lock(model_dir):
        modeldir.recover(model_dir)
        return _train(module, dataset_dir, model_dir, settings, **options)


def _train(module: ModuleType, dataset_dir, model_dir: Path, settings: dict, *, restart: bool = False,
           max_minutes: float | None = None, seed: int = 1234) -> dict:
    import keras

    run = resumable.Run(model_dir, WORDS)
    splits = saved_dataset.load(dataset_dir)
    settings = run.open(settings, restart=restart, max_minutes=max_minutes)
    if run.already_finished:
        return run.summary("already finished")
    vocab = run.state["vocabulary"] if run.resuming else vocabulary(module, splits["train"]["text"])
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy("float32")

    length, batch_size = settings["sequence_length"], settings["batch_size"]
    train_inputs, train_targets = blocks(encode(module, splits["train"]["text"], vocab), length, "training")
    val_inputs, val_targets = blocks(encode(module, splits["validation"]["text"], vocab), length, "validation")
    progress.log(gettext("%(vocabulary)s characters in the vocabulary; %(train)s training characters in %(blocks)s "
                         "blocks of %(length)s; %(validation)s validation characters.",
                         vocabulary=number(len(vocab), 0), train=number(train_inputs.size, 0),
                         blocks=number(len(train_inputs), 0), length=length, validation=number(val_inputs.size, 0)))

    model = module.build_model(settings, len(vocab))
    module.compile_model(model, settings["learning_rate"])
    if getattr(model, "optimizer", None) is None:
        raise AuroreError("Exercise 8: `compile_model` did not compile the model (model.optimizer is None). "
                          "Check it with `python -m aurore check 8`.")
    state = run.restore_or_start(model, model.optimizer, vocabulary=vocab)

    def save_best(record: dict) -> None:
        save(model_dir, model, vocab, dict(settings, step=record["step"], val_loss=record["val_loss"],
                                           characters=record["tokens"]))

    return run.fit(model, _batches(train_inputs, train_targets, batch_size, seed=seed + state["step"]),
                   _batches(val_inputs, val_targets, batch_size, max_batches=settings["eval_batches"]),
                   save_best=save_best, is_model_dir=is_model_dir,
                   save_checkpoint=lambda current: checkpoint.save(model_dir, model, model.optimizer, current))


# -- evaluation ----------------------------------------------------------------------------------
def log_likelihoods(model, stream: np.ndarray, length: int, batch_size: int = 32) -> np.ndarray:
    """ln p(next character) for every character after the first, in order (windows of `length`)."""
    import tensorflow as tf

    inputs, targets, mask = scoring.windows(stream, length)

    @tf.function(reduce_retracing=True)
    def batch_log_likelihoods(x, y):
        logits = tf.cast(model(x, training=False), tf.float32)
        return -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)

    return scoring.masked_log_likelihoods(batch_log_likelihoods, inputs, targets, mask, batch_size,
                                          "Evaluating the char-LSTM", "window")


def evaluate(model_dir, dataset_dir, splits=("test", "validation"), *, rules: ModuleType,
             reference: ModuleType | None = None, batch_size: int = 32) -> dict:
    """The report of a char-LSTM, shaped as GPT-2's (`aurore.evaluation.scoring.evaluate`): a token is a character.

    `rules`: exercise 7's module that turns log-likelihoods into figures;
    `reference`: the solution's, for the xz figure (`rules` when not given).
    """
    scoring.try_rules(rules)
    model, vocab, settings = load(model_dir)
    data = saved_dataset.load(dataset_dir)
    report = {"model": str(Path(model_dir)), "kind": KIND, "step": settings.get("step"), "vocab_size": len(vocab),
              "fresh_loss": math.log(len(vocab))}
    ids = {character: index for index, character in enumerate(vocab)}
    for split in splits:
        if split not in data:
            raise AuroreError(f"The dataset has no {split!r} split. Prepare it again with `python -m aurore prepare`.")
        texts = [text for text in data[split]["text"] if text]
        stream = np.asarray([ids["\n"]] + [ids.get(c, 0) for text in texts for c in text + "\n"], np.int32)
        found = log_likelihoods(model, stream, int(settings.get("eval_length", 256)), batch_size)
        report[split] = scoring.summarise(found, sum(len(text) + 1 for text in texts), rules)
    if "test" in splits:
        report["baseline"] = xz_baseline(reference or rules, dataset_dir, "test")
    return report


#: What training writes into the settings each time it saves better weights: the report's stamp.
_TRAINED = ("step", "val_loss", "characters")


def _stamp(model_dir) -> dict:
    settings = read_config(model_dir).get("settings", {})
    return {key: settings.get(key) for key in _TRAINED}


def save_report(model_dir, report: dict) -> None:
    """Keep the report beside the weights it measured, stamped as GPT-2's (`scoring.save_report`)."""
    scoring.save_report(model_dir, report, stamp=_stamp)


def read_report(model_dir) -> dict | None:
    """The saved report, or None if there is none or the weights changed since."""
    return scoring.read_report(model_dir, stamp=_stamp)


def test_report(model_dir, dataset_dir, rules: ModuleType) -> dict:
    """The char-LSTM's report on the test book: the saved one while it describes the weights, else measured."""
    report = read_report(model_dir)
    if report is None or "test" not in report:
        report = evaluate(model_dir, dataset_dir, splits=("test",), rules=rules)
    return report
