"""The Flask application factory (as in Flask's tutorial app, flaskr).

Concerns are split into modules, each with `init_app(app)` registering its
blueprints:
- `workshop`: the learners' pages (exercises, checks, runs, environment);
  code-running endpoints, never served in public mode;
- `writers`: the writers' generation page;
- `api`: the JSON generation API (including OpenAI-compatible completions);
- `comparison`: the learner's model against the reference, on the writers'
  page (it may run the learner's sampler: never served in public mode);
- `attention`: « Ce que le modèle regarde », one head's attention over a text
  (it may run the learner's attention code: never served in public mode).

`security` guards them all (Host check, access token, headers; see
docs/security.md). Shared by every part, each with one owner: `errors` (the
one JSON error shape), `language` (the page language) with `translations`
(the gettext catalogues, Flask-Babel), `model_pool.pool()`
(the app's models) and `aurore.paths` (the data folders, under DATA_DIR).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from aurore import paths
from aurore.web.writers import api_params


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(paths.ROOT / "templates"),
        static_folder=str(paths.ROOT / "static"),
    )
    app.config.from_mapping(
        PUBLIC=False,          # writers' page + API + static only
        ACCESS_TOKEN=None,     # when set, every client must present it (outside public mode)
        BIND_HOST="127.0.0.1", # the interface the server listens on (the Host check depends on it)
        ALLOWED_HOSTS=(),      # Host names accepted besides localhost / 127.0.0.1 / [::1]
        PROXY_HOPS=0,          # reverse proxies in front (their X-Forwarded-* headers are believed)
        DATA_DIR=str(paths.data_dir()),
        MAX_CONTENT_LENGTH=api_params.MAX_BODY_BYTES,
        CHECK_WORKER=True,     # checks fork from a warm worker (TensorFlow imported once)
        # Flask's defaults hold these keys (SameSite None): set, not setdefault, or they stay None.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False  # French text stays readable in JSON answers
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)

    from aurore.web import security, translations
    from aurore.web.writers import api, page, rate_limit

    translations.init_app(app)
    security.init_app(app)
    page.init_app(app)
    api.init_app(app)
    if not app.config["PUBLIC"]:
        from aurore.web.workshop import pages
        from aurore.web.writers import attention, comparison

        pages.init_app(app)
        comparison.init_app(app)
        attention.init_app(app)
    else:
        rate_limit.limit_in_flight(app)
    security.trust_proxies(app)    # last: outermost, every part sees the client behind the proxies
    return app
