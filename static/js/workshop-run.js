/* The run page: start a step as a background job, stream its events (SSE), cancel it.
   A reload reattaches to the running job; a finished job's log stays visible.
   Training also streams samples (a timeline beside the loss curve) and, at the end, its evaluation. */
"use strict";
(function () {
  const { _, decimal, el, get, post, errorMessage } = window.Aurore;
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
  const chart = window.AuroreChart(document.getElementById("loss-chart"), document.getElementById("loss-summary"));
  const stepSelect = document.getElementById("run-step");
  const modelLine = document.getElementById("run-model");
  const modelDir = document.getElementById("run-model-dir");
  const samples = document.getElementById("samples");
  const samplesList = document.getElementById("samples-list");
  const samplesAbout = document.getElementById("samples-about");
  const evaluation = document.getElementById("evaluation");
  const evaluationRows = document.getElementById("evaluation-rows");
  const evaluationReference = document.getElementById("evaluation-reference");
  // A job's status as the page names it (run.html's history names them alike).
  const statusText = {
    running: _("running"), cancelling: _("cancelling…"), succeeded: _("succeeded"), failed: _("failed"),
    cancelled: _("cancelled"), interrupted: _("interrupted"),
  };
  let source = null;
  let current = null;

  const badgeClass = (status) => ({ succeeded: "ok", failed: "fail", interrupted: "fail" }[status] || "todo");
  const history = document.getElementById("history");

  // "Latest runs" follows the job the page shows: it is added when it starts, its status kept live.
  function showInHistory(job) {
    let item = history.querySelector(`li[data-job-id="${CSS.escape(job.id)}"]`);
    if (!item) {
      history.querySelectorAll("li.muted").forEach((empty) => empty.remove());
      item = el("li");
      item.dataset.jobId = job.id;
      const link = el("a", "", job.id);
      link.href = "#";
      link.dataset.job = job.id;
      link.addEventListener("click", openFromHistory);
      const code = job.variant === "solution" ? _("solution") : _("your code");
      const preset = job.options && job.options.preset ? `, ${job.options.preset}` : "";
      item.append(link, ` — ${job.step} (${code}${preset}) : `, el("span", "badge"));
      history.prepend(item);
    }
    const badge = item.querySelector(".badge");
    badge.textContent = statusText[job.status] || job.status;
    badge.className = "badge " + badgeClass(job.status);
  }

  function setStatus(status) {
    statusBadge.textContent = statusText[status] || status;
    statusBadge.className = "badge " + badgeClass(status);
    jobBox.dataset.status = status;
    if (current) showInHistory({ ...current, status });
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

  // -- options: shown for the steps that take them; the model folder they lead to
  function optionFields() {
    return Array.from(document.querySelectorAll(".run-option")).filter((field) =>
      (field.dataset.steps || "").split(" ").includes(stepSelect.value));
  }

  function showOptions() {
    document.querySelectorAll(".run-option").forEach((field) => { field.hidden = true; });
    const fields = optionFields();
    fields.forEach((field) => { field.hidden = false; });
    document.querySelectorAll(".run-note").forEach((note) => {
      note.hidden = !(note.dataset.steps || "").split(" ").includes(stepSelect.value);
    });
    const preset = fields.find((field) => field.dataset.option === "preset");
    modelLine.hidden = !preset;
    if (preset) {
      const variant = new FormData(form).get("variant");
      modelDir.textContent = `${modelLine.dataset.modelsDir}${preset.querySelector("select").value}${variant === "exercise" ? "-mine" : ""}`;
    }
  }

  function chosenOptions() {
    const options = {};
    for (const field of optionFields()) {
      const input = field.querySelector("select, input");
      if (!input) continue;                 // a note beside an option (the training time's), not a field
      const name = field.dataset.option;
      options[name] = input.type === "checkbox" ? input.checked : (input.type === "number" ? Number(input.value) : input.value);
    }
    return options;
  }

  // -- samples and evaluation
  // A barely trained model writes stray control bytes: show them as "�", not as invisible characters.
  const visible = (value) => String(value || "").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "\ufffd");

  function addSample(event) {
    samples.hidden = false;
    samplesAbout.textContent = _("\"%(prompt)s\", seed %(seed)s, at every evaluation:",
                                 { prompt: event.prompt, seed: event.seed });
    const item = el("li", "sample");
    item.dataset.step = event.step;
    item.append(el("span", "sample-step", _("step %(step)s", { step: event.step })), " ",
                el("span", "sample-prompt", event.prompt), el("span", "sample-text", visible(event.text)));
    samplesList.append(item);
  }

  function showEvaluation(report) {
    evaluation.hidden = false;
    evaluationRows.replaceChildren();
    const names = { validation: _("validation"), test: _("test (La Mare au Diable)") };
    for (const split of ["validation", "test"]) {
      const figures = report[split];
      if (!figures) continue;
      const row = el("tr");
      row.dataset.split = split;
      row.append(el("th", "", names[split]), el("td", "", decimal(figures.loss_per_token, 3)),
                 el("td", "", decimal(figures.perplexity, 1)), el("td", "", decimal(figures.bits_per_character, 3)));
      evaluationRows.append(row);
    }
    const notes = [];
    if (report.vocab_size) {
      notes.push(_("Fresh model: ln(%(vocab)s) = %(loss)s per token.",
                   { vocab: report.vocab_size, loss: decimal(report.fresh_loss, 3) }));
    }
    const xz = report.baseline && report.baseline.xz_bits_per_character;
    if (typeof xz === "number") {
      notes.push(_("xz on the test book, knowing the training books: %(bits)s bits per character.",
                   { bits: decimal(xz, 2) }));
    }
    evaluationReference.textContent = notes.join(" ");
  }

  // -- a step's final figures: tables, not JSON (the `dataset` event of prepare, every step's `result`)
  const resultBox = document.getElementById("job-result");
  const resultBody = document.getElementById("job-result-body");
  const integer = (value) => new Intl.NumberFormat(window.Aurore.lang).format(value);
  const formatFigure = (value) => (Number.isInteger(value) ? integer(value) : decimal(value, Math.abs(value) >= 100 ? 1 : 3));

  function table(className, head, rows) {
    const box = el("div", "table-scroll");
    box.tabIndex = 0;                   // a narrow screen scrolls it sideways: reachable by keyboard
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", _("Result"));
    const node = el("table", "result-table " + className);
    if (head) {
      const row = el("tr");
      head.forEach((cell, index) => row.append(el("th", index ? "number" : "", cell)));
      node.append(el("thead"));
      node.tHead.append(row);
    }
    const body = el("tbody");
    for (const cells of rows) {
      const row = el("tr");
      if (cells.className) row.className = cells.className;
      cells.forEach((cell, index) => {
        const isNumber = typeof cell === "number";
        const shown = isNumber ? formatFigure(cell) : cell;
        row.append(el(index ? "td" : "th", isNumber ? "number" : "", shown));
      });
      body.append(row);
    }
    node.append(body);
    box.append(node);
    return box;
  }

  // Prepare's statistics: one row per split, then its books.
  function showDataset(event) {
    const stats = event.stats || {};
    const rows = [];
    for (const [split, counts] of Object.entries(stats.splits || {})) {
      rows.push(Object.assign([split, counts.sentences, counts.words, counts.characters], { className: "split" }));
      for (const book of Object.values(stats.books || {})) {
        if (book.split === split) rows.push([`${book.book} ${book.title || ""}`.trim(), book.sentences, book.words, book.characters]);
      }
    }
    resultBox.hidden = false;
    resultBody.append(el("p", "muted", _("The dataset, saved in %(path)s:", { path: event.path || "" })),
                      table("dataset-table", ["", _("sentences"), _("words"), _("characters")], rows));
  }

  // Any step's report: one row per figure; a nested one is named by its path ("test · perplexity").
  function flatten(value, name, rows, depth) {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      if (value.every((item) => item === null || typeof item !== "object")) rows.push([name, value.join(", ")]);
      else rows.push([name, _("%(count)s entries", { count: value.length })]);
    } else if (typeof value === "object") {
      if (depth >= 3) { rows.push([name, "…"]); return; }
      for (const [key, inner] of Object.entries(value)) flatten(inner, name ? `${name} · ${key}` : key, rows, depth + 1);
    } else {
      rows.push([name, typeof value === "number" ? value : (typeof value === "boolean" ? (value ? _("yes") : _("no")) : visible(value))]);
    }
  }

  // The LoRA step's comparison (aurore.bonus.lora.comparison_data, read back from the runs' saved results):
  // what each method trains and costs, what it learnt (the book's held-out end), what it forgot (the test book).
  function showComparison(data) {
    const bits = (value) => (typeof value === "number" ? decimal(value, 3) : "—");
    const rows = data.rows.map((row) => Object.assign([
      row.name, row.trainable, `${decimal(100 * row.share, 2)}\u00a0%`, bits(row.seconds_per_step),
      bits(row.held_out.base), bits(row.held_out.tuned), bits(row.test.before), bits(row.test.after),
    ], { className: `method-${row.method}` }));
    const head = [_("method"), _("trainable weights"), _("share"), _("seconds per step"),
                  _("held-out end, before"), _("held-out end, after"), _("test book, before"), _("test book, after")];
    resultBox.hidden = false;
    resultBody.append(
      el("p", "muted", _("Bits per character (fewer is better) on the last %(sentences)s sentences of %(title)s, held out, and on the test book, %(test)s: if they rise after fine-tuning, the model forgot some of what it knew.",
                         { sentences: integer(data.book.sentences), title: data.book.title, test: data.test_book.title })),
      table("lora-table", head, rows));
    const samples = data.samples || {};
    if (samples.base === null || samples.base === undefined) return;
    resultBody.append(el("p", "muted", _("Samples (\"%(prompt)s\", seed %(seed)s):",
                                         { prompt: samples.prompt, seed: samples.seed })));
    const list = el("ul", "lora-samples");
    const sample = (name, written) => {
      const item = el("li");
      item.append(el("strong", "", _("%(model)s:", { model: name })), " ", el("span", "sample-prompt", samples.prompt),
                  el("span", "sample-text", visible(written)));
      list.append(item);
    };
    sample(_("base model"), samples.base);
    data.rows.forEach((row) => { if (row.sample !== null && row.sample !== undefined) sample(row.name, row.sample); });
    resultBody.append(list);
  }

  function showResult(event) {
    if (event.comparison) { showComparison(event.comparison); return; }
    const rows = [];
    flatten(event.report, "", rows, 0);
    if (!rows.length) return;
    resultBox.hidden = false;
    resultBody.append(table("report-table", null, rows));
  }

  function handle(event) {
    if (event.event === "progress") {
      task.textContent = event.task || "";
      if (event.total) { bar.max = event.total; bar.value = event.done; count.textContent = `${event.done} / ${event.total} ${event.unit || ""}`; }
      else { bar.removeAttribute("value"); count.textContent = `${event.done} ${event.unit || ""}`; }
      // Every progress event adds its training loss: evaluations add points, they never replace the curve.
      const [step, values] = metricsOf(event);
      if (chart.add(step, { loss: values.loss })) figure.hidden = false;
    } else if (event.event === "metrics") {
      // An evaluation: its validation loss, and the training loss at that step.
      const [step, values] = metricsOf(event);
      if (chart.add(step, { loss: values.loss, val_loss: values.val_loss })) figure.hidden = false;
      const shown = Object.entries(event).filter(([k]) => !["event", "seq", "t", "message"].includes(k))
        .map(([k, v]) => `${k}=${typeof v === "number" ? Number(v.toPrecision(4)) : JSON.stringify(v)}`).join(" ");
      appendLog(event.message || "[" + _("metrics") + "] " + shown);
    } else if (event.event === "sample") {
      addSample(event);
    } else if (event.event === "evaluation") {
      showEvaluation(event.report || {});
      if (event.message) appendLog(event.message);
    } else if (event.event === "prompt") {          // generate: the beginning it writes from
      text.hidden = false;
      text.append(el("strong", "job-prompt", event.text || ""));
    } else if (event.event === "piece") {
      text.hidden = false;
      text.append(event.text || "");
    } else if (event.event === "dataset") {
      showDataset(event);
      appendLog(_("— The dataset's figures are in the table below."));
    } else if (event.event === "result") {
      showResult(event);
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
    const preset = job.options && job.options.preset ? `, ${job.options.preset}` : "";
    const code = job.variant === "solution" ? _("solution") : _("your code");
    title.textContent = `${job.step} (${code}${preset})`;
    log.textContent = "";
    text.textContent = "";
    text.hidden = true;
    chart.clear();
    samplesList.replaceChildren();
    samples.hidden = true;
    evaluation.hidden = true;
    resultBox.hidden = true;
    resultBody.replaceChildren();
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
      if (record.status === "succeeded") appendLog(_("— Finished successfully."));
      else if (record.status === "cancelled") appendLog(_("— Cancelled."));
      else if (record.status === "interrupted") appendLog(_("— Interrupted (the app stopped during the run)."));
      else appendLog(_("— Failed (exit code %(code)s): read the last lines above.", { code: record.returncode }));
    });
  }

  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    errorLine.textContent = "";
    const data = new FormData(form);
    const answer = await post("/jobs", { step: data.get("step"), variant: data.get("variant"), options: chosenOptions() });
    if (!answer.ok) { errorLine.textContent = errorMessage(answer, _("Could not start the step.")); return; }
    follow(answer.data);
  });

  cancelButton.addEventListener("click", async () => {
    if (!current) return;
    setStatus("cancelling");
    await post(`/jobs/${current.id}/cancel`, {});
  });

  async function openFromHistory(clicked) {
    clicked.preventDefault();
    const answer = await get(`/jobs/${clicked.currentTarget.dataset.job}`);
    if (answer.ok) follow(answer.data.job);
  }
  document.querySelectorAll("#history a[data-job]").forEach((link) => link.addEventListener("click", openFromHistory));

  form.addEventListener("change", showOptions);
  showOptions();

  // Reattach to the running job (or show the latest one) on load.
  (async function () {
    const answer = await get("/jobs/current");
    if (answer.ok && answer.data.job) follow(answer.data.job);
  })();
})();
