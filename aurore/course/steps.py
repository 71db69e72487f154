"""The workshop's steps, in order, in one table: a row says how a step runs everywhere.

Read by the `pipeline` command (which steps it runs, with which of its
options), the run page's jobs (`aurore/web/workshop/jobs.py`: the command, the options
a learner picks) and the home page's agenda (`aurore/web/workshop/pages.py`). Which
exercise teaches a step is said once, by `step = "<name>"` in
`exercises/info.toml` (`Step.exercise`); a step run with `--use exercise`
before that exercise is done fails with one clear message, from
`aurore.course.exercises.step`.

To add a step: its command in `aurore/commands/<name>.py` (with `--use`; `-` in the name is `_` there),
its exercise in `exercises/info.toml` with `step = "<name>"`, then one row
in STEPS below (a bonus step usually sets `in_pipeline=False`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aurore import paths
from aurore.course import exercises

#: The options a job may offer on the run page (their rules are in aurore/web/workshop/jobs.py).
JOB_OPTIONS = ("preset", "max_minutes", "restart")
#: The `pipeline` options a step may be given (each only when the pipeline has a value for it).
PIPELINE_OPTIONS = ("--source", "--preset", "--max-minutes", "--model")


@dataclass(frozen=True)
class Step:
    """One step: `python -m aurore <name> --use solution|exercise`."""

    name: str
    #: Its name on the run page.
    title: dict[str, str]
    #: Its section of the home page's agenda (fr, en) and the line that says what it is about; None: not there.
    section: dict[str, str] | None = None
    about: dict[str, str] | None = None
    #: More arguments of the run page's job, after `--use`; "{prompt}" is the app's GENERATE_PROMPT.
    job_args: tuple[str, ...] = ()
    #: What the learner may choose on the run page (names from JOB_OPTIONS).
    job_options: tuple[str, ...] = ()
    #: Whether `python -m aurore pipeline` runs it, with which of its options (PIPELINE_OPTIONS)
    #: and which fixed flags.
    in_pipeline: bool = True
    pipeline_options: tuple[str, ...] = ()
    pipeline_flags: tuple[str, ...] = ()
    #: A bonus step: its agenda section comes after the conclusion.
    bonus: bool = False
    #: The file that says the step is done: the pipeline skips the step unless `--redo <name>`.
    output: Callable[[], Path] | None = None

    @property
    def command_module(self) -> str:
        """Its command's module: `aurore.commands.char_lstm` for `char-lstm`."""
        return f"aurore.commands.{self.name.replace('-', '_')}"

    @property
    def exercise(self) -> exercises.Exercise | None:
        """The exercise that teaches this step (info.toml's `step`), if any."""
        return next((exercise for exercise in exercises.all_exercises() if exercise.step == self.name), None)


STEPS: tuple[Step, ...] = (
    Step("prepare",
         title={"fr": "Préparer le corpus", "en": "Prepare the corpus"},
         section={"fr": "Préparer les données", "en": "Preparing the data"},
         about={"fr": "Des livres bruts de Gutenberg à un corpus propre.",
                "en": "From raw Gutenberg books to a clean corpus."},
         pipeline_options=("--source",),
         output=lambda: paths.dataset_dir() / "dataset_dict.json"),
    Step("tokenizer",
         title={"fr": "Spécialiser le tokenizer", "en": "Specialise the tokenizer"},
         section={"fr": "Tokenisation", "en": "Tokenisation"},
         about={"fr": "Découper le texte en unités que le modèle apprend.",
                "en": "Cutting text into the units the model learns."},
         output=lambda: paths.tokenizer_dir() / "tokenizer.json"),
    Step("train",
         title={"fr": "Entraîner GPT-2", "en": "Train GPT-2"},
         section={"fr": "Spécialisation", "en": "Specialisation"},
         about={"fr": "Entraîner GPT-2 sur George Sand avec TensorFlow.",
                "en": "Training GPT-2 on George Sand with TensorFlow."},
         job_options=("preset", "max_minutes", "restart"),
         # The evaluate step measures the model (with exercise 5's code): train need not.
         pipeline_options=("--preset", "--max-minutes"), pipeline_flags=("--no-evaluate",)),
    Step("generate",
         title={"fr": "Générer du texte", "en": "Generate text"},
         section={"fr": "Utilisation", "en": "Use"},
         about={"fr": "Faire écrire le modèle.", "en": "Making the model write."},
         job_args=("--prompt", "{prompt}", "--max-new-tokens", "80"), job_options=("preset",),
         pipeline_options=("--model",)),
    Step("evaluate",
         title={"fr": "Évaluer le modèle", "en": "Evaluate the model"},
         section={"fr": "Évaluation", "en": "Evaluation"},
         about={"fr": "Mesurer ce que le modèle a appris, face à deux points de comparaison.",
                "en": "Measuring what the model has learnt, against two baselines."},
         job_options=("preset",), pipeline_options=("--model",)),
    Step("char-lstm",
         title={"fr": "Bonus A : entraîner un LSTM caractère", "en": "Bonus A: train a char-LSTM"},
         section={"fr": "Bonus A : un LSTM caractère", "en": "Bonus A: a character LSTM"},
         about={"fr": "Le modèle d'avant les transformers, sur les mêmes livres et le même temps : qui gagne ?",
                "en": "The model from before transformers, on the same books for the same time: which wins?"},
         job_options=("max_minutes", "restart"), in_pipeline=False, bonus=True),
    Step("code",
         title={"fr": "Bonus B : compléter du code Python", "en": "Bonus B: complete Python code"},
         section={"fr": "Bonus B : du code Python", "en": "Bonus B: Python code"},
         about={"fr": "Le même GPT-2 sur la bibliothèque standard de Python, jugé sur du code qui se lit.",
                "en": "The same GPT-2 on Python's standard library, judged on code that parses."},
         # All its sub-steps, always at the code preset (the page's model sizes are the books' ones).
         job_args=("all",), job_options=("max_minutes", "restart"), in_pipeline=False, bonus=True),
    Step("lora",
         title={"fr": "Bonus C : LoRA sur un livre", "en": "Bonus C: LoRA on one book"},
         section={"fr": "Bonus C : LoRA", "en": "Bonus C: LoRA"},
         about={"fr": "Apprendre un seul livre au modèle entraîné, en ne changeant qu'une infime part de ses poids.",
                "en": "Teaching the trained model one single book, changing only a tiny share of its weights."},
         job_options=("preset", "max_minutes"), in_pipeline=False, bonus=True),
)


def pipeline() -> tuple[Step, ...]:
    return tuple(step for step in STEPS if step.in_pipeline)
