"""Split French prose into sentences with NLTK's Punkt, entirely offline.

`nltk.sent_tokenize(language="french")` needs the `punkt_tab` data package,
which cannot be downloaded in a workshop room. Punkt is unsupervised, so
Aurore trains it on the training books themselves (`PunktTrainer`), adds the
French abbreviations a novel uses (M., Mme, Mlle, etc.), and builds the
tokenizer straight from the learned parameters: no NLTK data folder needed.
Training takes a while on the full corpus, so the parameters are cached as
JSON in `paths.nltk_dir()`, keyed by a hash of the training text.

Two French-specific touches:
- `…` and `...` end a sentence before a capital;
- a fragment starting with a lowercase letter continues the previous one (a
  French sentence never starts lowercase): «Viens ici !» dit-elle. stays one
  sentence, and so does « Il hésita… puis partit. »; so does a fragment after
  a title of address ("M.", "Mme", "Mgr"), which a name always follows.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path

from nltk.tokenize.punkt import PunktLanguageVars, PunktParameters, PunktSentenceTokenizer, PunktTrainer

from aurore.corpus.sentence_ends import FRENCH_ABBREVIATIONS
from aurore.store import atomic

CACHE_FORMAT = 1


class FrenchLanguageVars(PunktLanguageVars):
    """Punkt's settings for French: `…` ends sentences, `«` opens a quote.

    NLTK treats both guillemets as closing quotes, moved back onto the
    sentence before; in French `«` opens the next one, so only `»` (and the
    closing quotes) are moved back.
    """

    sent_end_chars = (".", "?", "!", "…")
    re_boundary_realignment = re.compile(r'["\')\]}\u2019\u201d\xbb]+?(?:\s+|(?=--)|$)', re.MULTILINE)


def train_parameters(text: str) -> PunktParameters:
    """Learn abbreviations, collocations and sentence starters from raw prose."""
    trainer = PunktTrainer(lang_vars=FrenchLanguageVars())
    trainer.train(text, finalize=True)
    params = trainer.get_params()
    # In a small corpus a word that always ends a sentence ("partit.") can
    # pass for an abbreviation; real ones are short or dotted ("j.-b").
    params.abbrev_types = {a for a in params.abbrev_types if len(a) <= 4 or "." in a} | FRENCH_ABBREVIATIONS
    return params


def parameters_to_json(params: PunktParameters) -> dict:
    return {
        "format": CACHE_FORMAT,
        "abbrev_types": sorted(params.abbrev_types),
        "collocations": sorted([list(pair) for pair in params.collocations]),
        "sent_starters": sorted(params.sent_starters),
        "ortho_context": dict(sorted(params.ortho_context.items())),
    }


def parameters_from_json(data: dict) -> PunktParameters:
    if data.get("format") != CACHE_FORMAT:
        raise ValueError("unknown Punkt parameter format")
    params = PunktParameters()
    params.abbrev_types = set(data["abbrev_types"])
    params.collocations = {tuple(pair) for pair in data["collocations"]}
    params.sent_starters = set(data["sent_starters"])
    params.ortho_context = defaultdict(int, data["ortho_context"])
    return params


class SentenceSplitter:
    """Callable: a paragraph in, its sentences out."""

    _LOWER_START = re.compile(r"^[^\w]*[a-zà-ÿœæ]")
    # A title of address always has a name after it: "M." never ends a sentence.
    _TITLE_END = re.compile(r"(?<![\w.])(?:M|MM|Mme|Mmes|Mlle|Mlles|Mgr|Me|Dr|St|Ste)\.$")
    # Punkt breaks after "..." only before words it saw start sentences; like "…",
    # "..." before a capital ends the sentence.
    _AFTER_DOTS = re.compile(r"(?<=\.\.\.)\s+(?=[«—\"-]*\s*[A-ZÀ-ÖØ-ÞŒ])")

    def __init__(self, params: PunktParameters):
        self.params = params
        self._punkt = PunktSentenceTokenizer(params, lang_vars=FrenchLanguageVars())

    def __call__(self, paragraph: str) -> list[str]:
        sentences: list[str] = []
        pieces = [part for piece in self._punkt.tokenize(paragraph) for part in self._AFTER_DOTS.split(piece)]
        for piece in pieces:
            if sentences and self._continues(sentences[-1], piece):
                sentences[-1] = f"{sentences[-1]} {piece}"
            else:
                sentences.append(piece)
        return sentences

    def spans(self, paragraph: str) -> list[tuple[int, int]]:
        """Where each sentence of `paragraph` starts and ends, by the same rules as calling it.

        For a prompt, whose exact characters (a trailing space…) matter to the tokens.
        """
        spans: list[tuple[int, int]] = []
        for start, end in self._punkt.span_tokenize(paragraph):
            cuts = [start] + [start + m.end() for m in self._AFTER_DOTS.finditer(paragraph[start:end])] + [end]
            for piece_start, piece_end in zip(cuts, cuts[1:]):
                piece_start += len(paragraph[piece_start:piece_end]) - len(paragraph[piece_start:piece_end].lstrip())
                piece_end = piece_start + len(paragraph[piece_start:piece_end].rstrip())
                if spans and self._continues(paragraph[spans[-1][0]:spans[-1][1]], paragraph[piece_start:piece_end]):
                    spans[-1] = (spans[-1][0], piece_end)
                else:
                    spans.append((piece_start, piece_end))
        return spans

    def _continues(self, sentence: str, piece: str) -> bool:
        """Whether `piece` goes on with `sentence` (lowercase start, or after a title of address)."""
        return bool(self._LOWER_START.match(piece) or self._TITLE_END.search(sentence))


def french_splitter(training_text: str, cache_dir: str | Path | None = None) -> SentenceSplitter:
    """A splitter trained on `training_text`; with `cache_dir`, trained once and reused."""
    if cache_dir is None:
        return SentenceSplitter(train_parameters(training_text))
    digest = hashlib.sha256(training_text.encode("utf-8")).hexdigest()[:16]
    path = Path(cache_dir) / f"punkt-french-{digest}.json"
    try:
        return SentenceSplitter(parameters_from_json(json.loads(path.read_text(encoding="utf-8"))))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or unreadable: train again and rewrite it
    params = train_parameters(training_text)
    atomic.write_text(path, json.dumps(parameters_to_json(params), ensure_ascii=False))
    return SentenceSplitter(params)
