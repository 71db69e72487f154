"""Learners' pages. (Placeholder until the workshop issue lands.)"""

from flask import Blueprint, render_template

bp = Blueprint("workshop", __name__)


@bp.get("/")
def home():
    return render_template("base.html")


def init_app(app) -> None:
    app.register_blueprint(bp)
