"""The training step: data → packed blocks → GPT-2 → fit → model directory.

The teaching parts (packing, the model, the optimizer, the loss) come from
exercise 3's module; this file is the plumbing around them: reading the
dataset and tokenizer, tf.data, distribution strategy, resuming from
`model_dir/checkpoint/`, saving the best model with `aurore.store.modeldir`, and
`metrics.jsonl` (one line per evaluation).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from types import ModuleType

from aurore import progress
from aurore.corpus import tokenization
from aurore.errors import AuroreError
from aurore.store import atomic, checkpoint, modeldir, saved_dataset
from aurore.training import distribute, optimizers, packing, presets

METRICS_FILE = "metrics.jsonl"


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
        progress.log(f"Mixed precision: {policy}.")
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

    `samples` (an option, on by default): at every evaluation the model writes
    a few words from a fixed prompt (`sample_prompt`, a French one by default)
    and seed (`sample` events, the run page's timeline).

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
           strategy: str | None = None, seed: int = 1234, samples: bool = True, callbacks=(),
           sample_prompt: str | None = None) -> dict:
    import keras

    started = time.monotonic()
    splits = saved_dataset.load(dataset_dir)
    if restart and model_dir.exists():
        shutil.rmtree(checkpoint.directory(model_dir), ignore_errors=True)
    resuming = checkpoint.exists(model_dir)
    if resuming:
        state = checkpoint.read_state(model_dir)
        if state.get("finished"):
            progress.log(f"Training in {model_dir} already finished (step {state['step']}). "
                         "Use --restart to train again from scratch (on the run page: tick Start over).")
            return run_summary(model_dir, state, "already finished", started)
        if state["settings"].get("preset") != settings.get("preset"):
            raise AuroreError(f"{model_dir} holds an unfinished training with the preset "
                              f"{state['settings'].get('preset')!r}, not {settings.get('preset')!r}. "
                              "Resume it with that preset, pick another --model, or start afresh with --restart "
                              "(on the run page: tick Start over).")
        settings = dict(state["settings"], **{k: settings[k] for k in ("max_steps",) if k in settings})

    init_backbone = None
    if init and not resuming:
        init_backbone, tokenizer, init_settings = _init_source(init)
        for key in presets.ARCHITECTURE_KEYS:
            settings[key] = init_settings.get(key, settings[key])
        settings["sequence_length"] = min(settings["sequence_length"], int(init_backbone.max_sequence_length))
        settings["init"] = str(init)
    elif resuming and (checkpoint.directory(model_dir) / checkpoint.TOKENIZER_DIR).is_dir():
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
    progress.log(f"{train_inputs.size:,} training tokens in {len(train_inputs):,} blocks of {length}; "
                 f"{val_inputs.size:,} validation tokens.")

    with distribute.get_strategy(strategy or "default").scope():
        model = module.build_model(settings, vocab_size)
        if init_backbone is not None:
            model.backbone.set_weights(init_backbone.get_weights())
        optimizer = optimizers.chosen(module.make_optimizer(settings, settings["max_steps"]), settings)
        limit = max_minutes if max_minutes is not None else settings.get("max_minutes")
        horizon = _fit_schedule_to_time(optimizer, settings["max_steps"]) if limit else None
        module.compile_model(model, optimizer, jit_compile=bool(settings.get("jit_compile")))
        if resuming:
            state = checkpoint.restore(model_dir, model, optimizer)
            progress.log(f"Resuming from the checkpoint at step {state['step']} (with that run's settings; "
                         "only --max-steps and --max-minutes apply).")
        else:
            state = {"step": 0, "epoch": 0, "history": [], "best_val_loss": None, "wait": 0,
                     "settings": settings, "seconds": 0.0}
            model_dir.mkdir(parents=True, exist_ok=True)
            write_metrics(model_dir, [])

    tokens_per_step = batch_size * length
    train_data = packing.training_dataset(train_inputs, train_targets, batch_size, seed + state["step"])
    val_data = packing.evaluation_dataset(val_inputs, val_targets, batch_size, settings.get("eval_batches"))

    saved_steps: list[int] = []

    def save_best(record: dict) -> None:
        saved = dict(settings, step=record["step"], val_loss=record["val_loss"], tokens=record["tokens"])
        modeldir.save(model_dir, model.backbone, tokenizer, saved)
        saved_steps.append(record["step"])

    def save_checkpoint(current: dict) -> None:
        checkpoint.save(model_dir, model, optimizer, current, tokenizer)
        write_metrics(model_dir, current["history"])

    if horizon is not None and state.get("horizon"):
        horizon.assign(float(state["horizon"]))
    from aurore.training.callbacks import SampleWriter, TrainingMonitor

    monitor = TrainingMonitor(state, settings["max_steps"], tokens_per_step, settings.get("patience", 0),
                              save_best, save_checkpoint,
                              deadline=time.monotonic() + 60 * limit if limit else None,
                              checkpoint_seconds=settings.get("checkpoint_seconds", 120), horizon=horizon)
    extra_callbacks, callbacks = callbacks, [monitor]
    if samples and (strategy != "multiworker" or distribute.is_chief()):
        callbacks.append(SampleWriter(lambda: _sampler(model_dir, model.backbone, tokenizer, settings),
                                      **({"prompt": sample_prompt} if sample_prompt else {})))
    interval = settings["eval_interval"]
    epochs = state["epoch"] + math.ceil(max(settings["max_steps"] - state["step"], 1) / interval) + 1
    model.fit(train_data, steps_per_epoch=interval, epochs=epochs, initial_epoch=state["epoch"],
              validation_data=val_data, callbacks=[*callbacks, *extra_callbacks], verbose=0, shuffle=False)
    if not saved_steps and not (resuming and modeldir.is_model_dir(model_dir)):  # no evaluation finished
        save_best({"step": monitor.step(), "val_loss": None, "tokens": monitor.step() * tokens_per_step})
    reason = monitor.stop_reason or "done"
    progress.log(f"Training stopped ({reason}) at step {monitor.step()}; best validation loss "
                 f"{state.get('best_val_loss')} at step {state.get('best_step')}. Model in {model_dir}.")
    return run_summary(model_dir, state, reason, started)


def _sampler(model_dir, backbone, tokenizer, settings: dict):
    """A generator on the weights being trained (the reference's sampling rules, no XLA compile)."""
    from aurore.generation.generator import Generator

    return Generator(modeldir.LoadedModel(Path(model_dir), backbone, tokenizer, dict(settings)), "solution", xla=False)


def run_summary(model_dir, state: dict, reason: str, started: float) -> dict:
    return {"model_dir": str(model_dir), "step": state.get("step"), "best_val_loss": state.get("best_val_loss"),
            "best_step": state.get("best_step"), "stopped": reason,
            "seconds": round(time.monotonic() - started, 1)}


def write_metrics(model_dir, history: list[dict]) -> None:
    atomic.write_text(Path(model_dir) / METRICS_FILE,
                      "".join(json.dumps(progress.json_safe(record)) + "\n" for record in history))


def settings_from_args(preset_name: str, pairs: list[str] | None = None, **overrides) -> dict:
    """Preset + `--set key=value` pairs (values parsed as JSON when they can be)."""
    return presets.preset(preset_name, **{**parse_set_pairs(pairs), **overrides})


def parse_set_pairs(pairs: list[str] | None, example: str = "batch_size=8") -> dict:
    """`--set key=value` pairs as a dict, values parsed as JSON when they can be (8 → 8, adamw → "adamw")."""
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

