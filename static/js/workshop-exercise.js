/* The exercise page: checks (button and watch mode), hints, solution diff, reset. */
"use strict";
(function () {
  const { _, pick, decimal, el, get, post, errorMessage } = window.Aurore;
  const root = document.getElementById("exercise");
  if (!root) return;
  const number = root.dataset.number;
  const base = `/exercises/${number}`;
  const checkButton = document.getElementById("check-button");
  const status = document.getElementById("check-status");
  const results = document.getElementById("check-results");
  const outputBox = document.getElementById("check-output-box");
  const output = document.getElementById("check-output");
  const watch = document.getElementById("watch-toggle");
  const source = document.getElementById("source");
  let mtime = root.dataset.mtime || null;
  const sourceText = document.getElementById("source-text");
  let version = sourceText ? sourceText.dataset.version || null : null;
  // The in-page editor (workshop-editor.js) plugs in here: it saves before a check, and hears of a new file.
  const hooks = { beforeCheck: async () => true, sourceChanged: () => {} };
  // Watch mode notices a save within this (bench/check_timing.py assumes the same rhythm).
  const WATCH_POLL_MS = 500;
  let checking = false;
  let pending = false;
  let waitStarted = null;

  function showReport(report) {
    results.replaceChildren();
    for (const entry of report.checks || []) {
      const passed = entry.outcome === "passed";
      const item = el("li", "check " + (passed ? "passed" : "failed"));
      item.append(el("span", "mark", passed ? "✔" : "✘"), el("span", "title", pick(entry.title)));
      if (entry.message) item.append(el("div", "message", entry.message));
      if (entry.where) item.append(el("div", "where", "→ " + entry.where));
      results.append(item);
    }
    const total = (report.passed || 0) + (report.failed || 0);
    status.className = "check-status " + (report.all_passed ? "ok" : "fail");
    // The time the learner waited (measured here: a cold start, the worker's import…), not pytest's own.
    const seconds = decimal(report.waited !== undefined ? report.waited : report.seconds, 1);
    if (report.all_passed) {
      status.textContent = _("All good: %(passed)s / %(total)s checks passed (%(seconds)s s). Exercise done!",
                             { passed: report.passed, total, seconds });
    } else if (report.syntax_error) {
      status.textContent = _("Python cannot read your file (line %(line)s): fix it, then check again. Your earlier progress is kept.",
                             { line: report.syntax_error.line });
    } else if (report.detail) {
      status.textContent = pick(report.detail);
    } else {
      status.textContent = _("%(passed)s / %(total)s checks passed (%(seconds)s s): read the messages below.",
                             { passed: report.passed, total, seconds });
    }
    output.textContent = report.output || "";
    outputBox.hidden = !report.output || (report.status === "ok" && report.all_passed);
    if (report.status !== "ok") outputBox.open = true;
  }

  function showSource(data, forced) {
    if (data.exists) source.innerHTML = data.html;
    else source.replaceChildren(el("p", "warning", _("The file is missing.")));
    mtime = data.mtime;
    version = data.version;
    hooks.sourceChanged(data, forced);
  }

  async function refreshSource() {
    const answer = await get(`${base}/source`);
    if (answer.ok) showSource(answer.data);
  }

  async function runCheck() {
    if (checking) { pending = true; return; }
    checking = true;
    checkButton.disabled = true;
    status.className = "check-status running";
    status.textContent = _("Checking…");
    root.dataset.state = "checking";
    if (!waitStarted) waitStarted = performance.now();    // from the first try: a busy runner's retries count too
    const answer = await post(`${base}/check`, {});
    checking = false;
    checkButton.disabled = false;
    if (answer.status === 409) {           // another check holds the runner: try again shortly
      setTimeout(runCheck, 1000);
      return;
    }
    if (!answer.ok) {
      waitStarted = null;
      status.className = "check-status fail";
      status.textContent = errorMessage(answer, _("The check failed."));
      root.dataset.state = "error";
      return;
    }
    answer.data.waited = (performance.now() - waitStarted) / 1000;
    waitStarted = null;
    showReport(answer.data);
    root.dataset.state = answer.data.all_passed ? "passed" : "failed";
    root.dataset.checked = "true";
    if (answer.data.all_passed) {
      root.dataset.passed = "true";
      document.getElementById("solution-note").hidden = true;
      const next = document.getElementById("next-exercise");
      if (next) next.hidden = false;
    }
    if (pending) { pending = false; runCheck(); }
  }

  // A save from another editor: the page shows it (and the in-page editor hears of it); watch mode checks it.
  async function poll() {
    const answer = await get(`${base}/mtime`);
    if (answer.ok && answer.data.mtime !== null &&
        (String(answer.data.mtime) !== String(mtime) || answer.data.version !== version)) {
      mtime = answer.data.mtime;
      version = answer.data.version;
      await refreshSource();
      if (watch.checked) runCheck();
    }
    setTimeout(poll, WATCH_POLL_MS);
  }

  checkButton.addEventListener("click", async () => {
    if (!(await hooks.beforeCheck())) return;
    refreshSource();
    runCheck();
  });
  window.AuroreExercise = { hooks, runCheck, showSource };
  watch.addEventListener("change", () => {
    try { localStorage.setItem("aurore-watch", watch.checked ? "1" : "0"); } catch (error) { /* private mode */ }
  });
  try { watch.checked = localStorage.getItem("aurore-watch") === "1"; } catch (error) { /* private mode */ }
  poll();

  // Hints: workshop-hints.js (one ladder per function).

  // The solution, as a diff against the learner's code.
  const diff = document.getElementById("solution-diff");
  const solutionButton = document.getElementById("solution-button");
  solutionButton.addEventListener("click", async () => {
    const passed = root.dataset.passed === "true";
    if (!passed && !window.confirm(solutionButton.dataset.confirm)) return;
    const answer = await get(passed ? `${base}/solution` : `${base}/solution?confirm=1`);
    if (!answer.ok) { diff.textContent = errorMessage(answer); return; }
    diff.innerHTML = answer.data.html;
    if (answer.data.identical) diff.prepend(el("p", "ok", _("Your code is identical to the solution.")));
  });

  // Reset to the starting file, keeping a backup.
  const resetButton = document.getElementById("reset-button");
  const resetStatus = document.getElementById("reset-status");
  resetButton.addEventListener("click", async () => {
    if (!window.confirm(resetButton.dataset.confirm)) return;
    const answer = await post(`${base}/reset`, {});
    if (!answer.ok) { resetStatus.textContent = errorMessage(answer); return; }
    resetStatus.textContent = answer.data.backup
      ? _("File reset. Your version is saved as exercises/%(backup)s.", { backup: answer.data.backup })
      : _("File reset.");
    showSource(answer.data.source, true);     // asked for: the editor takes it even over unsaved changes
  });
})();
