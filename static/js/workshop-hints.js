/* The exercise page's hints: one ladder per function (the idea, where to look, the code), one rung at a time. */
"use strict";
(function () {
  for (const ladder of document.querySelectorAll(".hint-ladder")) {
    const rungs = Array.from(ladder.querySelectorAll(".hint"));
    const button = ladder.querySelector(".hint-button");
    const count = ladder.querySelector(".hint-count");
    button.disabled = rungs.length === 0;
    button.addEventListener("click", () => {
      const next = rungs.find((rung) => rung.hidden);
      if (next) next.hidden = false;
      const shown = rungs.filter((rung) => !rung.hidden).length;
      count.textContent = shown;
      button.disabled = shown === rungs.length;
    });
  }
})();
