/* The language switch's offer: rewrite the untouched starting files in the page's language, then reload. */
"use strict";
(function () {
  const button = document.getElementById("stub-language-button");
  if (!button) return;
  const status = document.getElementById("stub-language-status");
  button.addEventListener("click", async () => {
    const { _, post, errorMessage } = window.Aurore;
    button.disabled = true;
    const answer = await post("/exercises/language", {});
    if (!answer.ok) { status.textContent = errorMessage(answer); button.disabled = false; return; }
    status.textContent = _("%(count)s file(s) rewritten.", { count: answer.data.rewritten });
    window.location.reload();
  });
})();
