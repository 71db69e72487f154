"""The sampling settings' one owner: the same defaults and limits for the API, the writers' form and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aurore import cli
from aurore.errors import AuroreError
from aurore.generation import sampling
from aurore.generation.sampling import InvalidField, SamplingParams
from aurore.web import create_app
from tests.fake_generator import FakeGenerator, fake_factory, make_fake_model_dirs


@pytest.fixture
def app(tmp_path):
    make_fake_model_dirs(tmp_path / "models")
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "GENERATION_FACTORY": fake_factory(FakeGenerator())})
    yield app
    app.extensions["aurore_generation"].close()


def form_bounds(page: str, field: str) -> tuple[str, str]:
    """The min and max of the writers' form input `field`."""
    tag = re.search(rf'<input[^>]*id="{field}"[^>]*>', page).group(0)
    return re.search(r'min="([^"]*)"', tag).group(1), re.search(r'max="([^"]*)"', tag).group(1)


#: (setting, its CLI option, the largest value accepted, the smallest refused above it)
LIMITS = [
    ("max_new_tokens", "--max-new-tokens", sampling.MAX_NEW_TOKENS, sampling.MAX_NEW_TOKENS + 1),
    ("temperature", "--temperature", sampling.MAX_TEMPERATURE, sampling.MAX_TEMPERATURE + 0.01),
    ("top_k", "--top-k", sampling.MAX_TOP_K, sampling.MAX_TOP_K + 1),
    ("top_p", "--top-p", 1.0, 1.01),
]


@pytest.mark.parametrize("setting, option, highest, refused", LIMITS, ids=[limit[0] for limit in LIMITS])
def test_each_limit_is_the_same_for_the_api_the_form_and_the_cli(app, tmp_path, capsys, setting, option,
                                                                 highest, refused):
    assert getattr(sampling.checked({setting: highest}), setting) == highest
    with pytest.raises(InvalidField) as refusal:
        sampling.checked({setting: refused})
    assert refusal.value.field == setting and refusal.value.code == "out_of_range"

    client = app.test_client()
    info = client.get("/info").get_json()["limits"][setting]
    assert (info["max"], info["default"]) == (highest, getattr(SamplingParams(), setting))
    assert float(form_bounds(client.get("/generate").get_data(as_text=True), setting)[1]) == highest
    for path in ("/api/generate", "/api/generate/stream"):
        answer = client.post(path, json={"prompt": "Il était", setting: refused})
        assert answer.status_code == 422
        assert answer.get_json()["error"]["message"] == refusal.value.message
        assert answer.get_json()["error"]["field"] == setting
    assert client.post("/api/generate", json={"prompt": "Il était", "max_new_tokens": 2,
                                              setting: highest}).status_code == 200

    missing = str(tmp_path / "no-model")
    assert cli.main(["generate", "--model", missing, option, str(refused)]) == 2
    assert capsys.readouterr().err.strip() == f"aurore: error: {refusal.value.message}"
    assert cli.main(["generate", "--model", missing, option, str(highest)]) == 2
    assert "python -m aurore train" in capsys.readouterr().err    # past the settings: no model there


@pytest.mark.parametrize("stop, accepted", [
    (["."] * sampling.MAX_STOP_STRINGS, True), (["."] * (sampling.MAX_STOP_STRINGS + 1), False),
    (["x" * sampling.MAX_STOP_CHARS], True), (["x" * (sampling.MAX_STOP_CHARS + 1)], False), ([""], False),
])
def test_stop_strings_have_the_same_limits_in_the_api_and_the_cli(app, tmp_path, capsys, stop, accepted):
    answer = app.test_client().post("/api/generate", json={"prompt": "Il", "max_new_tokens": 1, "stop": stop})
    assert answer.status_code == (200 if accepted else 422)
    options = [word for text in stop for word in ("--stop", text)]
    assert cli.main(["generate", "--model", str(tmp_path / "none"), *options]) == 2
    err = capsys.readouterr().err
    assert ("python -m aurore train" in err) == accepted
    if not accepted:
        assert answer.get_json()["error"]["message"] in err


def test_a_server_may_lower_the_new_token_limit_but_not_raise_it(tmp_path):
    assert sampling.checked({"max_new_tokens": 50}, max_new_tokens=50).max_new_tokens == 50
    with pytest.raises(InvalidField, match="from 1 to 50"):
        sampling.checked({"max_new_tokens": 51}, max_new_tokens=50)
    with pytest.raises(InvalidField, match=f"from 1 to {sampling.MAX_NEW_TOKENS}"):
        sampling.checked({"max_new_tokens": sampling.MAX_NEW_TOKENS + 1}, max_new_tokens=10**6)
    make_fake_model_dirs(tmp_path / "models")
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "GENERATION_MAX_NEW_TOKENS": 50,
                      "GENERATION_FACTORY": fake_factory(FakeGenerator())})
    try:
        client = app.test_client()
        assert client.get("/info").get_json()["limits"]["max_new_tokens"]["max"] == 50
        assert form_bounds(client.get("/generate").get_data(as_text=True), "max_new_tokens")[1] == "50"
        error = client.post("/api/generate", json={"prompt": "a", "max_new_tokens": 51}).get_json()["error"]
        assert error["allowed"] == "an integer from 1 to 50"
        error = client.post("/v1/completions", json={"prompt": "a", "max_tokens": 51}).get_json()["error"]
        assert error["field"] == "max_tokens" and "`max_tokens`" in error["message"]
    finally:
        app.extensions["aurore_generation"].close()


def test_the_cli_s_defaults_are_the_settings_defaults():
    parser = cli.build_parser()
    args = parser.parse_args(["generate"])
    assert sampling.checked({name: getattr(args, name) for name in sampling.setting_names()}) == SamplingParams()


def test_a_refusal_is_an_aurore_error_naming_the_field_in_the_caller_s_words():
    with pytest.raises(AuroreError, match="temperature"):
        SamplingParams(temperature=0)
    with pytest.raises(InvalidField) as refusal:
        sampling.checked({"max_new_tokens": True}, names={"max_new_tokens": "max_tokens"})
    assert (refusal.value.field, refusal.value.code) == ("max_tokens", "wrong_type")
    assert str(refusal.value) == "`max_tokens` must be an integer, not a boolean."
    with pytest.raises(InvalidField) as unknown:
        sampling.checked({"temprature": 1.0})
    assert unknown.value.code == "unknown_field" and "temperature" in unknown.value.allowed


def test_a_request_is_checked_once(app, monkeypatch):
    """The API builds SamplingParams once per request: the generator gets that very object."""
    made = []
    real_post_init = SamplingParams.__post_init__
    monkeypatch.setattr(SamplingParams, "__post_init__",
                        lambda self, limit: made.append(self) or real_post_init(self, limit))
    client = app.test_client()
    client.post("/api/generate", json={"prompt": "Il", "max_new_tokens": 2, "seed": 3})
    client.post("/v1/completions", json={"prompt": "Il", "max_tokens": 2})
    assert len(made) == 2
    assert app.extensions["aurore_generation"].get().generator.params_seen == made


# --- FIELDS: a new setting is one entry there ----------------------------------------------

#: A setting no sampler uses: enough to see every place a new one reaches.
THROWAWAY = sampling.Setting("repetition_penalty", sampling.NUMBER, 1.0, low=1, high=2, step=0.1,
                             help="make repeated tokens less likely, 1 to 2 (%(default)s)",
                             label=sampling.N_("Repetition penalty"), form_help=sampling.N_("Fewer repeated words."))


def add_setting(monkeypatch, setting: sampling.Setting) -> None:
    """FIELDS with one more setting and SamplingParams made from it: what one more entry in sampling.py does."""
    fields = (*sampling.FIELDS, setting)
    monkeypatch.setattr(sampling, "FIELDS", fields)
    monkeypatch.setattr(sampling, "SamplingParams", sampling.params_class(fields))


@pytest.fixture
def new_setting(monkeypatch):
    add_setting(monkeypatch, THROWAWAY)
    return THROWAWAY


def test_a_new_setting_reaches_the_cli(new_setting, tmp_path, capsys):
    parser = cli.build_parser()
    assert parser.parse_args(["generate"]).repetition_penalty == 1.0
    assert parser.parse_args(["generate", "--repetition-penalty", "1.5"]).repetition_penalty == 1.5
    assert cli.main(["generate", "--model", str(tmp_path / "none"), "--repetition-penalty", "3"]) == 2
    assert capsys.readouterr().err.strip() == "aurore: error: `repetition_penalty` is 3; it must be in [1, 2]."


def test_a_new_setting_reaches_the_writers_form(new_setting, app):
    client = app.test_client()
    page = client.get("/generate").get_data(as_text=True)
    tag = re.search(r'<input[^>]*id="repetition_penalty"[^>]*>', page).group(0)
    assert 'name="repetition_penalty"' in tag and 'data-setting="number"' in tag and 'value="1.0"' in tag
    assert form_bounds(page, "repetition_penalty") == ("1", "2") and 'step="0.1"' in tag
    # Its texts are msgids: English until translations/ has their French (test_i18n: the real settings' have it).
    assert '<label for="repetition_penalty">Repetition penalty</label>' in page
    assert '<label for="repetition_penalty">Repetition penalty</label>' in client.get("/generate?lang=en").get_data(
        as_text=True)
    assert '<label for="temperature">Température</label>' in page


def test_a_new_setting_reaches_the_json_api_and_samplingparams(new_setting, app):
    client = app.test_client()
    assert client.get("/info").get_json()["limits"]["repetition_penalty"] == {"min": 1, "max": 2, "default": 1.0}
    answer = client.post("/api/generate", json={"prompt": "Il", "max_new_tokens": 2, "repetition_penalty": 1.5})
    assert answer.status_code == 200
    seen = app.extensions["aurore_generation"].get().generator.params_seen[-1]
    assert isinstance(seen, sampling.SamplingParams) and seen.repetition_penalty == 1.5
    refused = client.post("/api/generate", json={"prompt": "Il", "repetition_penalty": 3}).get_json()["error"]
    assert (refused["field"], refused["code"]) == ("repetition_penalty", "out_of_range")


def test_writers_js_reads_the_settings_from_the_form_not_by_name():
    """A new setting needs no change in writers.js: it looks up none of the form's by name (`$("top_k")`)."""
    script = (Path(__file__).resolve().parent.parent / "static" / "js" / "writers.js").read_text(encoding="utf-8")
    on_the_form = [setting.name for setting in sampling.FIELDS if setting.label]
    assert [name for name in on_the_form if re.search(f"[\"']{name}[\"']", script)] == []


def test_export_takes_generate_s_option_names_and_still_the_old_sampler(capsys):
    parser = cli.build_parser()
    export_args = parser.parse_args(["export", "--out", "o", "--strategy", "greedy", "--top-k", "5"])
    assert (export_args.strategy, export_args.top_k) == ("greedy", 5)
    assert parser.parse_args(["export", "--out", "o"]).strategy == SamplingParams().strategy
    assert parser.parse_args(["export", "--out", "o", "--sampler", "top_k"]).strategy == "top_k"
    assert "--sampler is deprecated: use --strategy." in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args(["export", "--out", "o", "--sampler", "beam"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        parser.parse_args(["export", "--help"])
    shown = capsys.readouterr().out
    assert "--strategy" in shown and "--sampler" not in shown and "--stop" not in shown


def test_each_choice_on_the_form_is_a_choice_the_api_accepts():
    for setting in sampling.FIELDS:
        if setting.kind == sampling.CHOICE:
            assert sorted(value for value, _label in setting.options) == sorted(setting.choices), setting.name
