"""The JSON generation API: native endpoints, OpenAI-compatible completions, health and info.

- `POST /api/generate`          → {text, model, prompt_tokens, new_tokens, finish_reason, seconds, …}
- `POST /api/generate/stream`   → server-sent events: `data: {"text": …}` per piece, then
                                  `event: done` with the finish reason (or `event: error`)
- `POST /v1/completions`        → OpenAI's "text_completion" shape, `stream: true` for SSE chunks
                                  ending with `data: [DONE]` (standard clients work unchanged)
- `GET /v1/models`, `GET /health`, `GET /info`
- `GET /metrics`                → Prometheus text: queue, running rows, tokens, time to first token
                                  and per token (aurore/web/writers/metrics.py)

Every error is JSON: {"error": {"message", "type", "code", "field", "param", "allowed"}},
the web layer's one error shape (`aurore.web.errors`, which also answers 404, 405 and
refusals on these paths): 400 malformed, 403 refused (token, Host), 413 too large,
415 not JSON, 422 invalid field, 429 busy or rate-limited with Retry-After, 503 no
model (`/info` then also gives `model` and `models`). POST bodies must
be sent as `Content-Type: application/json`: a cross-site page cannot send that
without the browser asking first (CORS preflight), so it cannot use the API.
In public mode, messages never show the server's folders. Generation goes
through the shared `ModelPool` (aurore/web/writers/model_pool.py): one load per
model, each with a bounded queue and batching (aurore/web/writers/generation_service.py).
The sampling settings and their limits are `aurore.generation.sampling`'s.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from aurore import paths
from aurore.errors import AuroreError
from aurore.generation import sampling
from aurore.web import errors
from aurore.web.errors import JsonError, http_error, is_api_path
from aurore.web.writers import api_params, code_api, generation_service, metrics
from aurore.web.writers.api_params import BadRequest, InvalidField
from aurore.web.writers.generation_service import GenerationFailed, QueueFull
from aurore.web.writers.model_pool import EXTENSION, ModelPool, NoModel, UnknownModel, pool
from aurore.web.writers.rate_limit import RateLimiter

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__)

METRICS = "aurore_metrics"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


# --- errors -------------------------------------------------------------------------

def unexpected_error(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return http_error(error)
    log.exception("API error on %s (client %s)", request.path, request.remote_addr)
    return JsonError(500, "The server failed while answering; the error is in its log.", "server_error",
                     "internal_error").response()


@bp.errorhandler(JsonError)
def api_error(error: JsonError) -> Response:
    return error.response()


bp.register_error_handler(HTTPException, http_error)
bp.register_error_handler(Exception, unexpected_error)


@bp.before_app_request
def json_routing_errors():
    """404/405 are raised before any view (so before blueprint handlers): catch them on API paths."""
    error = request.routing_exception
    if (error is not None and is_api_path(request.path) and isinstance(error, HTTPException)
            and (error.code or 0) >= 400):       # not a redirect (308 to a slash-ended URL)
        return http_error(error)
    return None


# --- shared state -----------------------------------------------------------------------

def limiter() -> RateLimiter | None:
    return current_app.extensions.get("aurore_rate_limit")


def rate_limit() -> None:
    limit = limiter()
    if limit is None:
        return
    wait = limit.retry_after(request.remote_addr or "unknown")
    if wait:
        raise JsonError(429, f"Too many requests from your address: wait {wait} s.", "rate_limit_error",
                        "rate_limited", headers={"Retry-After": str(wait)})


def read_body() -> dict:
    if request.mimetype != "application/json":
        raise JsonError(415, f"Send the body as JSON with the header `Content-Type: application/json` "
                             f"(not {request.mimetype or 'none'}).", "invalid_request_error", "unsupported_media_type")
    try:
        return api_params.request_json()
    except BadRequest as error:
        raise JsonError(400, error.message, "invalid_request_error", "malformed_json") from None


def checked(parse, body: dict):
    try:
        return parse(body, current_app.config["GENERATION_MAX_NEW_TOKENS"])
    except InvalidField as error:
        raise field_error(error) from None


def field_error(error: InvalidField) -> JsonError:
    return JsonError(422, error.message, "invalid_request_error", error.code, field=error.field,
                     allowed=error.allowed)


def generation_failed(error: GenerationFailed, shown=None) -> JsonError:
    """The model failed while writing: a 500, or the last event of a stream.

    `shown`: `errors.path_hider()`, made during the request, for a stream's event (its `.body()` skips
    the hiding `.response()` does in public mode).
    """
    message = f"Generation failed: {error}"
    return JsonError(500, shown(message) if shown else message, "server_error", "generation_failed")


def service_for(name: str | None):
    try:
        return pool().get(name)
    except NoModel:
        raise JsonError(503, "No trained model yet. Train one with `python -m aurore train` "
                             "(or the training step of the workshop).", "no_model", "no_model") from None
    except UnknownModel as error:
        raise JsonError(422, str(error), "invalid_request_error", "unknown_model", field="model",
                        allowed="one of: " + ", ".join(error.available)) from None
    except AuroreError as error:
        raise model_unavailable(error) from None


def model_unavailable(error: AuroreError) -> JsonError:
    """A model folder that cannot be loaded: a 503, its message without the server's folders in public mode."""
    message = errors.hide_paths(str(error)) if current_app.config["PUBLIC"] else str(error)
    return JsonError(503, message, "model_error", "model_unavailable")


def submit(generation):
    """Check the prompt against the model, then admit the request (or 429)."""
    service = service_for(generation.model)
    prompt_tokens = service.count_tokens(generation.prompt)
    limit = service.max_context - 1
    if prompt_tokens > limit:
        raise JsonError(422, f"`prompt` is {prompt_tokens} tokens long; the model {service.name} reads at most "
                             f"{limit} tokens of prompt.", "invalid_request_error", "too_many_tokens",
                        field="prompt", allowed=f"at most {limit} tokens")
    try:
        job = service.submit(generation.prompt, generation.sampling, prompt_tokens)
    except QueueFull as error:
        raise JsonError(429, f"The server is busy ({error.capacity} requests in progress): "
                             f"retry in {error.retry_after} s.", "server_busy", "queue_full",
                        headers={"Retry-After": str(error.retry_after)}) from None
    return service, job


def wait_for(job):
    """Wait for a whole text; a client that hangs up meanwhile frees its place."""
    heartbeat = current_app.config["GENERATION_HEARTBEAT"]
    gone = request.environ.get("waitress.client_disconnected")
    try:
        for piece in job.pieces(heartbeat=heartbeat):
            if gone is not None and gone():
                job.cancel()
                raise JsonError(499, "The client closed the connection.", "client_closed", "client_closed")
    except GenerationFailed as error:
        raise generation_failed(error) from None
    return job.outcome


def sse(data, event: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


# --- native endpoints -------------------------------------------------------------------

def outcome_fields(service, outcome) -> dict:
    return {"model": service.name, "finish_reason": outcome.finish_reason,
            "prompt_tokens": outcome.prompt_tokens, "new_tokens": outcome.new_tokens,
            "seconds": round(outcome.seconds, 4), "queued_seconds": round(outcome.queued_seconds, 4)}


@bp.post("/api/generate")
def generate():
    """The whole text at once."""
    rate_limit()
    generation = checked(api_params.native_request, read_body())
    service, job = submit(generation)
    outcome = wait_for(job)
    return jsonify(text=outcome.text, **outcome_fields(service, outcome))


@bp.post("/api/generate/stream")
def generate_stream():
    """Server-sent events: one per piece of text, then `done` with the finish reason."""
    rate_limit()
    generation = checked(api_params.native_request, read_body())
    service, job = submit(generation)
    heartbeat = current_app.config["GENERATION_HEARTBEAT"]
    shown = errors.path_hider()

    def events():
        try:
            yield sse({"model": service.name, "prompt_tokens": job.prompt_tokens}, event="start")
            for piece in job.pieces(heartbeat=heartbeat):
                yield ": waiting\n\n" if piece is None else sse({"text": piece})
            yield sse(outcome_fields(service, job.outcome), event="done")
        except GenerationFailed as error:
            yield sse(generation_failed(error, shown).body(), event="error")
        finally:
            job.cancel()     # no-op once finished; frees the place of a client who left

    return Response(events(), mimetype="text/event-stream", headers=SSE_HEADERS)


# --- OpenAI-compatible completions --------------------------------------------------------

def openai_finish_reason(reason: str) -> str:
    return "length" if reason == "length" else "stop"


@bp.post("/v1/completions")
def completions():
    """OpenAI's legacy completions endpoint, enough for standard clients and editor plugins."""
    rate_limit()
    generation = checked(api_params.openai_request, read_body())
    if generation.syntax != "none":
        return syntax_aware_completion(generation)
    service, job = submit(generation)
    completion_id = f"cmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def chunk(text: str, finish_reason: str | None) -> dict:
        return {"id": completion_id, "object": "text_completion", "created": created, "model": service.name,
                "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}]}

    def usage(outcome) -> dict:
        return {"prompt_tokens": outcome.prompt_tokens, "completion_tokens": outcome.new_tokens,
                "total_tokens": outcome.prompt_tokens + outcome.new_tokens}

    if not generation.stream:
        outcome = wait_for(job)
        return jsonify({**chunk(outcome.text, openai_finish_reason(outcome.finish_reason)),
                        "usage": usage(outcome)})

    heartbeat = current_app.config["GENERATION_HEARTBEAT"]
    shown = errors.path_hider()

    def events():
        try:
            for piece in job.pieces(heartbeat=heartbeat):
                yield ": waiting\n\n" if piece is None else sse(chunk(piece, None))
            outcome = job.outcome
            yield sse(chunk("", openai_finish_reason(outcome.finish_reason)))
            if generation.include_usage:
                yield sse({**chunk("", None), "choices": [], "usage": usage(outcome)})
        except GenerationFailed as error:
            yield sse(generation_failed(error, shown).body())
        finally:
            job.cancel()
        yield sse("[DONE]")

    return Response(events(), mimetype="text/event-stream", headers=SSE_HEADERS)


def syntax_aware_completion(generation):
    """`"syntax": "dedent"` or `"parse"` (aurore/web/writers/code_api.py): the chosen text, whole."""
    def run_one(prompt, params):
        return wait_for(submit(dataclasses.replace(generation, prompt=prompt, sampling=params))[1])

    found = code_api.complete(generation, run_one)
    head = {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()),
            "model": service_for(generation.model).name}
    usage = {"prompt_tokens": found["prompt_tokens"], "completion_tokens": found["completion_tokens"],
             "total_tokens": found["prompt_tokens"] + found["completion_tokens"]}

    def choice(text, finish_reason):
        return {**head, "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}]}

    reason = openai_finish_reason(found["finish_reason"])
    if not generation.stream:
        return jsonify({**choice(found["text"], reason), "usage": usage, "aurore": found["aurore"]})
    events = [sse(choice(found["text"], None)), sse({**choice("", reason), "aurore": found["aurore"]})]
    if generation.include_usage:
        events.append(sse({**head, "choices": [], "usage": usage}))
    return Response([*events, sse("[DONE]")], mimetype="text/event-stream", headers=SSE_HEADERS)


@bp.get("/v1/models")
def models():
    created = int(time.time())
    return jsonify(object="list", data=[{"id": name, "object": "model", "created": created,
                                         "owned_by": "aurore"} for name in pool().names()])


# --- health and info ------------------------------------------------------------------------

@bp.get("/health")
def health():
    loaded = pool().loaded()
    return jsonify(status="ok", models_loaded=sorted(loaded),
                   queue={name: service.load() for name, service in loaded.items()})


@bp.get("/metrics")
def prometheus_metrics():
    """The generation load in Prometheus' text format, for an instructor's dashboard (or curl)."""
    return Response(current_app.extensions[METRICS].render(), mimetype=None,
                    headers={"Content-Type": metrics.CONTENT_TYPE})


def serving(config) -> dict:
    """How requests are served: the scheduler and who chooses the tokens (GET /info)."""
    batching = config["GENERATION_BATCHING"]
    scheduler = {True: generation_service.CONTINUOUS, "static": generation_service.STATIC}.get(
        batching, generation_service.ONE_AT_A_TIME)
    compiled = scheduler == generation_service.CONTINUOUS and config["GENERATION_SAMPLER"] == "compiled"
    return {"scheduler": scheduler,
            "sampler": "compiled" if compiled else "exercise 6",
            "sampler_about": ("exercise 6's rules for every row at once, inside the compiled step "
                              "(aurore/generation/compiled_sampling.py)") if compiled else
                             "exercise 6's code (solutions/06_generate.py), row by row"}


@bp.get("/info")
def info():
    """The default model and the limits, so a client can fill its form and stay in range."""
    config = current_app.config
    names = pool().names()
    model, max_context = (names[0] if names else None), None
    if model is not None:
        try:
            max_context = pool().get(model).max_context
        except AuroreError as error:     # a broken model directory: say so, still answer
            body = model_unavailable(error).body()
            return jsonify(model=model, models=names, **body), 503
    limit = limiter()
    return jsonify(
        model=model, models=names, max_context=max_context, public=bool(config["PUBLIC"]),
        serving=serving(config),
        limits={
            "prompt_bytes": api_params.MAX_PROMPT_BYTES,
            "prompt_tokens": None if max_context is None else max_context - 1,
            **sampling.limits(config["GENERATION_MAX_NEW_TOKENS"]),
            "body_bytes": config.get("MAX_CONTENT_LENGTH"),
            "queue": config["GENERATION_QUEUE"],
            "max_batch": config["GENERATION_MAX_BATCH"] if config["GENERATION_BATCHING"] else 1,
            "rate_limit": None if limit is None else {"per_minute": limit.rate * 60, "burst": int(limit.burst)},
        },
    )


# --- registration ---------------------------------------------------------------------------

def init_app(app) -> None:
    config = app.config
    config.setdefault("GENERATION_MODELS_DIR", str(paths.models_dir(config["DATA_DIR"])))
    config.setdefault("GENERATION_FACTORY", None)          # model_dir -> generator (tests: a fake)
    config.setdefault("GENERATION_QUEUE", generation_service.MAX_QUEUE)
    config.setdefault("GENERATION_MAX_BATCH", generation_service.MAX_BATCH)
    config.setdefault("GENERATION_BATCH_WINDOW", generation_service.BATCH_WINDOW)
    config.setdefault("GENERATION_BATCH_WAIT", generation_service.BATCH_WAIT)
    config.setdefault("GENERATION_BATCHING", True)         # True: continuous; "static"; False: one at a time
    config.setdefault("GENERATION_SAMPLER", "compiled")    # continuous batching's: "compiled" or "exercise"
    config.setdefault("GENERATION_MAX_NEW_TOKENS", sampling.MAX_NEW_TOKENS)   # a server may lower it
    config.setdefault("GENERATION_HEARTBEAT", 0.5)         # seconds between disconnect checks
    config.setdefault("RATE_LIMIT_PER_MINUTE", 30 if config["PUBLIC"] else None)
    config.setdefault("RATE_LIMIT_BURST", 10)

    app.extensions[METRICS] = load = metrics.Metrics()
    app.extensions[EXTENSION] = ModelPool(
        config["GENERATION_MODELS_DIR"], factory=config["GENERATION_FACTORY"], max_queue=config["GENERATION_QUEUE"],
        max_batch=config["GENERATION_MAX_BATCH"], batch_window=config["GENERATION_BATCH_WINDOW"],
        batch_wait=config["GENERATION_BATCH_WAIT"],
        batching=config["GENERATION_BATCHING"], sampler=config["GENERATION_SAMPLER"], metrics=load)
    load.watch(app.extensions[EXTENSION].loaded)
    if config["RATE_LIMIT_PER_MINUTE"]:
        app.extensions["aurore_rate_limit"] = RateLimiter(config["RATE_LIMIT_PER_MINUTE"] / 60.0,
                                                          config["RATE_LIMIT_BURST"])
    app.register_blueprint(bp)
