/* The environment page's GPU row. First what the system shows, at once (no NVIDIA device: no GPU for
   TensorFlow); only when there is a GPU, TensorFlow's own probe, which loads it in a subprocess (seconds):
   the row says so meanwhile. */
"use strict";
(async function () {
  const cell = document.getElementById("gpu");
  if (!cell) return;
  const { get, errorMessage } = window.Aurore;

  function failed(answer) {
    // A refused request says why in its error object; a probe that failed, in its `error` text.
    const why = answer.ok ? answer.data.error : errorMessage(answer);
    cell.textContent = `${cell.dataset.error} ${why || ""}`;
    cell.className = "missing";
  }

  cell.textContent = cell.dataset.looking;
  const seen = await get("/environment/gpu?quick=1");
  if (!seen.ok || !seen.data.ok) { failed(seen); return; }
  if (seen.data.known && !seen.data.devices.length) { cell.textContent = cell.dataset.none; return; }
  cell.textContent = seen.data.devices.length
    ? `${cell.dataset.seen} ${seen.data.devices.join(", ")} — ${cell.dataset.searching}`
    : cell.dataset.searching;
  const answer = await get("/environment/gpu");
  if (!answer.ok || !answer.data.ok) failed(answer);
  else if (answer.data.devices.length) cell.textContent = `${cell.dataset.found} ${answer.data.devices.join(", ")}`;
  else cell.textContent = cell.dataset.none;
})();
