/* The access token, kept in this origin's storage (the port is part of the origin), never in a cookie that a
   server on another port of the same host could receive. On the landing page (?token=…) it is stored, then the
   address opens without it; on every page it goes with each same-origin fetch as X-Aurore-Token, which the
   server requires for actions (a check, a run). Loaded first by base.html, before the pages' scripts. */
"use strict";
(function () {
  const KEY = "aurore-token";
  const script = document.currentScript;
  let token = null;
  try { token = window.localStorage.getItem(KEY); } catch (error) { token = null; }
  if (script && script.dataset.token) {
    token = script.dataset.token;
    try { window.localStorage.setItem(KEY, token); } catch (error) { /* private mode: actions will say so */ }
    window.location.replace(script.dataset.next || "/");
    return;
  }
  if (!token) return;
  const originalFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url, window.location.href);
    if (url.origin !== window.location.origin) return originalFetch(input, init);
    const options = Object.assign({}, init);
    const headers = new Headers(options.headers || (input instanceof Request ? input.headers : undefined));
    headers.set("X-Aurore-Token", token);
    options.headers = headers;
    return originalFetch(input, options);
  };
})();
