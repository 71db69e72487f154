/* Shared helpers of the pages: JSON fetches with the CSRF token, error messages, the language's texts and numbers.
   The texts are gettext's: `_("English msgid", {name: value})` reads the page's catalogue, which base.html
   embeds (aurore/web/translations.py; `pybabel extract` finds the msgids here as in the templates). */
"use strict";
window.Aurore = (function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const lang = document.documentElement.lang || "fr";
  const catalogue = document.getElementById("aurore-messages");
  const messages = catalogue ? JSON.parse(catalogue.textContent) : {};

  /** A text with its `%(name)s` values filled in (and `%%` as %), as Python's gettext does. */
  function format(text, values) {
    if (!values) return text;
    return text.replace(/%\((\w+)\)s|%%/g, (whole, name) => (whole === "%%" ? "%" : (name in values ? String(values[name]) : whole)));
  }

  /** The page language's translation of an English msgid (the msgid itself when there is none). */
  function _(msgid, values) { return format(messages[msgid] || msgid, values); }

  /** The same, for a msgid that needs a context (one English word, two French ones). */
  function pgettext(context, msgid, values) { return format(messages[context + "\u0004" + msgid] || msgid, values); }

  /** A course text (`{"fr": …, "en": …}`, from the server) in the page's language, else English. */
  function pick(texts) { return (texts && (texts[lang] || texts.en)) || ""; }

  /** A number as the page's language writes it, with exactly `digits` decimals ("1,682" in French). */
  function decimal(value, digits) {
    if (typeof value !== "number" || !Number.isFinite(value)) return "—";
    return new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  }

  async function request(method, url, body) {
    const options = { method, headers: { Accept: "application/json", "X-Requested-With": "fetch" },
                      credentials: "same-origin" };
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = meta ? meta.content : "";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      return { ok: false, status: 0,
               data: { error: { message: _("The server does not answer.") } } };
    }
    let data = {};
    try { data = await response.json(); } catch (error) { data = {}; }
    return { ok: response.ok, status: response.status, data };
  }

  // A refused request's message: errors are {"error": {"message", "type", "code", …}} (aurore/web/errors.py).
  function errorMessage(answer, fallback) {
    const error = answer && answer.data && answer.data.error;
    return (error && error.message) || fallback || "";
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  return { lang, _, pgettext, pick, decimal, el, errorMessage,
           get: (url) => request("GET", url), post: (url, body) => request("POST", url, body) };
})();
