"""The training step: data → packed blocks → GPT-2 → fit → model directory.

The teaching parts (packing, the model, the optimizer, the loss) come from
exercise 5's module; this file is the plumbing around them: reading the
dataset and tokenizer, tf.data, distribution strategy, and saving the best
model with `aurore.store.modeldir`. Resuming from `model_dir/checkpoint/`, the
monitor and `metrics.jsonl` are `aurore.training.resumable`'s, shared with the
char-LSTM.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Callable

from aurore import progress
from aurore.corpus import tokenization
from aurore.errors import AuroreError
from aurore.messages import gettext, number
from aurore.store import checkpoint, modeldir, saved_dataset
from aurore.training import distribute, optimizers, packing, presets, resumable


def _init_source(init: str):
    """(backbone, tokenizer, settings) to fine-tune from: a model directory or a KerasHub preset."""
    if Path(init).exists():
        loaded = modeldir.load(init)
        return loaded.backbone, loaded.tokenizer, loaded.settings
    if init.startswith(("hf://", "kaggle://")) or "/" not in init:
        import keras_hub

        try:
            backbone = keras_hub.models.GPT2Backbone.from_preset(init)
            keras_hub_tokenizer = keras_hub.tokenizers.GPT2Tokenizer.from_preset(init)
        except Exception as error:  # network, missing preset…
            raise AuroreError(f"Cannot load the KerasHub preset {init!r} ({error}). Presets need internet "
                              "access; or pass a local model directory to --init.") from error
        settings = {"num_layers": backbone.num_layers, "num_heads": backbone.num_heads,
                    "hidden_dim": backbone.hidden_dim, "intermediate_dim": backbone.intermediate_dim,
                    "sequence_length": backbone.max_sequence_length}
        return backbone, tokenization.from_keras_hub(keras_hub_tokenizer), settings
    raise AuroreError(f"--init {init}: no such model directory. Give a folder made by `python -m aurore train`, "
                      "or a KerasHub preset such as hf://… .")


def _blocks(module, tokenizer, texts, length: int, what: str):
    ids = packing.tokenize(tokenizer, texts)
    inputs, targets = module.pack(ids, tokenizer.eos_token_id, length)
    if len(inputs) == 0:
        raise AuroreError(f"The {what} split is too short to fill one block of {length} tokens. "
                          "Prepare more text, or use a smaller --set sequence_length=….")
    return inputs, targets


def _mixed_precision(policy: str | None) -> None:
    import keras
    import tensorflow as tf

    if policy and tf.config.list_physical_devices("GPU"):
        keras.mixed_precision.set_global_policy(policy)
        progress.log(gettext("Mixed precision: %(policy)s.", policy=policy))
    else:
        keras.mixed_precision.set_global_policy("float32")


def _fit_schedule_to_time(optimizer, planned_steps: int):
    """Wrap the exercise's schedule so it ends with the time budget; returns its horizon variable."""
    import keras

    from aurore.training.callbacks import TimeBudgetSchedule

    base = getattr(optimizer, "_learning_rate", None)
    if not isinstance(base, keras.optimizers.schedules.LearningRateSchedule):
        return None  # a constant learning rate has nothing to fit
    horizon = keras.Variable(float(planned_steps), trainable=False, dtype="float32", name="schedule_horizon")
    optimizer.learning_rate = TimeBudgetSchedule(base, planned_steps, horizon)
    return horizon


def train(module: ModuleType, dataset_dir, tokenizer_dir, model_dir, settings: dict, *,
          strategy: str | None = None, **options) -> dict:
    """Train (or resume, or fine-tune) and leave a complete model directory. Returns a summary.

    `callbacks` (an option): more Keras callbacks, run after the monitor (the search's pruning).

    `sampler` (an option, none by default): given the model being trained
    (a LoadedModel on its live weights), the function that writes a sample
    (`aurore.training.callbacks.WriteSample`). With one, at every evaluation
    the model writes a few words from a fixed prompt (`sample_prompt`, a
    French one by default) and seed (`sample` events, the run page's
    timeline). The command brings it: how to sample is a later stage's.

    One training per model directory at a time (a lock); a save cut short by
    a crash is recovered first, so the run resumes from its last checkpoint.
    """
    model_dir = Path(model_dir)
    if strategy == "multiworker" and not distribute.is_chief():
        # Only the chief's folder is the model: on a shared file system the
        # other workers must not write into it.
        model_dir = model_dir.with_name(f"{model_dir.name}.worker-{distribute.read_tf_config()['task']['index']}")
    with modeldir.training_lock(model_dir):
        modeldir.recover(model_dir)
        return _train(module, dataset_dir, tokenizer_dir, model_dir, settings, strategy=strategy, **options)


def _train(module: ModuleType, dataset_dir, tokenizer_dir, model_dir: Path, settings: dict, *,
           init: str | None = None, restart: bool = False, max_minutes: float | None = None,
           strategy: str | None = None, seed: int = 1234, sampler: Callable | None = None, callbacks=(),
           sample_prompt: str | None = None) -> dict:
    import keras

    run = resumable.Run(model_dir)
    splits = saved_dataset.load(dataset_dir)
    splitter = saved_dataset.load_splitter(dataset_dir)
    # A resumed run's settings come back from JSON: Settings again, so that a wrong key names the right ones.
    settings = presets.Settings(run.open(settings, restart=restart, max_minutes=max_minutes))
    if run.already_finished:
        return run.summary("already finished")

    init_backbone = None
    if init and not run.resuming:
        init_backbone, tokenizer, init_settings = _init_source(init)
        for key in presets.ARCHITECTURE_KEYS:
            settings[key] = init_settings.get(key, settings[key])
        settings["sequence_length"] = min(settings["sequence_length"], int(init_backbone.max_sequence_length))
        settings["init"] = str(init)
    elif run.resuming and (checkpoint.directory(model_dir) / checkpoint.TOKENIZER_DIR).is_dir():
        tokenizer = modeldir.load_tokenizer(checkpoint.directory(model_dir) / checkpoint.TOKENIZER_DIR)
    else:
        tokenizer = modeldir.load_tokenizer(tokenizer_dir)
    tokenization.check(tokenizer)
    vocab_size = len(tokenizer) if init_backbone is None else int(init_backbone.vocabulary_size)
    settings["vocab_size"] = vocab_size
    keras.utils.set_random_seed(seed)
    _mixed_precision(settings.get("mixed_precision"))

    length, batch_size = settings["sequence_length"], settings["batch_size"]
    train_inputs, train_targets = _blocks(module, tokenizer, splits["train"]["text"], length, "training")
    val_inputs, val_targets = _blocks(module, tokenizer, splits["validation"]["text"], length, "validation")
    progress.log(gettext("%(tokens)s training tokens in %(blocks)s blocks of %(length)s; %(validation)s validation "
                         "tokens.", tokens=number(train_inputs.size, 0), blocks=number(len(train_inputs), 0),
                         length=length, validation=number(val_inputs.size, 0)))

    with distribute.get_strategy(strategy or "default").scope():
        model = module.build_model(settings, vocab_size)
        if init_backbone is not None:
            model.backbone.set_weights(init_backbone.get_weights())
        optimizer = optimizers.chosen(module.make_optimizer(settings, settings["max_steps"]), settings)
        horizon = _fit_schedule_to_time(optimizer, settings["max_steps"]) if run.minutes else None
        module.compile_model(model, optimizer, jit_compile=bool(settings.get("jit_compile")))
        state = run.restore_or_start(model, optimizer)

    train_data = packing.training_dataset(train_inputs, train_targets, batch_size, seed + state["step"])
    val_data = packing.evaluation_dataset(val_inputs, val_targets, batch_size, settings.get("eval_batches"))

    def save_best(record: dict) -> None:
        saved = dict(settings, step=record["step"], val_loss=record["val_loss"], tokens=record["tokens"])
        modeldir.save(model_dir, model.backbone, tokenizer, saved, splitter)

    if sampler is not None and (strategy != "multiworker" or distribute.is_chief()):
        callbacks = [_sample_writer(sampler, model_dir, model, tokenizer, settings, sample_prompt, splitter),
                     *callbacks]
    return run.fit(model, train_data, val_data, save_best=save_best,
                   save_checkpoint=lambda current: checkpoint.save(model_dir, model, optimizer, current, tokenizer),
                   is_model_dir=modeldir.is_model_dir, horizon=horizon, callbacks=callbacks)


def _sample_writer(sampler: Callable, model_dir: Path, model, tokenizer, settings: dict,
                   prompt: str | None, splitter: dict | None = None):
    """The callback that has `sampler` write on the weights being trained (built at the first evaluation)."""
    from aurore.training.callbacks import SampleWriter

    def make_writer():
        return sampler(modeldir.LoadedModel(Path(model_dir), model.backbone, tokenizer, dict(settings), splitter))

    return SampleWriter(make_writer, **({"prompt": prompt} if prompt else {}))
