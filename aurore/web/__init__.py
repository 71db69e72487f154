"""The Flask application factory (as in Flask's tutorial app, flaskr).

Concerns are split into modules, each with `init_app(app)` registering its
blueprints:
- `workshop`: the learners' pages (exercises, checks, runs, environment);
  code-running endpoints, never served in public mode;
- `writers`: the writers' generation page;
- `api`: the JSON generation API (including OpenAI-compatible completions);
- `comparison`: the learner's model against the reference, on the writers'
  page (it may run the learner's sampler: never served in public mode).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from aurore import paths


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(paths.ROOT / "templates"),
        static_folder=str(paths.ROOT / "static"),
    )
    app.config.from_mapping(
        PUBLIC=False,          # writers' page + API + static only
        ACCESS_TOKEN=None,     # when set, non-loopback clients must present it
        DATA_DIR=str(paths.data_dir()),
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False  # French text stays readable in JSON answers
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)

    from aurore.web import api, writers

    writers.init_app(app)
    api.init_app(app)
    if not app.config["PUBLIC"]:
        from aurore.web import comparison, workshop

        workshop.init_app(app)
        comparison.init_app(app)
    return app
