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
  // Watch mode notices a save within this (bench/check_timing.py assumes the same rhythm).
  const WATCH_POLL_MS = 500;
  let checking = false;
  let pending = false;

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
    if (report.all_passed) {
      status.textContent = _("All good: %(passed)s / %(total)s checks passed (%(seconds)s s). Exercise done!",
                             { passed: report.passed, total, seconds: decimal(report.seconds, 1) });
    } else if (report.detail) {
      status.textContent = pick(report.detail);
    } else {
      status.textContent = _("%(passed)s / %(total)s checks passed (%(seconds)s s): read the messages below.",
                             { passed: report.passed, total, seconds: decimal(report.seconds, 1) });
    }
    output.textContent = report.output || "";
    outputBox.hidden = !report.output || (report.status === "ok" && report.all_passed);
    if (report.status !== "ok") outputBox.open = true;
  }

  async function refreshSource() {
    const answer = await get(`${base}/source`);
    if (answer.ok) {
      if (answer.data.exists) source.innerHTML = answer.data.html;
      else source.replaceChildren(el("p", "warning", _("The file is missing.")));
      mtime = answer.data.mtime;
    }
  }

  async function runCheck() {
    if (checking) { pending = true; return; }
    checking = true;
    checkButton.disabled = true;
    status.className = "check-status running";
    status.textContent = _("Checking…");
    root.dataset.state = "checking";
    const answer = await post(`${base}/check`, {});
    checking = false;
    checkButton.disabled = false;
    if (answer.status === 409) {           // another check holds the runner: try again shortly
      setTimeout(runCheck, 1000);
      return;
    }
    if (!answer.ok) {
      status.className = "check-status fail";
      status.textContent = errorMessage(answer, _("The check failed."));
      root.dataset.state = "error";
      return;
    }
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

  async function poll() {
    if (watch.checked) {
      const answer = await get(`${base}/mtime`);
      if (answer.ok && answer.data.mtime !== null && String(answer.data.mtime) !== String(mtime)) {
        mtime = answer.data.mtime;
        refreshSource();
        runCheck();
      }
    }
    setTimeout(poll, WATCH_POLL_MS);
  }

  checkButton.addEventListener("click", () => { refreshSource(); runCheck(); });
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
    source.innerHTML = answer.data.source.html;
    mtime = answer.data.source.mtime;
  });
})();
