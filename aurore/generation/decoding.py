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

from aurore.corpus.sentence_ends import find_sentence_end
from aurore.errors import AuroreError


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


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text the tokenizer accepts: lone surrogates (not encodable in UTF-8) become U+FFFD."""
    if not isinstance(text, str):
        raise AuroreError(f"The text must be a string, not {type(text).__name__}.")
    return _SURROGATES.sub("\ufffd", text)
