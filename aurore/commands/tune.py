"""`python -m aurore tune`: search a preset's hyper-parameters within a time budget.

Built on Optuna (see aurore.training.tuning for why): TPE proposes settings, each
trial trains from scratch for `--trial-minutes`, reports its validation bits
per character at tenths of its time, and the median pruner stops those
worse than the other trials at the same point. The table (results.json and
results.md) lands in the data folder's tune/<study>/ after every trial; the
study itself is kept in SQLite there, so a search interrupted with Ctrl+C
keeps its finished trials and resumes when run again with the same options.
The best settings are printed as a `python -m aurore train … --set …` line.
"""

from __future__ import annotations

from aurore import paths, progress
from aurore.commands import add_preset_option
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.messages import gettext, number
from aurore.training import presets


def register(subparsers) -> None:
    parser = subparsers.add_parser("tune", help="search the training settings that learn most in a time budget")
    add_preset_option(parser, "the preset to search around")
    parser.add_argument("--minutes", type=float, default=20.0, help="budget of the whole search (default 20)")
    parser.add_argument("--trial-minutes", type=float, default=3.0,
                        help="training time of each trial (default 3)")
    parser.add_argument("--trials", type=int, default=None, help="stop after this many trials (this run)")
    parser.add_argument("--vocab-sizes", default="",
                        help="vocabulary sizes to try, e.g. 4000,8000,16000 (a tokenizer is built for each); "
                             "default: the prepared tokenizer only")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="fix a setting for every trial, e.g. --set sequence_length=64 (a fixed setting "
                             "is no longer searched) or --set max_steps=100000 (repeatable)")
    parser.add_argument("--study", default=None, help="name of the search (default: <preset>-<N>min)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampler")
    parser.add_argument("--data", default=None, help="dataset folder (default: the data folder's dataset/)")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the data folder's tokenizer/)")
    parser.add_argument("--out", default=None, help="where searches are kept (default: the data folder's tune/)")
    parser.set_defaults(handler=run)


def _vocab_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise AuroreError(f"--vocab-sizes {text!r}: give whole numbers separated by commas, "
                          "e.g. --vocab-sizes 4000,8000,16000.") from None
    if any(size < 300 for size in sizes):
        raise AuroreError("--vocab-sizes: each size must be at least 300 (the 256 bytes and <|endoftext|> "
                          "take 257 entries).")
    return sizes


def options_from_args(args):
    from aurore.training import tuning

    if args.trial_minutes <= 0 or args.minutes <= 0:
        raise AuroreError("--minutes and --trial-minutes must be positive.")
    if args.trial_minutes > args.minutes:
        raise AuroreError(f"--trial-minutes ({args.trial_minutes:g}) is longer than the whole budget "
                          f"--minutes ({args.minutes:g}): give the search time for at least one trial.")
    if args.trials is not None and args.trials < 1:
        raise AuroreError("--trials must be at least 1.")
    extra = presets.settings_from_args(args.preset, args.set)
    extra = {key: value for key, value in extra.items() if key in _pairs(args.set)}
    return tuning.SearchOptions(preset=args.preset, minutes=args.minutes, trial_minutes=args.trial_minutes,
                                max_trials=args.trials, vocab_sizes=_vocab_sizes(args.vocab_sizes),
                                study=args.study, seed=args.seed, extra=extra)


def _pairs(pairs: list[str]) -> set[str]:
    return {pair.partition("=")[0].strip() for pair in pairs}


def run(args) -> int:
    from aurore.training import tuning

    options = options_from_args(args)
    search = tuning.Search(exercises.rules("train"), args.data or paths.dataset_dir(),
                           args.tokenizer or paths.tokenizer_dir(), args.out or paths.data_dir() / "tune",
                           options, tokenizer_module=exercises.rules("tokenizer"))
    study = search.open_study()
    finished = sum(trial.state.is_finished() for trial in study.trials)
    progress.log(gettext("Search %(study)s in %(path)s: %(finished)s trial(s) so far; %(minutes)s minutes, "
                         "%(trial_minutes)s per trial.", study=options.study_name(), path=search.folder,
                         finished=finished, minutes=number(options.minutes, _digits(options.minutes)),
                         trial_minutes=number(options.trial_minutes, _digits(options.trial_minutes))))
    table = search.run(study)
    progress.event("result", step="tune", report=table)
    if progress.mode() != "json":
        print(tuning.markdown(table))
        print(f"Table: {search.folder / 'results.md'} (and results.json)")
        if table["best"]:
            print(f"Best settings, ready to train:\n{table['best']['command']}")
    return 0


def _digits(minutes: float) -> int:
    """The decimals a number of minutes needs (0 for 20, 1 for 2.5, up to 3), as `:g` wrote it."""
    return next((digits for digits in range(4) if round(minutes, digits) == minutes), 3)
