"""Token ids to text, safely, as they come: incremental decoding and stop rules.

Byte-level BPE tokens may end in the middle of a character's UTF-8 bytes
(an "é" or an emoji split over two tokens): such bytes decode as U+FFFD and
are held back until the character is complete; bytes that never make a
character are dropped. Stop strings cut the text
just before them (OpenAI-style), so text that could be the beginning of one
is held back too. A sentence end is only known once the next word has begun.
"""

from __future__ import annotations

import re

from aurore.errors import AuroreError


_CLOSERS = "»”\"’')]"
_SENTENCE_END = re.compile(r"[.!?…]+(?:[ \u00a0\u202f]?[" + re.escape(_CLOSERS) + r"])*(?P<space>\s+)(?P<next>\S)")
_ABBREVIATIONS = {"M", "MM", "Mme", "Mlle", "Mgr", "Dr", "St", "Ste", "etc", "cf", "p", "ch", "vol"}
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
            if word and (word.group(1) in _ABBREVIATIONS or (len(word.group(1)) == 1 and word.group(1).isupper())):
                continue
        return end
    return None


class TextAssembler:
    """Turns token ids, one at a time, into safe text pieces for one row.

    `add(id)` returns (piece, finish_reason or None); `finish()` returns the
    last piece (held-back bytes flushed). Only complete characters are
    emitted; a stop string or a sentence end cuts the text.

    `separator_id`: Aurore trains on `<|endoftext|> sentence <|endoftext|>
    sentence …`, so for its models that token ends a *sentence*, not the
    text: it becomes `separator` (a space) in the text, and it is a sentence
    end for `sentence_end`.
    """

    def __init__(self, tokenizer, stop: tuple[str, ...] = (), sentence_end: bool = False,
                 separator_id: int | None = None, separator: str = " "):
        self.tokenizer = tokenizer
        self.stop = tuple(stop)
        self.sentence_end = sentence_end
        self.separator_id = separator_id
        self.separator = separator
        self.done = ""        # text of the finished sentences (separated mode)
        self.ids: list[int] = []  # tokens of the current sentence
        self.emitted = ""
        self.stopped: str | None = None

    def _text(self) -> str:
        # Bytes that are not (yet) a whole UTF-8 character decode as U+FFFD: an
        # incomplete one at the end is held back until the next token completes
        # it; one the model never completes is dropped, never shown as "�".
        current = self.tokenizer.decode(self.ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        return self.done + current.replace("\ufffd", "")

    def add(self, token_id: int) -> tuple[str, str | None]:
        cut, reason = None, None
        if self.separator_id is not None and int(token_id) == self.separator_id:
            text = self._text()
            if self.sentence_end and text.strip():
                cut, reason = len(text), "sentence_end"
            if self.ids or not self.done.endswith(self.separator):  # no empty sentences
                self.done, self.ids = text + self.separator, []
        else:
            self.ids.append(int(token_id))
        text = self._text()
        if not text.startswith(self.emitted):  # a decoder that rewrites the past: keep what was sent
            return "", None
        for stop in self.stop:
            index = text.find(stop, max(0, len(self.emitted) - len(stop) + 1))
            if index >= 0 and (cut is None or index < cut):
                cut, reason = index, "stop"
        if self.sentence_end:
            end = find_sentence_end(text, max(0, len(self.emitted) - 8))
            if end is not None and (cut is None or end < cut):
                cut, reason = end, "sentence_end"
        if cut is not None:
            piece = text[len(self.emitted):max(cut, len(self.emitted))]
            self.emitted += piece
            self.stopped = reason
            return piece, reason
        safe = len(text) - self._held_back(text)
        if self.sentence_end:  # a space after "." may end the sentence: wait for the next word
            safe = min(safe, len(text.rstrip()))
        piece = text[len(self.emitted):max(safe, len(self.emitted))]
        self.emitted += piece
        return piece, None

    def _held_back(self, text: str) -> int:
        """Length of the longest end of `text` that could begin a stop string."""
        held = 0
        for stop in self.stop:
            for size in range(min(len(stop) - 1, len(text)), held, -1):
                if text.endswith(stop[:size]):
                    held = size
                    break
        return held

    def finish(self) -> str:
        """The rest of the text; bytes of a character the model never completed are dropped."""
        if self.stopped:
            return ""
        text = self._text()
        if not text.startswith(self.emitted):
            return ""
        piece = text[len(self.emitted):]
        self.emitted += piece
        return piece


def split_sentences(text: str) -> list[str]:
    """The sentences of a prompt (see `find_sentence_end`); the last one may be unfinished or empty.

    "Il partit. Elle" -> ["Il partit.", "Elle"]; "Il partit. " -> ["Il partit.", ""];
    "Il partit." -> ["Il partit."] (maybe more is coming: "Il partit.." is possible).
    """
    sentences = []
    while (end := find_sentence_end(text)) is not None:
        sentences.append(text[:end])
        text = text[end:].lstrip()
    if re.search(r"[.!?…][" + re.escape(_CLOSERS) + r" \u00a0\u202f]*\s$", text):
        sentences.append(text.rstrip())
        text = ""
    return sentences + [text]


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text the tokenizer accepts: lone surrogates (not encodable in UTF-8) become U+FFFD."""
    if not isinstance(text, str):
        raise AuroreError(f"The text must be a string, not {type(text).__name__}.")
    return _SURROGATES.sub("\ufffd", text)
