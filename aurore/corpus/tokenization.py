"""Tokenizers: a generic GPT-2-style byte-level BPE, specialised on George Sand.

No hub is reachable in a workshop room, so the *generic* tokenizer is built
here: a byte-level BPE (GPT-2's scheme: any byte sequence can be encoded,
nothing is ever unknown) trained on a short, general English and French text
the project ships. Exercise 3 then specialises it on the training books with
`train_new_from_iterator`, which keeps the generic tokenizer's byte-level
pre-tokenizer, decoder and `<|endoftext|>` token and learns new merges.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Iterable, Iterator


from aurore import progress  # noqa: E402
from aurore.errors import AuroreError  # noqa: E402
from aurore.messages import gettext, number  # noqa: E402
from aurore.store import modeldir, saved_dataset  # noqa: E402

EOS = "<|endoftext|>"
DEFAULT_VOCAB_SIZE = 8000
GENERIC_VOCAB_SIZE = 1000
EXAMPLE_SENTENCE = "Bonjour Madame, je m'appelle George Sand. Et vous ?"

#: A general-purpose text (everyday English and French, no George Sand) on
#: which the generic tokenizer learns its merges.
GENERIC_TEXT = """\
The weather was fine this morning, so we walked to the station and took the
first train to the city. People were reading newspapers, drinking coffee and
talking about work, money, family and the news of the day. A computer program
is a list of instructions; the machine follows them one after the other. When
the program has an error, the developer reads the message, finds the line and
fixes it. Learning a language takes time: you read, you listen, you write and
you speak every day. The government announced a new plan for schools, roads
and hospitals. Children played in the park while their parents were watching.
What time is it? It is half past three. Where are you going? I am going home.
Thank you very much, and have a nice day. The company sold more phones this
year than last year, and the market is still growing in many countries.
Il fait beau ce matin, alors nous sommes allés à la gare et nous avons pris le
premier train pour la ville. Les gens lisaient le journal, buvaient un café et
parlaient du travail, de l'argent, de la famille et des nouvelles du jour. Un
programme informatique est une liste d'instructions que la machine exécute
l'une après l'autre. Quand il y a une erreur, on lit le message, on trouve la
ligne et on la corrige. Apprendre une langue demande du temps : on lit, on
écoute, on écrit et on parle chaque jour. Le gouvernement a présenté un nouveau
plan pour les écoles, les routes et les hôpitaux. Les enfants jouaient dans le
parc pendant que leurs parents les regardaient. Quelle heure est-il ? Il est
trois heures et demie. Où allez-vous ? Je rentre à la maison. Merci beaucoup,
et bonne journée ! L'entreprise a vendu plus de téléphones cette année que
l'année dernière, et le marché continue de grandir dans de nombreux pays.
"""


def byte_level_bpe(texts: Iterable[str], vocab_size: int):
    """Train a GPT-2-style byte-level BPE from scratch, as a transformers tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import GPT2Tokenizer

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(texts, trainer)
    # Built from the backend object: GPT2Tokenizer(vocab_file=…) would be empty in transformers 5.
    tokenizer = GPT2Tokenizer(tokenizer_object=backend, bos_token=EOS, eos_token=EOS, unk_token=EOS)
    check(tokenizer)
    return tokenizer


def from_keras_hub(keras_hub_tokenizer):
    """A transformers tokenizer equal to a KerasHub GPT2Tokenizer (e.g. from an hf:// preset).

    Built with `vocab=`/`merges=`: the `vocab_file=`/`merges_file=` form gives an
    empty tokenizer in transformers 5.
    """
    from transformers import GPT2Tokenizer

    vocabulary = dict(keras_hub_tokenizer.vocabulary)
    if EOS not in vocabulary:
        raise AuroreError(f"This tokenizer has no {EOS} token: Aurore needs it to separate sentences.")
    merges = [tuple(merge.split(" ")) for merge in keras_hub_tokenizer.merges]
    tokenizer = GPT2Tokenizer(vocab=vocabulary, merges=merges, bos_token=EOS, eos_token=EOS, unk_token=EOS)
    check(tokenizer)
    return tokenizer


def generic_tokenizer():
    """The generic tokenizer: byte-level BPE on GENERIC_TEXT (no George Sand in it)."""
    return byte_level_bpe(GENERIC_TEXT.splitlines(), GENERIC_VOCAB_SIZE)


def check(tokenizer) -> None:
    """Refuse a tokenizer that encodes text to nothing or lacks `<|endoftext|>`."""
    if not tokenizer(EXAMPLE_SENTENCE)["input_ids"]:
        raise AuroreError("The tokenizer is empty: it encodes text to no token at all.")
    if tokenizer.eos_token != EOS or tokenizer.convert_tokens_to_ids(EOS) is None:
        raise AuroreError(f"The tokenizer has no {EOS} token: training needs it to separate sentences.")


def in_batches(texts: Iterable[str], size: int = 1000) -> Iterator[list[str]]:
    """Texts in lists of `size`: `train_new_from_iterator` is fastest on batches."""
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def build(module: ModuleType, dataset_dir, out_dir, vocab_size: int = DEFAULT_VOCAB_SIZE) -> dict:
    """The tokenizer step: generic → shown → specialised → saved → reloaded → measured.

    `module` is exercise 3 (solution or the learner's code); returns the report.
    """
    if vocab_size < 300:
        raise AuroreError(f"A vocabulary of {vocab_size} is too small: the 256 bytes and {EOS} alone "
                          "take 257 entries. Use at least 300 (8000 is a good size).")
    splits = saved_dataset.load(dataset_dir)
    generic = generic_tokenizer()
    report: dict = {"sentence": EXAMPLE_SENTENCE, "vocab_size": vocab_size}
    report["generic_tokens"] = module.show_tokens(generic, EXAMPLE_SENTENCE)
    progress.log(gettext("Generic tokenizer (%(size)s tokens): %(count)s tokens → %(tokens)s",
                         size=number(len(generic), 0), count=len(report["generic_tokens"]),
                         tokens=" | ".join(report["generic_tokens"])))
    progress.log(gettext("Specialising it on %(sentences)s training sentences (vocabulary %(size)s)…",
                         sentences=number(len(splits["train"]), 0), size=number(vocab_size, 0)))
    specialised = module.specialise(generic, splits["train"]["text"], vocab_size)
    modeldir.save_tokenizer(specialised, out_dir)
    reloaded = modeldir.load_tokenizer(out_dir)
    check(reloaded)
    report["specialised_tokens"] = module.show_tokens(reloaded, EXAMPLE_SENTENCE)
    progress.log(gettext("Specialised tokenizer (%(size)s tokens): %(count)s tokens → %(tokens)s",
                         size=number(len(reloaded), 0), count=len(report["specialised_tokens"]),
                         tokens=" | ".join(report["specialised_tokens"])))
    test_texts = splits["test"]["text"]
    report["generic"] = module.measure(generic, test_texts)
    report["specialised"] = module.measure(reloaded, test_texts)
    report["saved_to"] = str(out_dir)
    report["size"] = len(reloaded)
    return report
