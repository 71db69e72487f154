"""The web layer's one JSON error shape (aurore/web/errors.py), and the import loop it ended.

Whichever part refuses (the API, the comparison, the writers' page, the
workshop, the guard, a rate limit), a JSON error answer is
{"error": {"message", "type", "code", "param", "field"[, "allowed"]}} and
nothing beside it, so one reader (an OpenAI client, writers.js,
workshop-common.js) understands them all.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from aurore import paths
from aurore.web.workshop import pages
from tests.test_api import make_app  # noqa: F401  (fixture)

SHAPE = {"message", "type", "code", "param", "field"}
GENERATE = {"prompt": "La nuit", "max_new_tokens": 2}


def csrf(client) -> dict:
    page = client.get("/generate").get_data(as_text=True)
    return {"X-CSRF-Token": page.split('name="csrf-token" content="')[1].split('"')[0]}


# Each refusal: (response, its status, words of its message). Pages without `?lang=` answer in French.

def api_invalid_field(make_app):
    refused = make_app().test_client().post("/api/generate", json={**GENERATE, "temperature": 0})
    return refused, 422, "temperature"


def api_unknown_path(make_app):
    return make_app().test_client().get("/v1/nowhere"), 404, "No API endpoint"


def api_rate_limit(make_app):
    client = make_app(RATE_LIMIT_PER_MINUTE=1, RATE_LIMIT_BURST=1).test_client()
    client.post("/api/generate", json=GENERATE)
    return client.post("/api/generate", json=GENERATE), 429, "Too many requests"


def requests_in_flight(make_app):
    client = make_app(PUBLIC=True, MAX_IN_FLIGHT_PER_CLIENT=1).test_client()
    client.get("/health")               # the test client never closes its answers: this one holds the place
    return client.get("/health"), 429, "at once"


def guard_on_api_path(make_app):
    return make_app(ACCESS_TOKEN="s3cret").test_client().get("/v1/models"), 403, "access token"


def guard_on_unknown_api_path(make_app):
    """Refused before routing, outside any blueprint: the app-wide handler (`security.refused`) answers."""
    return make_app(ACCESS_TOKEN="s3cret").test_client().get("/api/nowhere"), 403, "access token"


def comparison_bad_field(make_app):
    client = make_app().test_client()
    body = {"prompt": "La nuit", "mine": "cpu", "reference": "cpu", "sampler": "mine"}
    return client.post("/generate/compare", json=body, headers=csrf(client)), 422, "`sampler`"


def comparison_without_form_token(make_app):
    body = {"prompt": "La nuit", "mine": "cpu", "reference": "cpu"}
    return make_app().test_client().post("/generate/compare", json=body), 403, "rechargez la page"


def writers_memorisation(make_app):
    return make_app().test_client().post("/generate/memorisation", json={}), 422, "`text`"


def workshop_bad_job(make_app):
    client = make_app().test_client()
    return client.post("/jobs", json={"step": "rm -rf"}, headers=csrf(client)), 404, "Étape inconnue"


def workshop_check_busy(make_app):
    client = make_app().test_client()
    headers = csrf(client)
    with pages._check_lock:             # another check is running
        return client.post("/exercises/1/check", headers=headers), 409, "déjà en cours"


def workshop_solution_too_early(make_app):
    return make_app().test_client().get("/exercises/1/solution"), 403, "passe les vérifications"


def workshop_without_form_token(make_app):
    return make_app().test_client().post("/exercises/1/reset"), 403, "rechargez la page"


REFUSALS = (api_invalid_field, api_unknown_path, api_rate_limit, requests_in_flight, guard_on_api_path,
            guard_on_unknown_api_path, comparison_bad_field, comparison_without_form_token, writers_memorisation, workshop_bad_job,
            workshop_check_busy, workshop_solution_too_early, workshop_without_form_token)


@pytest.mark.parametrize("refuse", REFUSALS, ids=[refuse.__name__ for refuse in REFUSALS])
def test_every_json_error_has_the_one_shape(make_app, refuse):
    response, status, words = refuse(make_app)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.content_type
    body = response.get_json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert set(error) - {"allowed"} == SHAPE, error
    assert words in error["message"], error
    assert isinstance(error["type"], str) and isinstance(error["code"], str), error
    assert error["param"] == error["field"], error


def test_the_guard_does_not_import_the_api():
    """security and the API share aurore.web.errors, not each other: no import loop between them."""
    code = "import sys, aurore.web.security; print('aurore.web.writers.api' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
