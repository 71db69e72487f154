/* Shared helpers of the workshop pages: JSON fetches with the CSRF token, error messages, language. */
"use strict";
window.Aurore = (function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const lang = document.documentElement.lang === "en" ? "en" : "fr";

  function t(fr, en) { return lang === "en" ? en : fr; }

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
               data: { error: { message: t("Le serveur ne répond pas.", "The server does not answer.") } } };
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

  return { lang, t, el, errorMessage, get: (url) => request("GET", url), post: (url, body) => request("POST", url, body) };
})();
