"""« Mon modèle contre la référence »: the learner's model and the reference write from the same start.

One request, two generations with the same prompt, settings and seed; each
comes back with its model's test-book bits per character (read from the
evaluation saved beside the weights, `aurore.evaluation.scoring.read_report`) and
the share of its 8-word spans copied from the training books
(`aurore.evaluation.memorisation`). The sampler may be the learner's own exercise 6
(`sampler: "exercise"`): that runs the learner's code, never in the server's
process but in a limited one (`aurore.course.checks.learner_sampler`, as a
check runs); still, this blueprint answers only where the workshop does
(loopback or access token, CSRF on POST) and is never registered in public mode.

Models: a folder named `<preset>-mine` was trained with the learner's code
(`aurore.paths.model_dir`); the others are references. When a char-LSTM
(bonus A, `models/char-lstm` or `models/char-lstm-mine`) is trained, it writes
too, from the same beginning with the same settings and seed, as many
characters as the reference's text holds (its tokens are characters), with
the reference's sampler (the solution's rules, trusted, in this process);
each column shows its bits per character and its training minutes
(`aurore.training.resumable.trained`), so that "who wins?" is more
than one number. A missing or broken char-LSTM is a line saying what to train. Refusals are JSON in
the web layer's one shape (`aurore.web.errors`), a 403 in the page's language.
"""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from flask import Blueprint, current_app, jsonify
from flask_babel import format_decimal, gettext

from aurore import paths
from aurore.bonus import char_lstm, char_lstm_writing
from aurore.course import exercises
from aurore.course.checks import learner_sampler, warm_worker
from aurore.errors import AuroreError
from aurore.evaluation import baselines, memorisation, scoring
from aurore.training import resumable
from aurore.web import errors
from aurore.web.errors import json_error
from aurore.web.workshop import pages, reference
from aurore.web.writers import api_params
from aurore.web.writers.api_params import BadRequest, InvalidField
from aurore.web.writers.model_pool import NoModel, UnknownModel, pool

bp = Blueprint("comparison", __name__)
bp.before_request(pages.guard)      # who may run the learner's code: the workshop's rule

#: Two trainings of the same minutes whose steps differ more than this many times are said to differ.
STEPS_APART = 1.5
#: Fields of a comparison request besides the native API's sampling fields.
OWN_FIELDS = ("mine", "reference", "sampler", "char_lstm")
#: The char-LSTM folders the comparison looks for, the learner's first.
CHAR_LSTM_NAMES = (char_lstm.MODEL_NAME + paths.MINE_SUFFIX, char_lstm.MODEL_NAME)


def is_mine(name: str) -> bool:
    return name.endswith(paths.MINE_SUFFIX)


def model_card(name: str) -> dict:
    """A model's name and its saved test-book figures (None when it has not been evaluated since training)."""
    folder = pool().models_dir / name
    report = scoring.read_report(folder) or {}
    facts = reference.training_facts(folder)
    return {"name": name, "mine": is_mine(name), "test_bits_per_character": facts["test_bits_per_character"],
            "step": report.get("step"), "baseline": report.get("baseline"),
            "minutes": facts["minutes"], "steps": facts["steps"]}


def _minutes(minutes: float) -> str:
    return format_decimal(round(minutes) if minutes >= 1 else round(minutes, 1), "0.#")


def budget_sentence(mine: dict, reference_card: dict) -> str:
    """What the comparison says of the two trainings' budgets: the same, or how they differ (the gap owes to it too)."""
    a, b = mine.get("minutes"), reference_card.get("minutes")
    if a is None or b is None:
        return gettext("The same beginning, settings and seed for both models; how long each trained is not "
                       "known (no evaluation was saved during its training).")
    steps = mine.get("steps"), reference_card.get("steps")
    if reference.same_budget(a, b) and all(steps) and max(steps) > STEPS_APART * min(steps):
        # The same minutes on machines of different speed (a kit's reference), or of another preset.
        return gettext("The same beginning, settings and seed for both models, and the same training time "
                       "(%(mine)s min, %(reference)s min), but not as many steps (%(mine_steps)s against "
                       "%(reference_steps)s: another machine or another preset): the gap comes from that too.",
                       mine=_minutes(a), reference=_minutes(b), mine_steps=format_decimal(steps[0]),
                       reference_steps=format_decimal(steps[1]))
    if reference.same_budget(a, b):
        return gettext("The same beginning, settings and seed for both models, and the same training time "
                       "(%(mine)s min, %(reference)s min): only what they learnt differs.",
                       mine=_minutes(a), reference=_minutes(b))
    return gettext("The same beginning, settings and seed for both models, but your model trained %(mine)s min, "
                   "the reference %(reference)s: the gap comes from that too.", mine=_minutes(a), reference=_minutes(b))


def char_lstm_cards() -> tuple[list[dict], str | None]:
    """The char-LSTMs that can write (their figures as `model_card`'s), and, when none can, why:
    "missing" (none trained) or "broken" (a folder that does not load: train it again)."""
    cards, problems = [], []
    for name in CHAR_LSTM_NAMES:
        folder = pool().models_dir / name
        problem = char_lstm_writing.status(folder)
        if problem:
            problems.append(problem)
            continue
        test = (char_lstm.read_report(folder) or {}).get("test") or {}
        trained = resumable.trained(folder) or {"minutes": None, "steps": None}
        cards.append({"name": name, "mine": is_mine(name), "test_bits_per_character": test.get("bits_per_character"),
                      "minutes": trained["minutes"], "steps": trained["steps"]})
    return cards, None if cards else ("broken" if "broken" in problems else "missing")


def context() -> dict:
    """What the writers' page needs to show the comparison: both lists of models and the xz figure."""
    cards = [model_card(name) for name in pool().names()]
    baseline = (next((card["baseline"] for card in cards if card["baseline"]), None)
                or baselines.cached(paths.dataset_dir(current_app.config["DATA_DIR"])))
    lstm_cards, lstm_problem = char_lstm_cards()
    mine, references = [c for c in cards if c["mine"]], [c for c in cards if not c["mine"]]
    # Every pair's sentence: the page shows the chosen pair's (writers.js, as the selects change).
    budgets = {f"{m['name']}|{r['name']}": budget_sentence(m, r) for m in mine for r in references}
    return {"mine": mine, "references": references, "baseline": baseline, "budgets": budgets,
            "char_lstm": lstm_cards, "char_lstm_problem": lstm_problem}


@bp.errorhandler(403)
def _forbidden(error):
    """The workshop's explanation (loopback only, token, stale form token), in the page's language."""
    return json_error(403, errors.page_refusal(error.description))


def memorisation_of(text: str) -> dict | None:
    try:
        return memorisation.index_for(paths.dataset_dir(current_app.config["DATA_DIR"])).check(text)
    except AuroreError:
        return None


@bp.post("/generate/compare")
def compare():
    try:
        body = api_params.request_json()
    except BadRequest as error:
        return json_error(400, error.message, code="malformed_json")
    own = {key: body.pop(key, None) for key in OWN_FIELDS}
    sampler = own["sampler"] or "solution"
    if sampler not in exercises.VARIANTS:
        return json_error(422, "`sampler` is \"solution\" (the reference's exercise 6) or \"exercise\" (yours).",
                          code="unknown_sampler", field="sampler", allowed="one of: " + ", ".join(exercises.VARIANTS))
    names = pool().names()
    lstm_names = [card["name"] for card in char_lstm_cards()[0]]
    if own["char_lstm"] is not None and own["char_lstm"] not in lstm_names:
        available = ", ".join(lstm_names) or "none"
        return json_error(422, f"`char_lstm` must name a trained char-LSTM; available: {available} "
                               "(train one on the Runs page: Bonus A).", code="unknown_model", field="char_lstm")
    for role in ("mine", "reference"):
        if not isinstance(own[role], str) or own[role] not in names:
            return json_error(422, f"`{role}` must name a trained model; available: {', '.join(names) or 'none'}.",
                              code="unknown_model", field=role)
    try:
        generation = api_params.native_request(body, current_app.config["GENERATION_MAX_NEW_TOKENS"])
    except InvalidField as error:
        return json_error(422, error.message, code=error.code, field=error.field, allowed=error.allowed)
    params = generation.sampling
    if params.seed is None:       # the same seed for both, or the comparison means nothing
        params = replace(params, seed=random.SystemRandom().randrange(2**31))
    if sampler == "exercise":
        try:
            results = learners_texts([own["mine"], own["reference"]], generation.prompt, params)
        except AuroreError as error:
            return json_error(422, str(error), code="generation_failed", field="sampler")
    else:
        results = []
        for role in ("mine", "reference"):
            try:
                result = pool().get(own[role]).generator.generate(generation.prompt, params)
            except (NoModel, UnknownModel) as error:
                return json_error(422, str(error), code="unknown_model", field=role)
            except AuroreError as error:
                return json_error(422, str(error), code="generation_failed", field=role)
            results.append({"text": result.text, "finish_reason": result.finish_reason,
                            "new_tokens": result.new_tokens, "seconds": result.seconds})
    rows = [{"role": role, **model_card(own[role]), **result, "seconds": round(result["seconds"], 3),
             "memorisation": memorisation_of(result["text"])}
            for role, result in zip(("mine", "reference"), results)]
    if own["char_lstm"] is not None:
        try:
            rows.append(char_lstm_row(own["char_lstm"], generation.prompt, params, len(results[1]["text"])))
        except AuroreError as error:
            return json_error(422, str(error), code="generation_failed", field="char_lstm")
    return jsonify(prompt=generation.prompt, seed=params.seed, sampler=sampler, rows=rows,
                   budget=budget_sentence(rows[0], rows[1]))


_writers: dict = {}
_writers_lock = threading.Lock()


def char_lstm_writer(name: str) -> char_lstm_writing.Writer:
    """The char-LSTM of that folder, loaded once per saved model (a new training's file is loaded again)."""
    folder = pool().models_dir / name
    try:
        key = (str(folder), (folder / char_lstm.MODEL_FILE).stat().st_mtime_ns)
    except OSError:
        raise AuroreError(f"The char-LSTM {name} is gone. Train it on the Runs page (Bonus A).") from None
    with _writers_lock:
        if key not in _writers:
            _writers.clear()            # one char-LSTM kept in memory: the last one asked for
            _writers[key] = char_lstm_writing.Writer.load(folder)
        return _writers[key]


def char_lstm_row(name: str, prompt: str, params, characters: int) -> dict:
    """The char-LSTM's column: as many characters as the reference wrote, with the reference's sampler."""
    written = char_lstm_writer(name).write(prompt, params, exercises.rules("generate", "solution"),
                                           max_characters=max(characters, 1))
    card = next(card for card in char_lstm_cards()[0] if card["name"] == name)
    return {"role": "char-lstm", **card, "sampler": "solution", "text": written.text,
            "finish_reason": written.finish_reason, "new_tokens": written.new_characters,
            "seconds": round(written.seconds, 3), "memorisation": memorisation_of(written.text)}


def learners_texts(names: list[str], prompt: str, params) -> list[dict]:
    """Both texts written with the learner's sampler: in a limited process, never in the server's own.

    Forked by the warm check worker when it is ready (TensorFlow imported already), else started cold.
    """
    config = current_app.config
    # The workshop's warm worker when it is ready; still importing or off, a cold start.
    worker = warm_worker.shared() if config.get("CHECK_WORKER", True) else None
    return learner_sampler.generate([pool().models_dir / name for name in names], prompt, params, worker=worker,
                                    env={"AURORE_DATA": config["DATA_DIR"]},
                                    wall_seconds=config.get("SAMPLER_WALL_SECONDS", learner_sampler.WALL_SECONDS))


def init_app(app) -> None:
    app.register_blueprint(bp)
