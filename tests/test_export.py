"""SavedModel export: the CLI writes it, TensorFlow loads it, its signature generates.

The round trip is checked against a plain Python greedy decoding with the
Keras backbone: the graph must produce exactly the same tokens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import aurore  # noqa: F401
from aurore.errors import AuroreError
from aurore.generation import export
from aurore.store import modeldir
from tests.tiny_model import tiny_model_dir  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ["La nuit était", "Elle ouvrit la fenêtre et regarda"]
NEW_TOKENS = 12


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aurore", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def greedy_export(tiny_model_dir, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("export") / "served"
    result = _cli("export", "--model", str(tiny_model_dir), "--format", "saved-model", "--out", str(out),
                  "--strategy", "greedy")
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def loaded_model(tiny_model_dir):  # noqa: F811
    return modeldir.load(tiny_model_dir)


def _batch(tokenizer, prompts):
    rows = [tokenizer(p)["input_ids"] for p in prompts]
    width = max(map(len, rows))
    ids = np.full((len(rows), width), 7, dtype="int32")  # padding value must not matter
    for i, row in enumerate(rows):
        ids[i, :len(row)] = row
    return rows, ids, np.array([len(r) for r in rows], dtype="int32")


def _reference_greedy(backbone, prompt: list[int], new_tokens: int, end_id: int) -> list[int]:
    ids = list(prompt)
    for _ in range(new_tokens):
        hidden = backbone({"token_ids": np.array([ids], "int32"), "padding_mask": np.ones((1, len(ids)), "int32")})
        logits = np.asarray(backbone.token_embedding(hidden, reverse=True))[0, -1]
        ids.append(int(np.argmax(logits)))
        if ids[-1] == end_id:
            break
    return ids


def test_saved_model_round_trip_matches_python_greedy_decoding(greedy_export, loaded_model):
    import tensorflow as tf

    served = tf.saved_model.load(str(greedy_export))
    generate = served.signatures["serving_default"]
    rows, ids, lengths = _batch(loaded_model.tokenizer, PROMPTS)
    out = generate(token_ids=tf.constant(ids), prompt_lengths=tf.constant(lengths),
                   max_new_tokens=tf.constant(NEW_TOKENS))
    token_ids, out_lengths = out["token_ids"].numpy(), out["lengths"].numpy()
    assert token_ids.shape == (2, max(lengths) + NEW_TOKENS)
    for i, prompt in enumerate(rows):
        got = token_ids[i, :out_lengths[i]].tolist()
        assert got[:len(prompt)] == prompt, "the prompt must come back unchanged"
        expected = _reference_greedy(loaded_model.backbone, prompt, NEW_TOKENS + max(lengths) - len(prompt),
                                     loaded_model.tokenizer.eos_token_id)
        assert got == expected
    text = loaded_model.tokenizer.decode(token_ids[0, :out_lengths[0]])
    assert text.startswith(PROMPTS[0])


def test_export_folder_is_self_contained(greedy_export, loaded_model):
    metadata = json.loads((greedy_export / export.METADATA_FILE).read_text(encoding="utf-8"))
    assert metadata["max_length"] == loaded_model.max_length
    assert metadata["end_token_id"] == loaded_model.tokenizer.eos_token_id
    assert metadata["sampler"]["name"] == "greedy"
    assert (greedy_export / "saved_model.pb").is_file() and (greedy_export / "variables").is_dir()
    tokenizer = modeldir.load_tokenizer(greedy_export / export.TOKENIZER_SUBDIR)
    assert tokenizer("Madame")["input_ids"] == loaded_model.tokenizer("Madame")["input_ids"]


def test_bad_prompt_lengths_are_refused_by_the_graph(greedy_export):
    import tensorflow as tf

    generate = tf.saved_model.load(str(greedy_export)).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="prompt length"):
        generate(token_ids=tf.constant([[1, 2, 3]]), prompt_lengths=tf.constant([5]),
                 max_new_tokens=tf.constant(2))


def test_sampled_export_writes_valid_tokens_and_stops_at_the_context(tiny_model_dir, loaded_model, tmp_path):  # noqa: F811
    import tensorflow as tf

    out = export.export_saved_model(tiny_model_dir, tmp_path / "sampled", strategy="top_p", top_k=5, top_p=0.9,
                                    temperature=1.0, seed=3, stop_at_end=False)
    generate = tf.saved_model.load(str(out)).signatures["serving_default"]
    rows, ids, lengths = _batch(loaded_model.tokenizer, PROMPTS)
    result = generate(token_ids=tf.constant(ids), prompt_lengths=tf.constant(lengths),
                      max_new_tokens=tf.constant(10_000))
    token_ids = result["token_ids"].numpy()
    assert token_ids.shape[1] == loaded_model.max_length  # capped by the context
    assert result["lengths"].numpy().tolist() == [loaded_model.max_length] * 2  # no stop at end-of-text
    assert token_ids.min() >= 0 and token_ids.max() < loaded_model.backbone.vocabulary_size
    for i, prompt in enumerate(rows):
        assert token_ids[i, :len(prompt)].tolist() == prompt


def test_failed_export_leaves_the_previous_one(tmp_path):
    out = tmp_path / "served"
    out.mkdir()
    (out / "keep.txt").write_text("previous export")
    with pytest.raises(AuroreError, match="No model directory"):
        export.export_saved_model(tmp_path / "missing", out)
    assert (out / "keep.txt").read_text() == "previous export"


def test_cli_errors_are_messages_not_tracebacks(tmp_path, tiny_model_dir):  # noqa: F811
    missing = _cli("export", "--model", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"))
    assert missing.returncode == 2 and "No model directory" in missing.stderr
    assert "Traceback" not in missing.stderr
    (tmp_path / "file").write_text("x")
    with pytest.raises(AuroreError, match="not a folder"):
        export.export_saved_model(tiny_model_dir, tmp_path / "file")
    with pytest.raises(AuroreError, match="--top-p"):
        export.export_saved_model(tiny_model_dir, tmp_path / "o", strategy="top_p", top_p=1.5)
