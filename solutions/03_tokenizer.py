"""Exercise 3: specialise a tokenizer on George Sand's books.

A language model reads numbers, not letters: a *tokenizer* cuts the text into
pieces (tokens) and gives each one a number. GPT-2 uses byte-level BPE: it
starts from the 256 bytes and learns *merges* of the most frequent pairs. A
generic tokenizer learned its merges on everyday text; George Sand's French
("mademoiselle", "cœur", "Consuelo"…) deserves merges of its own.

Run it: `python -m aurore tokenizer` (or `--use exercise` for your code).
"""

from __future__ import annotations

from aurore.corpus.tokenization import in_batches


def show_tokens(tokenizer, sentence: str) -> list[str]:
    """The sentence cut token by token, each token as readable text.

    Example: "Bonjour Madame" → ["Bon", "jour", " Mad", "ame"].
    """
    # BEGIN SOLUTION
    # TODO: encode the sentence into ids, then decode each id on its own.
    ids = tokenizer(sentence)["input_ids"]
    return [tokenizer.decode([token_id]) for token_id in ids]
    # END SOLUTION


def specialise(generic, texts, vocab_size: int):
    """A new tokenizer with the generic one's rules, its merges learned on `texts`."""
    # BEGIN SOLUTION
    # TODO: call generic.train_new_from_iterator with the texts in batches
    # (aurore.corpus.tokenization.in_batches) and the vocabulary size.
    return generic.train_new_from_iterator(in_batches(texts), vocab_size=vocab_size, show_progress=False)
    # END SOLUTION


def measure(tokenizer, texts) -> dict:
    """How finely the tokenizer cuts: tokens per word and characters per token.

    Words are the pieces between spaces (`text.split()`); characters count
    every character of the texts, spaces included.
    """
    # BEGIN SOLUTION
    # TODO: count the tokens, the words and the characters of all the texts.
    tokens = words = characters = 0
    for ids, text in zip(tokenizer(list(texts))["input_ids"], texts):
        tokens += len(ids)
        words += len(text.split())
        characters += len(text)
    # END SOLUTION
    return {
        "tokens": tokens,
        "words": words,
        "characters": characters,
        "tokens_per_word": round(tokens / max(words, 1), 4),
        "characters_per_token": round(characters / max(tokens, 1), 4),
    }
