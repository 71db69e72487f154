"""JSON API. (Placeholder until the writers issue lands.)"""

from flask import Blueprint, jsonify

bp = Blueprint("api", __name__)


@bp.get("/health")
def health():
    return jsonify(status="ok")


def init_app(app) -> None:
    app.register_blueprint(bp)
