/* The run page: start a step as a background job, stream its events (SSE), cancel it.
   A reload reattaches to the running job; a finished job's log stays visible. */
"use strict";
(function () {
  const { t, get, post } = window.Aurore;
  const form = document.getElementById("run-form");
  const runButton = document.getElementById("run-button");
  const cancelButton = document.getElementById("cancel-button");
  const errorLine = document.getElementById("run-error");
  const jobBox = document.getElementById("job");
  const title = document.getElementById("job-title");
  const statusBadge = document.getElementById("job-status");
  const log = document.getElementById("job-log");
  const task = document.getElementById("job-task");
  const bar = document.getElementById("job-bar");
  const count = document.getElementById("job-count");
  const figure = document.getElementById("loss-figure");
  const text = document.getElementById("job-text");
  const chart = window.AuroreChart(document.getElementById("loss-chart"));
  const statusText = {
    running: t("en cours", "running"), cancelling: t("annulation…", "cancelling…"),
    succeeded: t("réussi", "succeeded"), failed: t("échoué", "failed"),
    cancelled: t("annulé", "cancelled"), interrupted: t("interrompu", "interrupted"),
  };
  let source = null;
  let current = null;
  let evaluated = false;

  function setStatus(status) {
    statusBadge.textContent = statusText[status] || status;
    statusBadge.className = "badge " + ({ succeeded: "ok", failed: "fail", interrupted: "fail" }[status] || "todo");
    jobBox.dataset.status = status;
    const running = status === "running" || status === "cancelling";
    runButton.disabled = running;
    cancelButton.hidden = !running;
  }

  function appendLog(text, className) {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 5;
    const line = document.createElement("span");
    if (className) line.className = className;
    line.textContent = text + "\n";
    log.append(line);
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function metricsOf(event) {
    const values = event.event === "metrics" ? event : (event.metrics || {});
    const step = values.step !== undefined ? values.step : event.done;
    return [step, values];
  }

  function handle(event) {
    if (event.event === "progress") {
      task.textContent = event.task || "";
      if (event.total) { bar.max = event.total; bar.value = event.done; count.textContent = `${event.done} / ${event.total} ${event.unit || ""}`; }
      else { bar.removeAttribute("value"); count.textContent = `${event.done} ${event.unit || ""}`; }
      // The per-batch loss of progress events draws the curve until evaluations (metrics events) come.
      const [step, values] = metricsOf(event);
      if (!evaluated && chart.add(step, { loss: values.loss, val_loss: values.val_loss })) figure.hidden = false;
    } else if (event.event === "metrics") {
      const [step, values] = metricsOf(event);
      if (!evaluated && values.loss !== undefined) { chart.clear(); evaluated = true; }
      if (chart.add(step, values)) figure.hidden = false;
      const shown = Object.entries(event).filter(([k]) => !["event", "seq", "t", "message"].includes(k))
        .map(([k, v]) => `${k}=${typeof v === "number" ? Number(v.toPrecision(4)) : JSON.stringify(v)}`).join(" ");
      appendLog(event.message || `[${t("mesure", "metrics")}] ${shown}`);
    } else if (event.event === "piece") {
      text.hidden = false;
      text.append(event.text || "");
    } else if (event.event === "log" || event.message !== undefined) {
      appendLog(event.message, event.raw ? "raw" : "");
    } else {
      const rest = Object.fromEntries(Object.entries(event).filter(([k]) => !["seq", "t"].includes(k)));
      appendLog(JSON.stringify(rest));
    }
  }

  function follow(job) {
    if (source) source.close();
    current = job;
    jobBox.hidden = false;
    title.textContent = `${job.step} (${job.variant === "solution" ? t("solution", "solution") : t("votre code", "your code")})`;
    log.textContent = "";
    text.textContent = "";
    text.hidden = true;
    chart.clear();
    evaluated = false;
    figure.hidden = true;
    bar.value = 0; count.textContent = ""; task.textContent = "";
    setStatus(job.status);
    source = new EventSource(`/jobs/${job.id}/events`);
    source.onmessage = (message) => handle(JSON.parse(message.data));
    source.addEventListener("end", (message) => {
      source.close();
      source = null;
      const record = JSON.parse(message.data);
      setStatus(record.status);
      if (record.status === "succeeded") appendLog(t("— Terminé avec succès.", "— Finished successfully."));
      else if (record.status === "cancelled") appendLog(t("— Annulé.", "— Cancelled."));
      else if (record.status === "interrupted") appendLog(t("— Interrompu (l'application s'est arrêtée pendant l'exécution).", "— Interrupted (the app stopped during the run)."));
      else appendLog(t(`— Échec (code ${record.returncode}) : lisez les dernières lignes ci-dessus.`, `— Failed (exit code ${record.returncode}): read the last lines above.`));
    });
  }

  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    errorLine.textContent = "";
    const data = new FormData(form);
    const answer = await post("/jobs", { step: data.get("step"), variant: data.get("variant") });
    if (!answer.ok) { errorLine.textContent = answer.data.error || t("Impossible de lancer l'étape.", "Could not start the step."); return; }
    follow(answer.data);
  });

  cancelButton.addEventListener("click", async () => {
    if (!current) return;
    setStatus("cancelling");
    await post(`/jobs/${current.id}/cancel`, {});
  });

  document.querySelectorAll("#history a[data-job]").forEach((link) => link.addEventListener("click", async (clicked) => {
    clicked.preventDefault();
    const answer = await get(`/jobs/${link.dataset.job}`);
    if (answer.ok) follow(answer.data.job);
  }));

  // Reattach to the running job (or show the latest one) on load.
  (async function () {
    const answer = await get("/jobs/current");
    if (answer.ok && answer.data.job) follow(answer.data.job);
  })();
})();
