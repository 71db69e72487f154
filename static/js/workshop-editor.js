/* The exercise page's code editor (CodeMirror 6, static/vendor/codemirror/): edit, Ctrl+S saves and checks.
   The learner's file on disk stays the one source of truth: a save sends the version it started from
   and the server refuses it (409) when the file changed since; a change made by another editor is
   loaded when nothing is pending here, and shown as a conflict (the learner chooses) when something is.
   Without this script (or the bundle), the page shows the highlighted file, read-only. */
"use strict";
(function () {
  const { _, post, errorMessage } = window.Aurore;
  const root = document.getElementById("exercise");
  const page = window.AuroreExercise;
  const sourceText = document.getElementById("source-text");
  if (!root || !page || !sourceText || !window.AuroreEditor) return;
  const base = `/exercises/${root.dataset.number}`;
  const holder = document.getElementById("code-editor");
  const bar = document.getElementById("editor-bar");
  const state = document.getElementById("editor-state");
  const saveButton = document.getElementById("save-button");
  const conflict = document.getElementById("editor-conflict");
  const view = document.getElementById("source");

  // The editor's lines end in "\n" (as a textarea's do): a file's "\r\n" are compared as such.
  const lines = (text) => text.replace(/\r\n?/g, "\n");
  // The file as last read from or written to disk: the editor is "changed" when it differs from it.
  let disk = { text: lines(sourceText.value), version: sourceText.dataset.version || null };
  let onDisk = null;              // the disk's version during a conflict
  let saving = false;

  const dark = () => document.documentElement.dataset.theme === "dark";
  const editor = window.AuroreEditor.create(holder, {
    doc: disk.text, dark: dark(), label: _("Code of exercise %(number)s", { number: root.dataset.number }),
    onSave: () => { saveAndCheck(); },
    onChange: () => showState(),
  });
  const changed = () => editor.getText() !== disk.text;

  function showState(message) {
    root.dataset.editor = conflict.hidden ? (changed() ? "changed" : "saved") : "conflict";
    state.textContent = message || (changed() ? _("Unsaved changes (Ctrl+S saves and checks).") : _("Saved."));
  }

  function showConflict(current) {
    onDisk = current;
    conflict.hidden = false;
    showState(_("Not saved: the file changed on disk."));
  }

  function adopt(data) {
    disk = { text: lines(data.text), version: data.version };
    onDisk = null;
    conflict.hidden = true;
  }

  // Writes the editor's text over the version it started from (`over`); true when saved.
  async function save(over) {
    if (saving) return false;
    saving = true;
    saveButton.disabled = true;
    const text = editor.getText();
    const answer = await post(`${base}/save`, { text, version: over });
    saving = false;
    saveButton.disabled = false;
    if (answer.status === 409 && answer.data.error && answer.data.error.current) {
      showConflict(answer.data.error.current);
      return false;
    }
    if (!answer.ok) { showState(errorMessage(answer, _("Could not save the file."))); return false; }
    adopt(answer.data);
    page.showSource(answer.data);
    showState();
    return true;
  }

  async function saveAndCheck() {
    if (!conflict.hidden) return;                 // the learner chooses first
    if (!changed() || (await save(disk.version))) page.runCheck();
  }

  // Before "Check my code": what is typed here is what gets checked.
  page.hooks.beforeCheck = async () => conflict.hidden && (!changed() || save(disk.version));

  // The file changed on disk (another editor, a reset, our own save seen by the poll).
  page.hooks.sourceChanged = (data, forced) => {
    if (!data.exists || data.version === disk.version) return;
    if (forced || !changed() || lines(data.text) === editor.getText()) {
      const outside = lines(data.text) !== editor.getText();
      adopt(data);
      if (outside) editor.setText(disk.text);
      showState(outside && !forced ? _("The file changed on disk: its new version is shown.") : undefined);
    } else {
      showConflict(data);
    }
  };

  document.getElementById("conflict-disk").addEventListener("click", () => {
    adopt(onDisk);
    editor.setText(disk.text);
    showState(_("The file on disk is shown; your changes here are dropped."));
  });
  document.getElementById("conflict-mine").addEventListener("click", async () => {
    conflict.hidden = true;
    if (await save(onDisk.version)) page.runCheck();
  });
  saveButton.addEventListener("click", saveAndCheck);

  // The page's theme (light, dark, or the system's) is <html data-theme>: the editor follows it.
  new MutationObserver(() => editor.setDark(dark()))
    .observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });

  window.addEventListener("beforeunload", (event) => {
    if (changed()) { event.preventDefault(); event.returnValue = ""; }
  });

  view.hidden = true;
  holder.hidden = false;
  bar.hidden = false;
  showState();
  window.AuroreExercise.editor = editor;      // for the browser tests
})();
