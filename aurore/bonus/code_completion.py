"""Python code completion (exercise 9): a code tokenizer, and the model measured two ways.

The steps around exercise 9's teaching functions:

- `build_tokenizer`: the generic byte-level BPE specialised on the training
  files with exercise 3's `specialise` (`train_new_from_iterator`), saved,
  reloaded and measured on the test files;
- `evaluate`: bits per character on the test files (exercise 7's figures,
  as for the books), and the **validity** of the model's code: the headers
  of the test files' functions (`function_headers`) are completed by the
  model, each completion is cut at the function's end
  (`cut_at_function_end`), and the share of header + body that `ast.parse`
  accepts (`is_valid`) is reported, with the share of functions that ended
  within the token budget.

A code model is trained on whole files separated by `<|endoftext|>`: that
token ends a file (the text), it does not separate sentences, so the model's
settings say `eos_separates_sentences: false` and completions stop there.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import ModuleType

from aurore import progress
from aurore.messages import N_, gettext, number
from aurore.bonus import code_corpus, code_syntax
from aurore.corpus import tokenization
from aurore.errors import AuroreError
from aurore.evaluation import scoring
from aurore.store import atomic, modeldir

EXAMPLE_CODE = "def read_lines(path):\n    with open(path, encoding=\"utf-8\") as handle:\n        return handle.read().splitlines()\n"
DEFAULT_HEADERS = 100
DEFAULT_NEW_TOKENS = 128
#: Completions are sampled (top-p 0.95, temperature 0.8), seeded per header: the same model gives the same figure.
SAMPLING = {"strategy": "top_p", "temperature": 0.8, "top_p": 0.95}
EXAMPLES_KEPT = 3
#: Parse-guided decoding's most draws per completion (the CLI's and the API's default).
DEFAULT_K = 4
#: What the model writes at each evaluation during training (the run page's samples).
SAMPLE_PROMPT = "def is_prime(n):\n"
REPORT_FILE = "code-evaluation.json"
#: How the tokenizer lines name each tokenizer (msgids: said in the run's language).
TOKENIZER_NAMES = {"generic": N_("Generic tokenizer"), "specialised": N_("Specialised tokenizer")}


def build_tokenizer(dataset_dir, out_dir, rules: ModuleType, vocab_size: int = tokenization.DEFAULT_VOCAB_SIZE) -> dict:
    """Exercise 3's specialisation (`rules`: its module), on the code corpus."""
    """The generic tokenizer specialised on the training files (exercise 3's solution); returns a report."""
    if vocab_size < 300:
        raise AuroreError(f"A vocabulary of {vocab_size} is too small: the 256 bytes and {tokenization.EOS} "
                          "alone take 257 entries. Use at least 300 (8000 is a good size).")
    splits = code_corpus.load(dataset_dir)
    generic = tokenization.generic_tokenizer()
    progress.log(gettext("Specialising the generic tokenizer on %(files)s training files (vocabulary %(size)s)…",
                         files=number(len(splits["train"]), 0), size=number(vocab_size, 0)))
    specialised = rules.specialise(generic, splits["train"]["text"], vocab_size)
    modeldir.save_tokenizer(specialised, out_dir)
    reloaded = modeldir.load_tokenizer(out_dir)
    tokenization.check(reloaded)
    test_texts = splits["test"]["text"]
    report = {"example": EXAMPLE_CODE, "vocab_size": vocab_size, "size": len(reloaded), "saved_to": str(out_dir)}
    for name, tokenizer in (("generic", generic), ("specialised", reloaded)):
        report[f"{name}_tokens"] = rules.show_tokens(tokenizer, EXAMPLE_CODE)
        report[name] = rules.measure(tokenizer, test_texts)
        progress.log(gettext("%(tokenizer)s: %(count)s tokens for the example, %(ratio)s characters per token on the "
                             "test files", tokenizer=gettext(TOKENIZER_NAMES[name]),
                             count=number(len(report[f"{name}_tokens"]), 0),
                             ratio=number(report[name]["characters_per_token"], 3)))
    return report


def held_out_headers(module: ModuleType, texts, count: int = DEFAULT_HEADERS, seed: int = 0) -> list[str]:
    """Up to `count` distinct function headers of the test files, drawn with a fixed seed."""
    found, seen = [], set()
    for text in texts:
        for header in module.function_headers(text):
            if not isinstance(header, str) or not header.endswith("\n"):
                raise AuroreError(f"Exercise 9: `function_headers` gave {header!r:.60}, not a header ending "
                                  "with a newline. Check your code with `python -m aurore check 9`.")
            if header not in seen:
                seen.add(header)
                found.append(header)
    if len(found) > count:
        found = random.Random(seed).sample(found, count)
    return found


def complete(generator, headers: list[str], max_new_tokens: int = DEFAULT_NEW_TOKENS,
             batch_size: int = 16, sampling: dict | None = None, seed: int = 0) -> list[tuple[str, str]]:
    """The model's completion of each header (the text after its newline), and why it stopped.

    The prompt is the header without its final newline: the code tokenizer
    merges a newline with the next line's indentation ("\n   " then " return"),
    so a prompt ending in a bare "\n" asks the model to go on from a token
    that, in its training, starts an unindented line, and the body came out
    empty. The model writes the newline and the indentation itself.
    """
    from aurore.generation.generator import SamplingParams

    found = []
    with progress.task("Completing functions", total=len(headers), unit="function") as task:
        for start in range(0, len(headers), batch_size):
            chunk = headers[start:start + batch_size]
            params = [SamplingParams(max_new_tokens=max_new_tokens, seed=seed + start + i, **(sampling or SAMPLING))
                      for i in range(len(chunk))]
            batch = generator.stream_batch([header.removesuffix("\n") for header in chunk], params)
            for _ in batch:
                pass
            found.extend((after_header_line(result.text), result.finish_reason) for result in batch.results)
            task.update(len(chunk))
    return found


def after_header_line(text: str) -> str:
    """What the model wrote after the header's line (it was prompted without the header's newline)."""
    _, newline, rest = text.partition("\n")
    return rest if newline else ""


def validity(module: ModuleType, headers: list[str], completions: list[tuple[str, str]]) -> dict:
    """The share of header + body (cut at the function's end) that parses, with a few examples.

    A completion that ended with the end of the file (`end_of_text`) ended
    its function too.
    """
    valid = finished = 0
    examples, rows = [], []
    for header, (completion, reason) in zip(headers, completions):
        body, ended = module.cut_at_function_end(header, completion)
        if not ended and reason == "end_of_text":
            body, ended = completion if completion.endswith("\n") else completion + "\n", True
        ok = bool(module.is_valid(header, body))
        valid += ok
        finished += bool(ended)
        if len(examples) < EXAMPLES_KEPT:
            examples.append({"header": header, "body": body, "valid": ok, "finished": bool(ended)})
        rows.append((header, body, bool(ended)))
    total = len(headers)
    if not total:
        raise AuroreError("No function header to complete in the test files: prepare a larger corpus.")
    return {"functions": total, "valid": valid, "validity": valid / total, "finished": finished / total,
            "examples": examples, **body_figures(rows), "failures": code_syntax.failure_table(rows)}


def body_figures(rows: list[tuple[str, str, bool]]) -> dict:
    """Characters per body, the share of trivial bodies (`pass`, one line…) and the share that parse *and* are
    not trivial (what an editor would keep: a method does not win by `pass`), over (header, body, ended) rows."""
    bodies = [body for _, body, _ in rows]
    useful = sum(code_syntax.parses(header, body) and not code_syntax.is_trivial(body) for header, body, _ in rows)
    return {"characters_per_body": sum(map(len, bodies)) / max(len(bodies), 1),
            "trivial": sum(map(code_syntax.is_trivial, bodies)) / max(len(bodies), 1),
            "useful": useful / max(len(rows), 1)}


def guided(generator, headers: list[str], k: int, max_new_tokens: int = DEFAULT_NEW_TOKENS, batch_size: int = 16,
           sampling: dict | None = None) -> dict:
    """Parse-guided decoding of every header (best-of-k, `code_syntax.choose`'s rule), in batched rounds.

    Round r draws, for each header still without a parsing non-trivial
    body, one more sample (seeded r·len(headers) + i); a header stops at its
    first such body. Reports the validity, the tries used, the characters per
    body, the share of trivial bodies and the seconds per function.
    """
    import time

    started = time.perf_counter()
    chosen: dict[int, dict] = {}
    tries = [0] * len(headers)
    for round_ in range(k):
        waiting = [i for i in range(len(headers)) if i not in chosen or code_syntax.rank(chosen[i]) < 2]
        if not waiting:
            break
        drawn = complete(generator, [headers[i] for i in waiting], max_new_tokens, batch_size, sampling,
                         seed=round_ * len(headers))
        for i, (text, _) in zip(waiting, drawn):
            tries[i] += 1
            body, ended = code_syntax.function_end(headers[i], text)
            found = {"body": body, "ended": ended, "parses": code_syntax.parses(headers[i], body),
                     "trivial": code_syntax.is_trivial(body)}
            if i not in chosen or code_syntax.rank(found) > code_syntax.rank(chosen[i]):
                chosen[i] = found
    seconds = time.perf_counter() - started
    rows = [(headers[i], chosen[i]["body"], chosen[i]["ended"]) for i in range(len(headers))]
    valid = sum(chosen[i]["parses"] for i in range(len(headers)))
    return {"functions": len(headers), "k": k, "valid": valid, "validity": valid / max(len(headers), 1),
            "tries_per_function": sum(tries) / max(len(headers), 1), "seconds_per_function":
            seconds / max(len(headers), 1), **body_figures(rows)}


def evaluate(model_dir, dataset_dir, module: ModuleType, headers: int = DEFAULT_HEADERS,
             max_new_tokens: int = DEFAULT_NEW_TOKENS, batch_size: int = 16, max_test_files: int | None = None,
             seed: int = 0, *, figures: ModuleType, sampler) -> dict:
    """Bits per character on the test files and the validity of completed test functions.

    `module`: exercise 9's code; `figures`: exercise 7's (bits per character);
    `sampler`: exercise 6's (`Generator` rules), as the caller loaded them.
    """
    from aurore.generation.generator import Generator

    if headers < 1 or max_new_tokens < 1:
        raise AuroreError("The number of functions and of new tokens must be at least 1.")
    data = code_corpus.load(dataset_dir)
    if not modeldir.is_model_dir(model_dir):
        raise AuroreError(f"No code model in {model_dir}: train one with `python -m aurore code train`.")
    loaded = modeldir.load(model_dir)
    texts = list(data["test"]["text"])[:max_test_files]
    report = {"model": str(Path(model_dir)), "step": loaded.settings.get("step"), "test_files": len(texts),
              "test": scoring.evaluate_texts(loaded, texts, figures, batch_size)}
    progress.log(gettext("test files: %(bits)s bits per character", bits=number(report["test"]["bits_per_character"], 3)))
    prompts = held_out_headers(module, texts, headers, seed)
    generator = Generator(loaded, sampler, xla=False, sentences_separated=False)
    report["validity"] = validity(module, prompts, complete(generator, prompts, max_new_tokens, batch_size))
    validity_report = report["validity"]
    progress.log(gettext("validity: %(valid)s of %(functions)s completed functions parse (%(percent)s %%); "
                         "%(finished)s %% ended within %(tokens)s tokens",
                         valid=number(validity_report["valid"], 0), functions=number(validity_report["functions"], 0),
                         percent=number(100 * validity_report["validity"], 1),
                         finished=number(100 * validity_report["finished"], 1), tokens=number(max_new_tokens, 0)))
    return report


def evaluate_guided(model_dir, dataset_dir, module: ModuleType, k: int, headers: int = DEFAULT_HEADERS,
                    max_new_tokens: int = DEFAULT_NEW_TOKENS, batch_size: int = 16, seed: int = 0, *,
                    sampler) -> dict:
    """Parse-guided validity (best of `k`) of the same held-out headers as `evaluate`."""
    from aurore.generation.generator import Generator

    loaded = modeldir.load(model_dir)
    prompts = held_out_headers(module, list(code_corpus.load(dataset_dir)["test"]["text"]), headers, seed)
    generator = Generator(loaded, sampler, xla=False, sentences_separated=False)
    report = guided(generator, prompts, k, max_new_tokens, batch_size)
    progress.log(gettext("parse-guided (best of %(k)s): %(valid)s of %(functions)s parse (%(percent)s %%), %(draws)s "
                         "draws and %(seconds)s s per function, %(trivial)s %% trivial",
                         k=k, valid=number(report["valid"], 0), functions=number(report["functions"], 0),
                         percent=number(100 * report["validity"], 1), draws=number(report["tries_per_function"], 2),
                         seconds=number(report["seconds_per_function"], 2), trivial=number(100 * report["trivial"], 0)))
    return report


def complete_with_model(model_dir, prompt: str, sampler, syntax: str = "parse", k: int = DEFAULT_K,
                        max_new_tokens: int = DEFAULT_NEW_TOKENS) -> dict:
    """One editor completion of `prompt` (`code_syntax.complete_prompt`), draw i seeded i."""
    from aurore.generation.generator import Generator, SamplingParams

    if not modeldir.is_model_dir(model_dir):
        raise AuroreError(f"No code model in {model_dir}: train one with `python -m aurore code train`.")
    generator = Generator(modeldir.load(model_dir), sampler, xla=False, sentences_separated=False)

    def draw(asked: str, index: int) -> str:
        return generator.generate(asked, SamplingParams(max_new_tokens=max_new_tokens, seed=index, **SAMPLING)).text

    return code_syntax.complete_prompt(prompt, draw, syntax, k)


def save_report(model_dir, report: dict) -> None:
    """Keep the report beside the weights it measured (code-evaluation.json)."""
    atomic.write_text(Path(model_dir) / REPORT_FILE, json.dumps(report, indent=1))
