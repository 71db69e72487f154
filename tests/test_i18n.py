"""Translations: every page text is in the catalogue, French has them all, one language choice, local numbers.

The texts are gettext's (Flask-Babel): English msgids, translations/<lang>/LC_MESSAGES/messages.po,
compiled when the app starts (aurore/web/translations.py). README "Translations" says how to add one.
"""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from aurore import paths
from aurore.web import create_app, language
from aurore.web.writers import comparison, page as writers_page
from tests.ui_literals import script_literals, template_literals

ROOT = paths.ROOT
TEMPLATES = sorted((ROOT / "templates").glob("**/*.html"))
SCRIPTS = sorted((ROOT / "static" / "js").glob("**/*.js"))


def app_for(tmp_path, **config):
    return create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True, "CHECK_WORKER": False, **config})


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


# -- (1) no page text outside the catalogue -----------------------------------------------------
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_templates_hold_no_text_outside_the_catalogue(template):
    assert template_literals(template.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_scripts_hold_no_text_outside_the_catalogue(script):
    assert script_literals(script.read_text(encoding="utf-8")) == []


def test_the_checks_see_a_french_sentence_added_to_a_template():
    source = (ROOT / "templates" / "workshop" / "home.html").read_text(encoding="utf-8")
    sentence = "Bienvenue dans l'atelier !"
    for planted in (source.replace("<h2>", f"<p>{sentence}</p>\n<h2>", 1),                    # a text node
                    source.replace("<h2>", f'<h2 title="{sentence}">', 1),                  # an attribute
                    source.replace("<h2>", "<h2>{{ 'Welcome' if en else 'Bienvenue' }}", 1),  # a language switch
                    source.replace("<h2>", "<h2>{{ \"Bienvenue à l'atelier\" }}", 1)):       # a literal expression
        assert template_literals(planted), planted[:200]
    assert template_literals(source.replace("<h2>", "<h2>{{ _('Welcome to the workshop!') }}", 1)) == []


def test_the_checks_see_a_french_sentence_added_to_a_script():
    source = (ROOT / "static" / "js" / "workshop-exercise.js").read_text(encoding="utf-8")
    anchor = '  checkButton.addEventListener("click"'
    assert anchor in source
    for line in ('  status.textContent = "Enregistré";\n',                                   # straight to the page
                 '  const note = "Votre code a été enregistré.";\n',                          # a sentence anywhere
                 '  results.append(el("li", "check", "Vérifiez votre code"));\n',             # el's text
                 '  const later = `Réessayez dans ${seconds} s.`;\n',                         # a template literal
                 '  const hidden = `(${_("your code")})`;\n'):                              # a msgid pybabel misses
        assert script_literals(source.replace(anchor, line + anchor, 1)), line
    assert script_literals(source.replace(anchor, '  status.textContent = _("Saved.");\n' + anchor, 1)) == []


# -- (2) French has every message ---------------------------------------------------------------
@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages as `pybabel extract -F babel.cfg -o messages.pot .` finds them (README, Translations)."""
    pot = tmp_path_factory.mktemp("catalogue") / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(pot), str(ROOT)])
    with pot.open("rb") as source:
        return read_po(source)


def catalogue(lang: str):
    with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=lang)


def test_the_french_catalogue_translates_every_extracted_message(extracted):
    assert len(extracted) > 100, "the extraction found the pages' texts"
    french = catalogue("fr")
    missing = [message.id for message in extracted if message.id
               and not (french.get(message.id, message.context) and french.get(message.id, message.context).string)]
    fuzzy = [message.id for message in french if message.id and message.fuzzy]
    assert missing == [], "pybabel update -i messages.pot -d translations, then translate these"
    assert fuzzy == [], "check these translations and remove their `fuzzy` flag"
    assert [(message.id, errors) for message, errors in french.check()] == []   # the same %(name)s in both


def test_the_catalogues_hold_no_message_the_pages_lost(extracted):
    for lang in language.LANGUAGES:
        stale = [message.id for message in catalogue(lang) if message.id and extracted.get(message.id, message.context)
                 is None]
        assert stale == [], f"{lang}: pybabel update -i messages.pot -d translations drops them"


def test_a_fuzzy_or_empty_translation_falls_back_to_english(tmp_path):
    po = tmp_path / "fr" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  '#, fuzzy\nmsgid "Your progress"\nmsgstr "Progrès douteux"\n\n'
                  'msgid "Agenda"\nmsgstr ""\n', encoding="utf-8")
    page = app_for(tmp_path, BABEL_TRANSLATION_DIRECTORIES=str(tmp_path)).test_client().get("/")
    text = page.get_data(as_text=True)
    assert "Your progress" in text and "Progrès douteux" not in text and ">Agenda<" in text


# -- (3) a third language is a .po file and one line --------------------------------------------
def test_a_third_language_is_a_catalogue_and_one_line(tmp_path):
    spanish = tmp_path / "extra" / "es" / "LC_MESSAGES" / "messages.po"
    spanish.parent.mkdir(parents=True)
    spanish.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
                       'msgid "The neural network that wrote novels"\n'
                       'msgstr "La red neuronal que escribía novelas"\n', encoding="utf-8")
    app = app_for(tmp_path, LANGUAGES=(*language.LANGUAGES, "es"),     # the one line (language.LANGUAGES)
                  BABEL_TRANSLATION_DIRECTORIES=f"{ROOT / 'translations'};{tmp_path / 'extra'}")
    client = app.test_client()
    page = client.get("/?lang=es")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and html_lang(page) == "es"
    assert "<h1>La red neuronal que escribía novelas</h1>" in text
    assert "Your progress" in text and "Exercise 1 — " in text      # the rest: the English msgids, English course texts
    assert 'href="?lang=es" aria-current="true" lang="es">ES</a>' in text
    assert "Votre progression" in client.get("/?lang=fr").get_data(as_text=True)
    assert html_lang(client.get("/exercises/1?lang=es")) == "es"


# -- (4) one language choice: URL, then the session, then Accept-Language, else French ----------
ENGLISH_FIRST = {"Accept-Language": "en-GB,en;q=0.9,fr;q=0.8"}


def test_accept_language_is_read_in_its_order(tmp_path):
    client = app_for(tmp_path).test_client()
    assert html_lang(client.get("/", headers=ENGLISH_FIRST)) == "en"
    assert html_lang(client.get("/", headers={"Accept-Language": "de-DE,fr;q=0.9,en;q=0.8"})) == "fr"
    assert html_lang(client.get("/", headers={"Accept-Language": "de, en;q=0.5"})) == "en"
    assert html_lang(client.get("/", headers={"Accept-Language": "de, it"})) == "fr"     # none offered: French
    assert html_lang(client.get("/")) == "fr"                                             # none said: French


def test_the_remembered_choice_beats_accept_language_and_the_url_beats_both(tmp_path):
    client = app_for(tmp_path).test_client()
    assert html_lang(client.get("/exercises?lang=fr", headers=ENGLISH_FIRST)) == "fr"     # the URL beats the browser
    assert html_lang(client.get("/", headers=ENGLISH_FIRST)) == "fr"                      # remembered (the session)
    assert html_lang(client.get("/generate", headers=ENGLISH_FIRST)) == "fr"              # on every page
    assert html_lang(client.get("/?lang=en", headers={"Accept-Language": "fr"})) == "en"  # the URL beats both
    assert html_lang(client.get("/run", headers={"Accept-Language": "fr"})) == "en"
    assert html_lang(client.get("/?lang=xx", headers={"Accept-Language": "fr"})) == "en"  # not offered: ignored


def test_without_sessions_a_public_page_follows_its_url_then_the_browser(tmp_path):
    client = app_for(tmp_path, PUBLIC=True).test_client()
    assert html_lang(client.get("/generate?lang=en")) == "en"
    assert html_lang(client.get("/generate")) == "fr"
    assert html_lang(client.get("/generate", headers=ENGLISH_FIRST)) == "en"


def test_scripts_get_the_page_language_s_catalogue(tmp_path):
    client = app_for(tmp_path).test_client()
    french = client.get("/run").get_data(as_text=True)
    messages = re.search(r'id="aurore-messages">(.*?)</script>', french).group(1)
    assert '"succeeded": "réussi"' in messages and '"Checking…": "Vérification en cours…"' in messages
    assert 'id="aurore-messages">{}</script>' in client.get("/run?lang=en").get_data(as_text=True)


# -- (5) numbers as each language writes them -----------------------------------------------------
def test_a_figure_reads_1_682_in_french_and_1_682_in_english(tmp_path, monkeypatch):
    fake_pool = types.SimpleNamespace(names=lambda: ["tiny", "tiny-mine"], models_dir=tmp_path / "models")
    monkeypatch.setattr(writers_page, "pool", lambda: fake_pool)
    monkeypatch.setattr(comparison, "pool", lambda: fake_pool)
    cards = {"tiny": {"name": "tiny", "mine": False, "test_bits_per_character": 1.6823, "step": 3,
                      "baseline": {"xz_bits_per_character": 2.5}},
             "tiny-mine": {"name": "tiny-mine", "mine": True, "test_bits_per_character": None, "step": 3,
                           "baseline": None}}
    monkeypatch.setattr(comparison, "model_card", cards.get)
    client = app_for(tmp_path).test_client()
    french = client.get("/generate").get_data(as_text=True)
    english = client.get("/generate?lang=en").get_data(as_text=True)
    assert "<strong>1,682</strong> bits par caractère" in french and "fait 2,50 bits" in french
    assert "<strong>1.682</strong> bits per character" in english and "makes 2.50 bits" in english


def test_the_run_page_names_a_job_s_status_in_the_page_language(tmp_path):
    app = app_for(tmp_path)
    runner = app.extensions["aurore_jobs"]
    runner.history = lambda limit: [{"id": "20260101-000000-abcd", "step": "train", "variant": "exercise",
                                     "status": "succeeded", "options": {"preset": "tiny"}}]
    client = app.test_client()
    french, english = (client.get(f"/run?lang={lang}").get_data(as_text=True) for lang in ("fr", "en"))
    assert "train (votre code, tiny) :" in french and '<span class="badge ok">réussi</span>' in french
    assert "train (your code, tiny) :" in english and '<span class="badge ok">succeeded</span>' in english
