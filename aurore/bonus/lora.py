"""Fine-tuning a trained model on one single book: LoRA or full, scored on the book's last pages.

The teaching parts (the split by position, counting parameters, choosing
what may change) come from exercise 10's module; this file is the plumbing
around them: reading the book and cutting it into sentences with the
reference code of exercises 1 and 2, packing it with exercise 5's, a training loop bounded by steps and minutes,
saving, and measuring bits per character on the held-out end of the book
(exercise 7's figures) for the base model and the fine-tuned one.

The fine-tuned model is saved as an ordinary model folder
(`models/<base>-lora-<book>`, or `-full-<book>`): Keras writes each LoRA
layer's kernel *merged* (W + A·B, `EinsumDense.save_own_variables`), so
generation, evaluation and the model pool load it like any other model. The
adapter alone (A and B, KerasHub's `save_lora_weights`) is kept beside it in
`adapter.lora.h5`: what one would ship to share the fine-tuning without the
base model. `lora.json` keeps the comparison's figures.

Each run measures what the fine-tuning cost the model, too: bits per
character on the corpus's test book before and after (forgetting, measured),
and a short sample from the base and the fine-tuned model (same beginning,
same seed). `compare` runs LoRA, full fine-tuning or both on the same data,
budget and schedule, reusing a method's saved run when it is up to date;
`comparable` reads back the saved runs and `learner_table` / `comparison_data`
put them side by side for the CLI and the run page.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from aurore import paths, progress
from aurore.corpus import catalogue, download, sentences
from aurore.errors import AuroreError
from aurore.messages import N_, gettext, number
from aurore.evaluation import scoring
from aurore.store import atomic, modeldir
from aurore.training import packing

#: Molière's L'Avare: a play, in the French of the 1660s, that no training book holds.
DEFAULT_BOOK = 6318
DEFAULT_RANK = 8
HELD_OUT_SHARE = 0.1
#: LoRA's few fresh weights start from zero and tolerate a high rate; full fine-tuning moves
#: weights that already work, and a high rate would wash out what the model knew.
LEARNING_RATES = {"lora": 2e-3, "full": 2e-4}
#: The progress label of each way of fine-tuning (msgids: said in the run's language).
TASK_LABELS = {"lora": N_("Fine-tuning (LoRA)"), "full": N_("Fine-tuning (every weight)")}
DEFAULT_STEPS = 500
REPORT_FILE = "lora.json"
ADAPTER_FILE = "adapter.lora.h5"
#: The ways of fine-tuning the step offers, in the table's order; "both" runs them in that order.
METHODS = ("lora", "full")
CHOICES = ("both", *METHODS)
#: The samples' beginning, seed and length: the same for every model, so that they compare.
SAMPLE_PROMPT = "La nuit était"
SAMPLE_SEED = 1
SAMPLE_TOKENS = 24
#: Bumped when a report's figures change meaning: an older run is then not reused.
REPORT_VERSION = 2


@dataclass(frozen=True)
class BookSplit:
    book_id: int
    title: str
    train: list[str]
    held_out: list[str]


def output_dir(base_dir: str | Path, book_id: int, full: bool = False) -> Path:
    """`models/cpu` fine-tuned on book 6318 → `models/cpu-lora-6318` (`models/cpu-full-6318`)."""
    base_dir = Path(base_dir)
    return base_dir.with_name(f"{base_dir.name}-{'full' if full else 'lora'}-{book_id}")


def check_base(base_dir: str | Path) -> Path:
    """The base model's folder, or a message saying how to get one."""
    base_dir = Path(base_dir)
    if not modeldir.is_model_dir(base_dir):
        raise AuroreError(f"No trained model at {base_dir} to fine-tune: fine-tuning starts from a model that "
                          "already writes French. Train one first (`python -m aurore train`, or the run page's "
                          "Train step; with --use exercise, your own: models/<preset>-mine), or give its "
                          "folder with --base DIR.")
    return base_dir


def check_rank(rank: int | None) -> int | None:
    if rank is not None and not 1 <= rank <= 256:
        raise AuroreError(f"--rank must be a whole number from 1 to 256, not {rank}. Small ranks (4 to 16) "
                          "are the usual choice.")
    return rank


def read_book(book_id: int | str, module: ModuleType, held_out_share: float = HELD_OUT_SHARE,
              source: str | None = None, mirror: str | None = None, *, cleaning: ModuleType,
              prepare: ModuleType) -> BookSplit:
    """Fetch one book, clean it (`cleaning`: exercise 1's reference) and cut it into sentences (`prepare`:
    exercise 2's), then split it by position (`module`: exercise 10's code)."""
    if not 0 < held_out_share < 0.5:
        raise AuroreError(f"--held-out must be a share between 0 and 0.5 (e.g. 0.1 for the last tenth), "
                          f"not {held_out_share}.")
    book_id = download.check_book_id(book_id)
    if book_id in catalogue.training_ids():
        progress.log(gettext("Note: book %(book)s (%(title)s) is one of the training books: the model has read it "
                             "already, its held-out end included.", book=book_id, title=catalogue.title(book_id)))
    fetched = download.fetch(book_id, source=source, mirror=mirror)
    paragraphs = cleaning.clean_book(fetched.text)
    splitter = sentences.french_splitter("\n\n".join(paragraphs), paths.nltk_dir())
    kept = [s for s in prepare.split_sentences(paragraphs, splitter) if prepare.keep_sentence(s)]
    if len(kept) < 20:
        raise AuroreError(f"Book {book_id} has only {len(kept)} sentences once cleaned: too little to learn from "
                          "and to measure. Is it really a Gutenberg book? Choose another with --book.")
    train, held_out = module.split_by_position(kept, held_out_share)
    if (not isinstance(train, list) or not isinstance(held_out, list) or not train or not held_out
            or train + held_out != kept):
        raise AuroreError("Exercise 10: `split_by_position` must return two non-empty lists, the beginning of the "
                          "book then its end, together the whole book in order. Check it with "
                          "`python -m aurore check 10`.")
    progress.log(gettext("Book %(book)s (%(title)s): %(train)s sentences to learn from, the last %(held_out)s held "
                         "out.", book=book_id, title=catalogue.title(book_id), train=number(len(train), 0),
                         held_out=number(len(held_out), 0)))
    return BookSplit(book_id, catalogue.title(book_id), train, held_out)


def _budget(max_steps: int, deadline: float | None, task):
    """A Keras callback that stops `fit` at `deadline` and reports progress at every step."""
    import keras

    class Budget(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps, self.stopped = 0, "steps"

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            loss = (logs or {}).get("loss")
            task.update(1, loss=float(loss) if loss is not None else None)
            if deadline is not None and time.monotonic() >= deadline and self.steps < max_steps:
                self.stopped = "time"
                self.model.stop_training = True

    return Budget()


def _count(module: ModuleType, lm) -> dict[str, int]:
    counts = module.count_parameters(lm)
    if not isinstance(counts, dict) or not all(isinstance(counts.get(k), int) for k in ("trainable", "frozen")):
        raise AuroreError(f"Exercise 10: `count_parameters` returned {counts!r:.80}, not a dict of whole numbers "
                          "(trainable, frozen, total). Check it with `python -m aurore check 10`.")
    return counts


def fine_tune(module: ModuleType, base_dir: str | Path, book: BookSplit, out_dir: str | Path, *,
              rank: int | None = DEFAULT_RANK, max_steps: int = DEFAULT_STEPS, max_minutes: float | None = 5,
              batch_size: int | None = None, learning_rate: float | None = None, seed: int = 1234,
              train_rules: ModuleType, figures: ModuleType, test_book: dict | None = None,
              sampler: ModuleType | None = None, asked: dict | None = None, base_figures: dict | None = None) -> dict:
    """Fine-tune the base model on the book (LoRA of that rank, or full with rank None); returns the report.

    `module`: exercise 10's code; `train_rules`: exercise 5's (its `pack` cuts the book into blocks);
    `figures`: exercise 7's (bits per character on the held-out end).
    `test_book`: `{"id", "title", "texts"}`, the corpus's test book, measured before and after (what the
    fine-tuning made the model forget); `sampler`: exercise 6's rules, to write a sample from each model.
    `asked`: what the run was asked (`compare`'s), kept in the report to tell whether it is up to date.
    `base_figures`: the base model's figures (`base_figures_of` a run with the same `asked`), measured
    already: the second method of "both" does not measure the same base model again.

    The base model is measured first, the fine-tuned one after it is saved, read back from its folder.
    """
    import keras
    import keras_hub

    base_dir, out_dir = check_base(base_dir), Path(out_dir)
    check_rank(rank)
    if max_steps < 1:
        raise AuroreError(f"--max-steps must be at least 1, not {max_steps}.")
    if max_minutes is not None and max_minutes <= 0:
        raise AuroreError(f"--max-minutes must be more than 0, not {max_minutes:g}.")
    if out_dir.resolve() == base_dir.resolve():
        raise AuroreError(f"--out {out_dir} is the base model's folder: the fine-tuned model goes elsewhere.")
    method = "full" if rank is None else "lora"
    learning_rate = learning_rate or LEARNING_RATES[method]
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy("float32")

    with modeldir.training_lock(out_dir):
        loaded = modeldir.load(base_dir)
        before = base_figures or _measure(loaded, book, test_book, figures, sampler, N_("Measuring the base model"))
        length = min(int(loaded.settings.get("sequence_length") or loaded.max_length), loaded.max_length)
        batch_size = batch_size or int(loaded.settings.get("batch_size") or 8)
        inputs, targets = train_rules.pack(packing.tokenize(loaded.tokenizer, book.train),
                                           loaded.tokenizer.eos_token_id, length)
        if len(inputs) == 0:
            raise AuroreError(f"The book's training part is too short to fill one block of {length} tokens.")

        lm = keras_hub.models.GPT2CausalLM(backbone=loaded.backbone, preprocessor=None)
        everything = _count(module, lm)
        module.choose_trainable(loaded.backbone, rank)
        counts = _count(module, lm)
        if rank is not None and counts["trainable"] >= everything["trainable"]:
            raise AuroreError("Exercise 10: after `choose_trainable` with a rank, as many weights as before are "
                              "trainable: LoRA is not enabled. Check it with `python -m aurore check 10`.")
        progress.log(gettext("%(method)s: %(trainable)s trainable parameters out of %(total)s (%(share)s %%); "
                             "%(tokens)s tokens in %(blocks)s blocks of %(length)s.",
                             method=gettext("LoRA fine-tuning (rank %(rank)s)", rank=rank) if rank
                             else gettext("Full fine-tuning"),
                             trainable=number(counts["trainable"], 0), total=number(counts["total"], 0),
                             share=number(100 * counts["trainable"] / counts["total"], 2),
                             tokens=number(inputs.size, 0), blocks=number(len(inputs), 0), length=length))
        optimizer = keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=0.01, beta_2=0.95,
                                           clipnorm=1.0)
        train_rules.compile_model(lm, optimizer)
        data = packing.training_dataset(inputs, targets, batch_size, seed)
        started = time.monotonic()
        with progress.task(TASK_LABELS[method], total=max_steps, unit="step") as task:
            budget = _budget(max_steps, started + 60 * max_minutes if max_minutes else None, task)
            lm.fit(data, steps_per_epoch=max_steps, epochs=1, callbacks=[budget], verbose=0, shuffle=False)
        seconds = time.monotonic() - started

        settings = {**loaded.settings, "step": budget.steps, "val_loss": None,
                    "tokens": budget.steps * batch_size * length,
                    "fine_tuned": {"base": str(base_dir), "book": book.book_id, "method": method, "rank": rank}}
        with atomic.replace_dir(out_dir) as tmp:
            modeldir.save(tmp, loaded.backbone, loaded.tokenizer, settings)
            if rank is not None:
                loaded.backbone.save_lora_weights(str(tmp / ADAPTER_FILE))
        after = _measure(modeldir.load(out_dir), book, test_book, figures, sampler,
                         N_("Measuring the fine-tuned model"))

    report = {"book": book.book_id, "title": book.title, "method": method, "rank": rank,
              "base": str(base_dir), "model": str(out_dir), "parameters": counts,
              "trainable_share": counts["trainable"] / counts["total"], "learning_rate": learning_rate,
              "batch_size": batch_size, "sequence_length": length, "steps": budget.steps, "stopped": budget.stopped,
              "seconds": round(seconds, 1), "train_sentences": len(book.train),
              "held_out_sentences": len(book.held_out),
              "held_out_characters": sum(len(text) + 1 for text in book.held_out),
              "bits_per_character": {"base": before["held_out"], "tuned": after["held_out"]},
              "seconds_per_step": round(seconds / max(budget.steps, 1), 4),
              "saved_bytes": {"model": (out_dir / modeldir.WEIGHTS_FILE).stat().st_size,
                              "adapter": (out_dir / ADAPTER_FILE).stat().st_size if rank is not None else None},
              "version": REPORT_VERSION, "asked": asked}
    if test_book is not None:
        report["test_book"] = {"id": test_book["id"], "title": test_book["title"],
                               "sentences": len(test_book["texts"]),
                               "characters": sum(len(text) + 1 for text in test_book["texts"] if text),
                               "bits_per_character": {"before": before["test"], "after": after["test"]}}
    if sampler is not None:
        report["samples"] = {"prompt": SAMPLE_PROMPT, "seed": SAMPLE_SEED, "base": before["sample"],
                             "tuned": after["sample"]}
    atomic.write_text(out_dir / REPORT_FILE, json.dumps(report, indent=1, ensure_ascii=False))
    return report


def _measure(loaded: modeldir.LoadedModel, book: BookSplit, test_book: dict | None, rules: ModuleType,
             sampler: ModuleType | None, label: str) -> dict:
    """One model's figures: bits per character on the book's held-out end and on the test book, and a sample."""
    total = 1 + (test_book is not None) + (sampler is not None)
    found = {"held_out": None, "test": None, "sample": None}
    with progress.task(label, total=total, unit="measure") as task:
        found["held_out"] = scoring.evaluate_texts(loaded, book.held_out, rules)["bits_per_character"]
        task.update(1)
        if test_book is not None:
            found["test"] = scoring.evaluate_texts(loaded, test_book["texts"], rules)["bits_per_character"]
            task.update(1)
        if sampler is not None:
            found["sample"] = write_sample(loaded, sampler)
            task.update(1)
    return found


def write_sample(loaded: modeldir.LoadedModel, sampler: ModuleType) -> str:
    """A few words from SAMPLE_PROMPT with SAMPLE_SEED: every model of the table starts alike."""
    from aurore.generation.generator import Generator
    from aurore.generation.sampling import SamplingParams

    generator = Generator(loaded, sampler, xla=False)
    return generator.generate(SAMPLE_PROMPT, SamplingParams(max_new_tokens=SAMPLE_TOKENS, seed=SAMPLE_SEED)).text


def base_stamp(base_dir: str | Path) -> dict:
    """What tells one base model's weights from the next (retraining it rewrites the file)."""
    stat = (Path(base_dir) / modeldir.WEIGHTS_FILE).stat()
    return {"base": str(Path(base_dir).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def asked_for(base_dir, book_id: int, test_id: int | None, *, max_steps: int, max_minutes: float | None,
              held_out_share: float, batch_size: int | None, seed: int = 1234) -> dict:
    """The settings both methods share (the same data, budget and schedule): runs that agree compare."""
    return {"version": REPORT_VERSION, "stamp": base_stamp(base_dir), "book": book_id, "test_book": test_id,
            "max_steps": max_steps, "max_minutes": max_minutes, "held_out_share": held_out_share,
            "batch_size": batch_size, "seed": seed}


def up_to_date(report: dict | None, asked: dict, rank: int | None, learning_rate: float | None) -> bool:
    """Whether a saved run answers this request: same base weights, book, budget, method settings."""
    method = "full" if rank is None else "lora"
    return bool(report) and report.get("asked") == asked and report.get("method") == method \
        and report.get("rank") == rank and report.get("learning_rate") == (learning_rate or LEARNING_RATES[method]) \
        and modeldir.is_model_dir(report.get("model", ""))


def methods_of(choice: str) -> tuple[str, ...]:
    if choice not in CHOICES:
        raise AuroreError(f"--method must be one of {', '.join(CHOICES)}, not {choice!r}.")
    return METHODS if choice == "both" else (choice,)


def compare(choice: str, module: ModuleType, base_dir: str | Path, book: BookSplit, *, asked: dict,
            rank: int = DEFAULT_RANK, restart: bool = False, out: str | Path | None = None,
            learning_rate: float | None = None, **kwargs) -> list[dict]:
    """Run the chosen methods ("lora", "full" or "both") on the same data, budget and schedule.

    A method whose saved run is up to date (`up_to_date`) is reused, not run again, unless `restart`.
    Returns the reports of the methods run or reused, in METHODS' order.
    """
    methods = methods_of(choice)
    measured = None
    if out is not None and len(methods) > 1:
        raise AuroreError("--out names one folder: give it with --method lora or --method full, not both.")
    reports = []
    for method in methods:
        method_rank = rank if method == "lora" else None
        folder = Path(out) if out is not None else output_dir(base_dir, book.book_id, full=method == "full")
        saved = read_report(folder)
        if not restart and up_to_date(saved, asked, method_rank, learning_rate):
            progress.log(gettext("%(method)s: the saved run in %(path)s is up to date (same base model, book and "
                                 "budget): reused. Start over to run it again.",
                                 method=method_name(saved), path=str(folder)))
            reports.append(saved)
        else:
            reports.append(fine_tune(module, base_dir, book, folder, rank=method_rank, learning_rate=learning_rate,
                                     asked=asked, base_figures=measured, **kwargs))
        measured = measured or base_figures_of(reports[-1])
    return reports


def base_figures_of(report: dict) -> dict | None:
    """The base model's figures a run measured (None for a run without the test book or the sample)."""
    if "test_book" not in report or "samples" not in report:
        return None
    return {"held_out": report["bits_per_character"]["base"],
            "test": report["test_book"]["bits_per_character"]["before"], "sample": report["samples"]["base"]}


def comparable(base_dir: str | Path, asked: dict) -> list[dict]:
    """The saved runs of each method, read back from their folders, that share `asked`: the table's rows."""
    found = []
    for method in METHODS:
        report = read_report(output_dir(base_dir, asked["book"], full=method == "full"))
        if report and report.get("asked") == asked and "test_book" in report:
            found.append(report)
    return found


def method_name(report: dict) -> str:
    return (gettext("LoRA rank %(rank)s", rank=report["rank"]) if report["method"] == "lora"
            else gettext("full fine-tuning"))


def read_report(model_dir: str | Path) -> dict | None:
    try:
        return json.loads((Path(model_dir) / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def table(reports: list[dict]) -> str:
    """One Markdown table: the base model, then each fine-tuning (trainable parameters, time, bits per character)."""
    if not reports:
        return ""
    first = reports[0]
    lines = [gettext("Book %(book)s (%(title)s), last %(sentences)s sentences (%(characters)s characters) held out.",
                     book=first["book"], title=first["title"], sentences=number(first["held_out_sentences"], 0),
                     characters=number(first["held_out_characters"], 0)),
             "",
             "| {} | {} | {} | {} | {} | {} |".format(
                 gettext("model"), gettext("trainable parameters"), gettext("share"), gettext("steps"),
                 gettext("seconds"), gettext("held-out bits/char")),
             "|---|---:|---:|---:|---:|---:|",
             "| {} | — | — | — | — | {} |".format(gettext("base (%(name)s)", name=Path(first["base"]).name),
                                                 number(first["bits_per_character"]["base"], 3))]
    for report in reports:
        name = (gettext("LoRA rank %(rank)s", rank=report["rank"]) if report["method"] == "lora"
                else gettext("full fine-tuning"))
        lines.append(f"| {name} | {number(report['parameters']['trainable'], 0)} | "
                     f"{number(100 * report['trainable_share'], 2)} % | {number(report['steps'], 0)} | "
                     f"{number(report['seconds'], 0)} | {number(report['bits_per_character']['tuned'], 3)} |")
    return "\n".join(lines)



def comparison_data(reports: list[dict]) -> dict:
    """The learner's table as data (the run page draws it): one row per method, the base model's figures beside."""
    first = reports[0]
    return {"book": {"id": first["book"], "title": first["title"], "sentences": first["held_out_sentences"]},
            "test_book": {key: first["test_book"][key] for key in ("id", "title", "sentences")},
            "base": Path(first["base"]).name,
            "samples": {"prompt": SAMPLE_PROMPT, "seed": SAMPLE_SEED,
                        "base": (first.get("samples") or {}).get("base")},
            "rows": [{"method": report["method"], "rank": report["rank"], "name": method_name(report),
                      "model": Path(report["model"]).name,
                      "trainable": report["parameters"]["trainable"], "total": report["parameters"]["total"],
                      "share": report["trainable_share"], "steps": report["steps"],
                      "seconds_per_step": report.get("seconds_per_step"),
                      "held_out": report["bits_per_character"],
                      "test": report["test_book"]["bits_per_character"],
                      "sample": (report.get("samples") or {}).get("tuned")}
                     for report in reports]}


def learner_table(reports: list[dict]) -> str:
    """The CLI's table: each method's cost (trainable weights, seconds a step), what it learnt (the book's
    held-out end) and what it forgot (the test book, before and after), then a sample from each model."""
    if not reports:
        return ""
    data = comparison_data(reports)
    lines = [gettext("Book %(book)s (%(title)s): bits per character on its last %(sentences)s sentences, held out; "
                     "forgetting: on the test book (%(test)s), before and after.",
                     book=data["book"]["id"], title=data["book"]["title"],
                     sentences=number(data["book"]["sentences"], 0), test=data["test_book"]["title"]),
             "",
             "| {} | {} | {} | {} | {} | {} | {} | {} |".format(
                 gettext("method"), gettext("trainable weights"), gettext("share"), gettext("seconds per step"),
                 gettext("held-out end, before"), gettext("held-out end, after"),
                 gettext("test book, before"), gettext("test book, after")),
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in data["rows"]:
        lines.append(f"| {row['name']} | {number(row['trainable'], 0)} | {number(100 * row['share'], 2)} % | "
                     f"{number(row['seconds_per_step'], 3)} | {number(row['held_out']['base'], 3)} | "
                     f"{number(row['held_out']['tuned'], 3)} | {number(row['test']['before'], 3)} | "
                     f"{number(row['test']['after'], 3)} |")
    samples = data["samples"]
    if samples["base"] is not None:
        lines += ["", gettext('Samples ("%(prompt)s", seed %(seed)s):', prompt=samples["prompt"], seed=samples["seed"])]
        lines += [f"- {gettext('%(model)s:', model=name)} {samples['prompt']}{' '.join(text.split())}"
                  for name, text in [(gettext("base model"), samples["base"]),
                                     *((row["name"], row["sample"]) for row in data["rows"])] if text is not None]
    return "\n".join(lines)
