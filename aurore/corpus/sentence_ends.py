"""Where a sentence ends in running text: a prompt, or a text being written.

The corpus is cut into sentences by Punkt (`aurore.corpus.sentences`, which
needs the training books). A prompt is cut by that same Punkt model when the
model folder carries its parameters (`split_prompt(text, splitter)`); a text
that grows token by token, and a prompt for an older model, are cut here by
rule, with the same French abbreviations and without importing NLTK.
"""

from __future__ import annotations

import re

#: Lowercase, without the final period, as Punkt stores abbreviations (M., Mme, Mlle, etc.).
FRENCH_ABBREVIATIONS = frozenset({
    "m", "mm", "mme", "mmes", "mlle", "mlles", "mgr", "me", "dr", "st", "ste", "etc", "cf", "p", "pp",
    "vol", "t", "ch", "chap", "éd", "env", "av", "apr", "ms", "no", "n°", "liv", "sq", "id", "ibid",
})

_CLOSERS = "»”\"’')]"
_SENTENCE_END = re.compile(r"[.!?…]+(?:[ \u00a0\u202f]?[" + re.escape(_CLOSERS) + r"])*(?P<space>\s+)(?P<next>\S)")
_OPENERS = "«\"“—–-("


def find_sentence_end(text: str, start: int = 0) -> int | None:
    """Where the first complete sentence of `text` ends (after its closing quotes), or None.

    A sentence ends with . ! ? or …, maybe closing quotes, then a new line or
    a space before a capital letter or an opening quote/dash (so that
    « Venez ! » dit-elle is one sentence). "M. Dupont" is not an end. Only
    known once the next word has begun, hence the look-ahead.
    """
    for match in _SENTENCE_END.finditer(text, start):
        end = match.start("space")
        following = match.group("next")
        newline = "\n" in match.group("space")
        if not (newline or following.isupper() or following in _OPENERS):
            continue
        if text[match.start()] == "." and not newline:
            word = re.search(r"(\w+)$", text[:match.start()])
            abbreviation = word and (word.group(1).lower() in FRENCH_ABBREVIATIONS
                                     or (len(word.group(1)) == 1 and word.group(1).isupper()))
            if abbreviation:
                continue
        return end
    return None


_FINISHED = re.compile(r"[.!?…][" + re.escape(_CLOSERS) + r" \u00a0\u202f]*\s$")


def split_prompt(text: str, splitter=None) -> list[str]:
    """The sentences of a prompt; the last one may be unfinished or empty.

    "Il partit. Elle" -> ["Il partit.", "Elle"]; "Il partit. " -> ["Il partit.", ""];
    "Il partit." -> ["Il partit."] (maybe more is coming: "Il partit.." is possible).
    `splitter`: the corpus's own sentence splitter (`aurore.corpus.sentences.SentenceSplitter`),
    which cuts each line as the training paragraphs were cut; without it, `find_sentence_end`.
    """
    if splitter is not None:
        return _split_with(splitter, text)
    sentences = []
    while (end := find_sentence_end(text)) is not None:
        sentences.append(text[:end])
        text = text[end:].lstrip()
    if _FINISHED.search(text):
        sentences.append(text.rstrip())
        text = ""
    return sentences + [text]


def _split_with(splitter, text: str) -> list[str]:
    """Each line is a paragraph, cut by `splitter.spans`; the last sentence keeps its trailing characters."""
    spans = [(line.start() + start, line.start() + end)
             for line in re.finditer(r"[^\n]+", text) for start, end in splitter.spans(line.group())]
    if not spans:
        return [text]
    sentences = [text[start:end] for start, end in spans[:-1]]
    last_start, last_end = spans[-1]
    if _FINISHED.search(text) or text[last_end:].startswith("\n"):
        return sentences + [text[last_start:last_end], ""]
    return sentences + [text[last_start:]]
