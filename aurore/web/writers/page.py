"""The writers' page: write the beginning of a text, watch Aurore continue it.

The page itself is static HTML plus `static/js/writers.js`, which calls the
streaming API (`POST /api/generate/stream`) and keeps the last texts in the
browser. With no trained model yet, the page says how to get one instead of
failing. French first; `?lang=en` for English (`aurore.web.language`; the
texts are gettext's, writers.js's too, through workshop-common.js). In public
mode, `/` leads here.

After each text, the page asks `POST /generate/memorisation` how much of it
is copied from the training books (8-word spans, `aurore.evaluation.memorisation`).
Outside public mode, the page also holds « Mon modèle contre la référence »
(`aurore.web.writers.comparison`) and « Ce que le modèle regarde »
(`aurore.web.writers.attention`, `static/js/writers-attention.js`). A refusal is JSON in the web layer's one
shape (`aurore.web.errors`).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request

from aurore import paths
from aurore.errors import AuroreError
from aurore.evaluation import memorisation
from aurore.generation import sampling
from aurore.web import errors
from aurore.web.writers import api_params
from aurore.web.writers.model_pool import pool

bp = Blueprint("writers", __name__)


#: The form's example beginning: French in every language, as the model writes French.
EXAMPLE_PROMPT = "Il était une fois, au bord de la Creuse,"


def form_settings() -> list[dict]:
    """The form's sampling inputs, one per setting of `sampling.FIELDS` that has a form label, in their order.

    Why from FIELDS: a new setting appears on the form (and in writers.js's
    request) with no change here. Defaults and bounds are the API's
    (`sampling.limits`, as GET /info reports them; a server may lower one).
    """
    bounds = sampling.limits(current_app.config["GENERATION_MAX_NEW_TOKENS"])
    return [form_input(setting, bounds.get(setting.name, {})) for setting in sampling.FIELDS if setting.label]


def form_input(setting: sampling.Setting, bounds: dict) -> dict:
    """What the template writes for one setting: the kind of input, its texts (msgids), value and bounds.

    The form's inputs need an inclusive lowest value where the API's is
    exclusive (above 0): the smallest step. No largest value where GET /info
    gives none (a seed: any will do).
    """
    return {"name": setting.name, "kind": setting.kind, "label": setting.label, "help": setting.form_help,
            "value": setting.default, "min": setting.step if setting.low_open else setting.low,
            "max": bounds.get("max"), "step": setting.step, "placeholder": setting.placeholder,
            "options": setting.options}


@bp.get("/generate")
def page():
    models = pool().names()
    if not models:
        return render_template("writers/no_model.html", models_dir=str(pool().models_dir),
                               public=current_app.config["PUBLIC"])
    comparison = None
    if not current_app.config["PUBLIC"]:
        from aurore.web.writers import comparison as comparing

        comparison = comparing.context()
    return render_template("writers/generate.html", models=models, settings=form_settings(),
                           example_prompt=EXAMPLE_PROMPT, comparison=comparison, default_model=default_model(models),
                           attention=not current_app.config["PUBLIC"])


def default_model(models: list[str]) -> str | None:
    """The model the page starts with: the learner's own (`<preset>-mine`, the latest trained) when there is one."""
    mine = [name for name in models if name.endswith(paths.MINE_SUFFIX)]
    if not mine:
        return None

    def trained(name: str) -> float:
        try:
            return (pool().models_dir / name).stat().st_mtime
        except OSError:
            return 0.0

    return max(mine, key=trained)


@bp.post("/generate/memorisation")
def memorised():
    """How much of a text is copied from the training books: {spans, copied, share, examples}."""
    try:
        body = api_params.request_json()
    except api_params.BadRequest as error:
        return errors.json_error(400, error.message, code="malformed_json")
    if not isinstance(body.get("text"), str):
        return errors.json_error(422, "Send a JSON object with `text`, the text to check.", code="wrong_type",
                                 field="text", allowed="a string")
    try:
        index = memorisation.index_for(paths.dataset_dir(current_app.config["DATA_DIR"]))
    except AuroreError as error:
        return jsonify(available=False, reason=errors.path_hider()(str(error)))
    return jsonify(available=True, **index.check(body["text"]))


def public_home():
    return redirect("/generate" + ("?" + request.query_string.decode("latin-1") if request.query_string else ""))


def init_app(app) -> None:
    app.register_blueprint(bp)
    if app.config["PUBLIC"]:
        app.add_url_rule("/", "public_home", public_home)
