"""Export a model directory as a TensorFlow SavedModel for serving at scale.

TensorFlow Serving (or any TensorFlow runtime) loads the SavedModel without
Python, Keras or Aurore. Its `serving_default` signature runs the whole
generation loop inside the graph (KerasHub's cached GPT-2 decoding and a
KerasHub sampler):

    inputs   token_ids       int32 [batch, prompt_len]  prompts, right-padded (any id)
             prompt_lengths  int32 [batch]              real length of each prompt
             max_new_tokens  int32 []                   tokens to add (capped by the model's context)
    outputs  token_ids       int32 [batch, length]      prompt followed by the generated tokens
             lengths         int32 [batch]              valid tokens per row (generation stops at
                                                        the end-of-text token, unless exported with
                                                        stop_at_end=False)

Tokenization stays outside the graph: the tokenizer files travel with the
export in `assets.extra/tokenizer/` (TF Serving ignores that folder), and
`aurore-export.json` records how the export was made.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from aurore import progress
from aurore.errors import AuroreError
from aurore.generation import sampling
from aurore.store import atomic, modeldir

#: The sampling settings the exported graph's KerasHub sampler uses (stop strings, for one, it has not).
SETTINGS = ("strategy", "temperature", "top_k", "top_p", "seed")
METADATA_FILE = "aurore-export.json"
TOKENIZER_SUBDIR = Path("assets.extra") / "tokenizer"
SIGNATURE = "serving_default"


def checked_settings(settings: dict) -> sampling.SamplingParams:
    """The export's sampler settings, checked as `generate`'s are; a refusal names the command's option."""
    unused = sorted(set(settings) - set(SETTINGS))
    if unused:
        raise AuroreError(f"The exported sampler has no `{unused[0]}` setting; it has: {', '.join(SETTINGS)}.")
    flags = {setting.name: setting.flag for setting in sampling.FIELDS}
    return sampling.checked(settings, names=flags)


def _sampler(params: sampling.SamplingParams):
    """A KerasHub sampler: its choice of the next token runs inside the exported graph."""
    import keras_hub

    if params.strategy == "greedy":
        return keras_hub.samplers.GreedySampler()
    if params.strategy == "top_k":
        return keras_hub.samplers.TopKSampler(k=params.top_k, temperature=params.temperature, seed=params.seed)
    return keras_hub.samplers.TopPSampler(p=params.top_p, k=params.top_k, temperature=params.temperature,
                                          seed=params.seed)


def export_saved_model(model_path: str | os.PathLike, out: str | os.PathLike, *, stop_at_end: bool = True,
                       **settings) -> Path:
    """Write the model at `model_path` as a SavedModel folder `out`, atomically.

    `settings`: the sampler's (SETTINGS: strategy, temperature, top_k,
    top_p, seed), by the names and with the defaults of
    `aurore.generation.sampling`. `out` is replaced whole only once the
    export is complete, so a crash never leaves a half SavedModel that a
    server would try to load.
    """
    import aurore  # noqa: F401
    import keras
    import keras_hub
    import tensorflow as tf

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise AuroreError(f"{out} exists and is not a folder: choose another --out.")
    params = checked_settings(settings)
    loaded = modeldir.load(model_path)
    chosen = _sampler(params)
    causal_lm = keras_hub.models.GPT2CausalLM(backbone=loaded.backbone, preprocessor=None)
    causal_lm.compile(sampler=chosen)
    max_length = loaded.max_length
    end_id = loaded.tokenizer.eos_token_id
    stop_token_ids = None if end_id is None or not stop_at_end else (int(end_id),)
    # Positions still to generate must not hold the end token: KerasHub's
    # sampler would read it as "already finished" and stop at once.
    fill_id = 1 if end_id == 0 else 0

    def generate(token_ids, prompt_lengths, max_new_tokens):
        prompt_width = tf.shape(token_ids)[1]
        tf.debugging.assert_less_equal(
            prompt_lengths, tf.minimum(prompt_width, max_length - 1),
            message=f"each prompt length must fit in token_ids and leave room in the "
                    f"model's context of {max_length} tokens")
        tf.debugging.assert_positive(prompt_lengths, message="every prompt needs at least one token")
        tf.debugging.assert_non_negative(max_new_tokens, message="max_new_tokens cannot be negative")
        length = tf.minimum(tf.reduce_max(prompt_lengths) + max_new_tokens, max_length)
        kept = tf.minimum(prompt_width, length)
        padded = tf.pad(token_ids[:, :kept], [[0, 0], [0, length - kept]])
        mask = tf.sequence_mask(prompt_lengths, length)
        padded = tf.where(mask, padded, tf.fill(tf.shape(padded), fill_id))
        result = causal_lm.generate_step({"token_ids": padded, "padding_mask": mask},
                                         stop_token_ids=stop_token_ids)
        return {"token_ids": tf.cast(result["token_ids"], tf.int32),
                "lengths": tf.reduce_sum(tf.cast(result["padding_mask"], tf.int32), axis=1)}

    archive = keras.export.ExportArchive()
    archive.track(causal_lm)
    if chosen.variables:
        archive.add_variable_collection("sampler_variables", chosen.variables)
    archive.add_endpoint(
        name=SIGNATURE, fn=generate,
        input_signature=[tf.TensorSpec([None, None], tf.int32, name="token_ids"),
                         tf.TensorSpec([None], tf.int32, name="prompt_lengths"),
                         tf.TensorSpec([], tf.int32, name="max_new_tokens")])
    metadata = {
        "format": 1,
        "signature": SIGNATURE,
        "model": loaded.name,
        "max_length": max_length,
        "end_token_id": end_id,
        "stop_at_end": stop_token_ids is not None,
        "sampler": {"name": params.strategy, "top_k": params.top_k, "top_p": params.top_p,
                    "temperature": params.temperature, "seed": params.seed},
        "settings": loaded.settings,
    }
    progress.log(f"Exporting {loaded.path} to {out} (sampler: {params.strategy})…")
    with atomic.replace_dir(out) as tmp:
        # The SavedModel goes into its own sub-folder so that tf.saved_model.save
        # writes into an empty directory; it is moved up afterwards.
        archive.write_out(str(tmp / "saved"), verbose=False)
        for item in (tmp / "saved").iterdir():
            shutil.move(str(item), tmp / item.name)
        (tmp / "saved").rmdir()
        shutil.copytree(loaded.path / modeldir.TOKENIZER_DIR, tmp / TOKENIZER_SUBDIR)
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=1, ensure_ascii=False, default=str),
                                         encoding="utf-8")
    progress.log(f"SavedModel written: {out} (signature {SIGNATURE!r}).")
    return out
