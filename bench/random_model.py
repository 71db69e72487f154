"""A GPT-2 of the `cpu` shape with random weights, for the generation benchmarks.

The layers, heads and widths of the `cpu` preset (aurore.training.presets), with a
context of 256 so that a benchmark may ask for 200 new tokens: generation
speed does not depend on the weights, so nothing is trained. The tokenizer is a real
byte-level BPE of 8000 tokens (the vocabulary sets the cost of the output
layer), learnt on the first Gutenberg books of /work/shared/corpus/gutenberg
(or the file or folder $AURORE_BENCH_TEXT) when they are there, else on
synthetic French-like words. The benchmarks import nothing from tests/.
"""

from __future__ import annotations

import os
from pathlib import Path

CORPUS = Path("/work/shared/corpus/gutenberg")
VOCABULARY_SIZE = 8000


def tokenizer_texts(books: int = 3) -> list[str]:
    """The first `books` real books, else varied synthetic text (enough to learn 8000 tokens)."""
    where = Path(os.environ.get("AURORE_BENCH_TEXT") or CORPUS)
    files = sorted(where.glob("*.txt"))[:books] if where.is_dir() else [where] if where.is_file() else []
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in files]
    if texts:
        return texts
    words = [f"{a}{b}{c}" for a in "bcdfglmnprstv" for b in "aeiouéè" for c in ("", "r", "s", "n", "nt", "l")]
    return [" ".join(words[(i * 7 + j) % len(words)] for j in range(200)) + "." for i in range(4000)]


def random_cpu_model(target: Path) -> Path:
    """The model folder `target`, built once (a model already there is used as it is)."""
    import aurore  # noqa: F401  (sets the Keras backend before keras is imported)
    from aurore.store import modeldir

    target = Path(target)
    if modeldir.is_model_dir(target):
        return target
    print("Building a random model of the cpu shape…", flush=True)
    import keras_hub

    from aurore.corpus.tokenization import byte_level_bpe

    tokenizer = byte_level_bpe(tokenizer_texts(), VOCABULARY_SIZE)
    from aurore.training.presets import PRESETS

    shape = {key: PRESETS["cpu"][key] for key in ("num_layers", "num_heads", "hidden_dim", "intermediate_dim")}
    backbone = keras_hub.models.GPT2Backbone(vocabulary_size=len(tokenizer), dropout=0.0,
                                             max_sequence_length=256, **shape)
    return modeldir.save(target, backbone, tokenizer, {"preset": "cpu", "random_weights": True})
