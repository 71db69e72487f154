/* The environment page: the GPU probe loads TensorFlow in a subprocess, so it is fetched after the page. */
"use strict";
(async function () {
  const cell = document.getElementById("gpu");
  if (!cell) return;
  cell.textContent = cell.dataset.searching;
  const answer = await window.Aurore.get("/environment/gpu");
  if (!answer.ok || !answer.data.ok) {
    // A refused request says why in its error object; a probe that failed, in its `error` text.
    const why = answer.ok ? answer.data.error : window.Aurore.errorMessage(answer);
    cell.textContent = `${cell.dataset.error} ${why || ""}`;
    cell.className = "missing";
  } else if (answer.data.devices.length) {
    cell.textContent = `${cell.dataset.found} ${answer.data.devices.join(", ")}`;
  } else {
    cell.textContent = cell.dataset.none;
  }
})();
