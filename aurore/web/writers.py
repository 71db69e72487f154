"""Writers' generation page. (Placeholder until the writers issue lands.)"""

from flask import Blueprint, render_template

bp = Blueprint("writers", __name__)


@bp.get("/generate")
def page():
    return render_template("base.html")


def init_app(app) -> None:
    app.register_blueprint(bp)
