// The writers' page: send the prompt to the streaming API, show the text as it
// comes (fetch + server-sent events parsed by hand: EventSource cannot POST),
// stop on demand, copy or download the result, keep the last texts in
// localStorage; say how much of each text is copied from the training books;
// outside public mode, compare the learner's model with the reference. Texts and
// numbers in the page's language: workshop-common.js's `_()` and `decimal()`.
// Its keyboard shortcuts (Ctrl+Enter, Escape) are static/js/shortcuts.js's; #status (role=status)
// announces the end of a text once, never each token.
"use strict";

(function () {
  const HISTORY_KEY = "aurore.writers.history";
  const HISTORY_SIZE = 10;
  const { _, decimal } = window.Aurore;
  // Why a text ended (the API's finish_reason), as the status line says it.
  const finishReasons = {
    length: _("length reached"), stop: _("stop text met"), sentence_end: _("end of sentence"),
    end_of_text: _("end of text"), cancelled: _("stopped"),
  };
  const $ = (id) => document.getElementById(id);
  const form = $("writers-form");
  const promptBox = $("prompt");
  const writeButton = $("write");
  const stopButton = $("stop");
  const output = $("output");
  const outputPrompt = $("output-prompt");
  const outputText = $("output-text");
  const statusLine = $("status");
  const errorLine = $("error");
  const copyButton = $("copy");
  const downloadButton = $("download");
  const historyList = $("history");
  const memorisationLine = $("memorisation");

  let controller = null;   // AbortController of the running request
  let current = null;      // {prompt, text, model, date} of the last text

  // --- server-sent events over fetch -------------------------------------

  /** Split an SSE byte stream into {event, data} messages (the WHATWG rules, enough of them). */
  async function* readEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder("utf-8");
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let match;
      while ((match = /\r?\n\r?\n/.exec(buffer)) !== null) {
        const block = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        let event = "message";
        const data = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith(":")) continue;               // comment (heartbeat)
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let content = colon < 0 ? "" : line.slice(colon + 1);
          if (content.startsWith(" ")) content = content.slice(1);
          if (field === "event") event = content;
          else if (field === "data") data.push(content);
        }
        if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
      }
      if (done) return;
    }
  }

  // --- the form --------------------------------------------------------------

  function numberField(id, integer) {
    return numberValue($(id), integer);
  }

  function numberValue(input, integer) {
    const raw = input.value.trim();
    if (raw === "") return null;
    const value = Number(raw);
    return integer && Number.isInteger(value) ? value : (integer ? raw : value);
  }

  /** A sampling setting's value, read as its kind says (data-setting, written from the server's FIELDS). */
  function settingValue(input) {
    switch (input.dataset.setting) {
      case "flag": return input.checked;
      case "choice": return input.value;
      case "integer": return numberValue(input, true);
      default: return numberValue(input, false);
    }
  }

  /** The prompt, the model and every sampling input of the form; an empty one: the server's default. */
  function requestBody() {
    const body = { prompt: promptBox.value, model: $("model").value };
    for (const input of form.querySelectorAll("[data-setting]")) {
      const value = settingValue(input);
      if (value !== null) body[input.name] = value;
    }
    return body;
  }

  function showError(message) {
    errorLine.textContent = message;
    errorLine.hidden = !message;
  }

  function errorMessage(response, payload) {
    const error = (payload && payload.error) || {};
    const wait = response.headers.get("Retry-After") || "?";
    if (error.code === "queue_full") return _("The server is busy: try again in %(seconds)s s.", { seconds: wait });
    if (error.code === "rate_limited") return _("Too many requests: try again in %(seconds)s s.", { seconds: wait });
    if (error.code === "too_many_tokens") return _("This beginning is too long for the model: shorten it.");
    if (error.code === "no_model") return _("No trained model: reload the page to learn how to get one.");
    if (error.field) {
      if (error.field !== "prompt") {
        const input = $(error.field);
        if (input) input.focus();
      } else if (error.code === "blank") {
        return _("Write the beginning of a text first.");
      }
      return _("Setting refused (%(field)s): %(message)s", { field: error.field, message: error.message });
    }
    return error.message || `HTTP ${response.status}`;
  }

  function setRunning(running) {
    writeButton.disabled = running;
    stopButton.disabled = !running;
    copyButton.disabled = running || !current || !current.text;
    downloadButton.disabled = copyButton.disabled;
    form.setAttribute("aria-busy", String(running));
    output.setAttribute("aria-busy", String(running));     // assistive technology waits for the whole text
  }

  function wordCount(written) {
    return written.split(/\s+/).filter(Boolean).length;
  }

  /** The end of a text, said once by #status (role=status): why it ended, how many words and tokens, how long. */
  function describeEnd(done, written) {
    return _("Done (%(reason)s) — %(words)s words, %(tokens)s tokens, %(seconds)s s", {
      reason: finishReasons[done.finish_reason] || done.finish_reason, words: wordCount(written),
      tokens: done.new_tokens, seconds: decimal(done.seconds, 1) });
  }

  async function write(event) {
    event.preventDefault();
    if (controller) return;
    showError("");
    if (!promptBox.value.trim()) {
      showError(_("Write the beginning of a text first."));
      promptBox.focus();
      return;
    }
    const body = requestBody();
    current = { prompt: body.prompt, text: "", model: body.model, date: new Date().toISOString() };
    outputPrompt.textContent = body.prompt;
    outputText.textContent = "";
    memorisationLine.hidden = true;
    statusLine.textContent = _("Waiting for a free place…");
    controller = new AbortController();
    setRunning(true);
    let finished = false;
    try {
      const response = await fetch("/api/generate/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) {
        const payload = await response.json().catch(() => null);
        showError(errorMessage(response, payload));
        statusLine.textContent = "";
        return;
      }
      for await (const message of readEvents(response)) {
        if (message.event === "start") {
          statusLine.textContent = _("Aurore is writing…");
        } else if (message.event === "message") {
          current.text += message.data.text;
          outputText.textContent = current.text;
        } else if (message.event === "done") {
          finished = true;
          statusLine.textContent = describeEnd(message.data, current.text);
          showMemorisation(memorisationLine, current.text);
          announceText(current);
        } else if (message.event === "error") {
          showError(message.data.error.message);
        }
      }
    } catch (error) {
      if (error.name === "AbortError") statusLine.textContent = _("Stopped.");
      else showError(_("The connection to the server failed."));
    } finally {
      controller = null;
      if (current.text) saveToHistory(current);
      setRunning(false);
      if (!finished && !errorLine.textContent && statusLine.textContent !== _("Stopped.")) {
        statusLine.textContent = _("Stopped.");
      }
    }
  }

  /** Tell the page's other panels (writers-attention.js) that a text is there to look at. */
  function announceText(entry) {
    document.dispatchEvent(new CustomEvent("aurore:written", { detail: { ...entry } }));
  }

  function stop() {
    if (controller) controller.abort();
  }

  // --- copied from the books? -----------------------------------------------------

  function describeMemorisation(report) {
    if (!report || report.available === false || report.error) return "";
    if (!report.spans) return _("Too short to look for copied spans (%(words)s words at least).", { words: report.span_words });
    const share = (100 * report.share).toLocaleString(window.Aurore.lang, { maximumFractionDigits: 1 });
    let line = _("Copied from the training books: %(copied)s of the %(spans)s spans of %(words)s words (%(share)s%%).",
                 { copied: report.copied, spans: report.spans, words: report.span_words, share });
    if (report.examples && report.examples.length) line += " " + _("for example: “%(example)s”", { example: report.examples[0] });
    return line;
  }

  async function showMemorisation(line, written) {
    line.hidden = true;
    if (!written) return;
    try {
      const response = await fetch("/generate/memorisation", {
        method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ text: written }),
      });
      const report = await response.json();
      line.textContent = describeMemorisation(report);
      line.hidden = !line.textContent;
    } catch (error) {
      /* the check is a bonus: the text is there all the same */
    }
  }

  // --- my model against the reference ------------------------------------------------

  function setUpComparison() {
    const compareForm = $("compare-form");
    if (!compareForm) return;
    const models = JSON.parse($("compare-models").textContent);
    const card = (name) => models.find((model) => model.name === name) || {};
    const compareError = $("compare-error");
    const csrf = document.querySelector('meta[name="csrf-token"]');
    const columns = {};
    for (const column of document.querySelectorAll(".compare-column")) columns[column.dataset.role] = column;

    function showBpc(column, model) {
      const line = column.querySelector(".compare-bpc");
      line.replaceChildren();
      if (typeof model.test_bits_per_character === "number") {
        const strong = document.createElement("strong");
        strong.textContent = decimal(model.test_bits_per_character, 3);
        line.append(strong, " " + _("bits per character on the test book"));
      } else {
        line.textContent = _("not evaluated yet");
      }
    }

    // Each pair's sentence on the two trainings' budgets, written by the server (comparison.budget_sentence).
    const budgets = JSON.parse($("compare-budgets").textContent);

    function showTraining(column, model) {
      const line = column.querySelector(".compare-training");
      if (!line) return;
      const minutes = typeof model.minutes === "number"
        ? decimal(model.minutes >= 1 ? Math.round(model.minutes) : model.minutes, model.minutes >= 1 ? 0 : 1) : null;
      line.textContent = minutes === null ? _("training time not known")
        : typeof model.steps === "number"
          ? _("%(minutes)s min of training, %(steps)s steps",
              { minutes, steps: new Intl.NumberFormat(document.documentElement.lang || "fr").format(model.steps) })
          : _("%(minutes)s min of training", { minutes });
    }

    function choose(role, name) {
      const column = columns[role];
      column.querySelector(".compare-name").textContent = name;
      showBpc(column, card(name));
      showTraining(column, card(name));
      $("compare-budget").textContent = budgets[`${$("compare-mine").value}|${$("compare-reference").value}`] || "";
      column.querySelector(".compare-prompt").textContent = "";
      column.querySelector(".compare-text").textContent = "";
      column.querySelector(".compare-memorised").textContent = "";
    }

    $("compare-mine").addEventListener("change", (event) => choose("mine", event.target.value));
    $("compare-reference").addEventListener("change", (event) => choose("reference", event.target.value));

    compareForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      compareError.hidden = true;
      if (!promptBox.value.trim()) {
        compareError.textContent = _("Write the beginning of a text first.");
        compareError.hidden = false;
        promptBox.focus();
        return;
      }
      const body = requestBody();
      delete body.model;
      body.seed = numberField("compare-seed", true);
      body.mine = $("compare-mine").value;
      body.reference = $("compare-reference").value;
      body.sampler = $("compare-sampler").value;
      if (columns["char-lstm"]) body.char_lstm = columns["char-lstm"].querySelector(".compare-name").textContent;
      const button = $("compare-button");
      button.disabled = true;
      for (const column of Object.values(columns)) {
        column.querySelector(".compare-prompt").textContent = body.prompt;
        column.querySelector(".compare-text").textContent = "";
        column.querySelector(".compare-memorised").textContent = columns["char-lstm"] ? _("The models are writing…") : _("Both models are writing…");
      }
      try {
        const response = await fetch("/generate/compare", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json",
                     "X-CSRF-Token": csrf ? csrf.content : "" },
          body: JSON.stringify(body),
        });
        const payload = await response.json().catch(() => ({}));
        if (!response.ok) {
          const error = payload.error || {};
          compareError.textContent = error.message || `HTTP ${response.status}`;
          compareError.hidden = false;
          for (const column of Object.values(columns)) column.querySelector(".compare-memorised").textContent = "";
          return;
        }
        if (payload.budget) $("compare-budget").textContent = payload.budget;
        for (const row of payload.rows) {
          const column = columns[row.role];
          column.dataset.seed = payload.seed;
          column.querySelector(".compare-name").textContent = row.name;
          if (!column) continue;
          showBpc(column, row);
          showTraining(column, row);
          column.querySelector(".compare-text").textContent = row.text;
          column.querySelector(".compare-memorised").textContent = describeMemorisation(row.memorisation);
        }
      } catch (error) {
        compareError.textContent = _("The connection to the server failed.");
        compareError.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  }

  // --- copy and download ---------------------------------------------------------

  function fullText() {
    return current ? current.prompt + current.text : "";
  }

  async function copy() {
    const value = fullText();
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(value);
      } else {                                   // plain http on another machine: the old way
        const area = document.createElement("textarea");
        area.value = value;
        area.setAttribute("readonly", "");
        area.style.position = "fixed";
        area.style.opacity = "0";
        document.body.appendChild(area);
        area.select();
        const ok = document.execCommand("copy");
        area.remove();
        if (!ok) throw new Error("copy refused");
      }
      statusLine.textContent = _("Copied!");
    } catch (error) {
      showError(_("Cannot copy: select the text by hand."));
    }
  }

  function download() {
    const blob = new Blob([fullText()], { type: "text/plain;charset=utf-8" });
    const link = document.createElement("a");
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
    link.href = URL.createObjectURL(blob);
    link.download = `aurore-${stamp}.txt`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  // --- the last texts, in this browser -----------------------------------------------

  function loadHistory() {
    try {
      const items = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(items) ? items.filter((item) => item && typeof item.prompt === "string") : [];
    } catch (error) {
      return [];
    }
  }

  function saveToHistory(entry) {
    const items = [{ ...entry }, ...loadHistory()].slice(0, HISTORY_SIZE);
    try {
      localStorage.setItem(HISTORY_KEY, JSON.stringify(items));
    } catch (error) {
      /* storage full or disabled: the page still works */
    }
    renderHistory();
  }

  function renderHistory() {
    historyList.replaceChildren();
    for (const item of loadHistory()) {
      const row = document.createElement("li");
      const excerpt = document.createElement("span");
      excerpt.className = "writers-excerpt";
      const whole = item.prompt + (item.text || "");
      excerpt.textContent = whole.length > 140 ? whole.slice(0, 140) + "…" : whole;
      const meta = document.createElement("small");
      meta.textContent = ` ${item.model || ""} · ${new Date(item.date).toLocaleString(window.Aurore.lang)}`;
      const reopen = document.createElement("button");
      reopen.type = "button";
      reopen.textContent = _("Reopen");
      reopen.addEventListener("click", () => {
        current = { ...item };
        promptBox.value = item.prompt;
        outputPrompt.textContent = item.prompt;
        outputText.textContent = item.text || "";
        statusLine.textContent = "";
        setRunning(false);
        announceText(current);
      });
      row.append(excerpt, meta, " ", reopen);
      historyList.appendChild(row);
    }
    $("clear-history").hidden = !historyList.children.length;
  }

  form.addEventListener("submit", write);
  stopButton.addEventListener("click", stop);
  copyButton.addEventListener("click", copy);
  downloadButton.addEventListener("click", download);
  $("clear-history").addEventListener("click", () => {
    localStorage.removeItem(HISTORY_KEY);
    renderHistory();
  });
  renderHistory();
  setUpComparison();
})();
