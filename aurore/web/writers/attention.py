"""« Ce que le modèle regarde »: one head's attention weights over a written text, for the writers' page.

`POST /generate/attention` with `{"model", "text", "layer", "head"}` (layers
and heads from 1) answers the map of `aurore.generation.attention_map`: the
token pieces, the head's weights (row i: what token i looked at), which
function computed them and how closely it reproduces the layer's own output.

Which function: the learner's `multi_head_attention` once their check of the
attention exercise passed (`learner_progress`), else the reference solution's;
`"use": "solution"` asks for the reference anyway. The learner's code never
runs here: it runs in `aurore.course.checks.learner_attention`'s limited
process. The reference's runs in the server on the pool's loaded model (a
fraction of a second: one forward pass up to the chosen layer, no compilation).
Workshop mode only (the workshop's guard, CSRF on POST), as the comparison.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from aurore.course.checks import learner_attention, warm_worker
from aurore.errors import AuroreError
from aurore.generation import attention_map
from aurore.web import errors
from aurore.web.errors import json_error
from aurore.web.workshop import learner_progress, pages
from aurore.web.writers import api_params
from aurore.web.writers.model_pool import NoModel, UnknownModel, pool

bp = Blueprint("attention", __name__)
bp.before_request(pages.guard)      # the learner's code may run: the workshop's rule

#: Longest text sent (characters); the model reads at most its context anyway (the first tokens are left out).
MAX_TEXT_CHARS = 20_000
USES = ("auto", "solution")


@bp.errorhandler(403)
def _forbidden(error):
    return json_error(403, errors.page_refusal(error.description))


def learners_function_ready() -> bool:
    """Whether the learner's attention code has passed its check (then it draws the map)."""
    item = learner_attention.exercise()
    record = learner_progress.load(current_app.config["DATA_DIR"]).get(str(item.number), {})
    return bool(record.get("done"))


def _field_error(field: str, message: str, allowed: str):
    return json_error(400, message, code="invalid_field", field=field, allowed=allowed)


@bp.post("/generate/attention")
def attention():
    try:
        body = api_params.request_json()
    except api_params.BadRequest as error:
        return json_error(400, error.message, code="malformed_json")
    names = pool().names()
    model = body.get("model")
    if not isinstance(model, str) or model not in names:
        return _field_error("model", f"`model` must name a trained model; available: {', '.join(names) or 'none'}.",
                            "one of: " + ", ".join(names))
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return _field_error("text", "Send `text`: the text whose attention to show (the beginning and what "
                                    "the model wrote).", "a string that is not empty")
    if len(text) > MAX_TEXT_CHARS:
        return _field_error("text", f"`text` is too long ({len(text)} characters; at most {MAX_TEXT_CHARS}).",
                            f"at most {MAX_TEXT_CHARS} characters")
    for name in ("layer", "head"):
        value = body.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return _field_error(name, f"`{name}` must be a whole number from 1 (not {value!r}).", "an integer >= 1")
    use = body.get("use", "auto")
    if use not in USES:
        return _field_error("use", "`use` is \"auto\" (yours once its check passed, else the reference's) or "
                                   "\"solution\" (the reference's).", "one of: " + ", ".join(USES))
    try:
        service = pool().get(model)
    except (NoModel, UnknownModel) as error:
        return _field_error("model", str(error), "one of: " + ", ".join(names))
    backbone = service.generator.model.backbone
    counts = {"layer": len(backbone.transformer_layers), "head": int(backbone.num_heads)}
    layer, head = body.get("layer", 1), body.get("head", 1)
    for name, value in (("layer", layer), ("head", head)):
        try:
            attention_map.checked_position(name, value, counts[name])
        except AuroreError as error:
            return _field_error(name, str(error), f"1 to {counts[name]}")
    try:
        if use == "auto" and learners_function_ready():
            result = learners_map(service.generator.model.path, text, layer, head)
        else:
            result = attention_map.attention_map(service.generator.model, text, layer, head,
                                                 learner_attention.attention_function("solution"),
                                                 function="reference").as_dict()
    except attention_map.AttentionMismatch as error:
        return json_error(422, str(error), code="attention_mismatch")
    except AuroreError as error:
        return json_error(422, errors.path_hider()(str(error)), code="attention_failed")
    return jsonify(model=model, **result)


def learners_map(model_dir, text: str, layer: int, head: int) -> dict:
    """The map drawn by the learner's function, in a limited process (forked warm when the worker is ready)."""
    config = current_app.config
    worker = warm_worker.shared() if config.get("CHECK_WORKER", True) else None
    return learner_attention.compute(model_dir, text, layer, head, worker=worker,
                                     env={"AURORE_DATA": config["DATA_DIR"]},
                                     wall_seconds=config.get("ATTENTION_WALL_SECONDS", learner_attention.WALL_SECONDS))


def init_app(app) -> None:
    app.register_blueprint(bp)
