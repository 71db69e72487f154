// The exercise page's code editor: CodeMirror 6 with Python, bundled by ./build.sh into
// ../codemirror.bundle.js (one IIFE file, no CDN). It exposes window.AuroreEditor.create(parent, options):
//   options.doc       the text to start with
//   options.dark      true for the dark theme (setDark() switches later)
//   options.label     the editor's accessible name
//   options.onSave()  Ctrl+S / Cmd+S
//   options.onChange(text) after every edit by the learner
// and returns { view, getText(), setText(text), setDark(dark), focus() }.
// The editor lives in a shadow root of `parent`: there CodeMirror's styles go into a constructed
// style sheet, which the pages' Content-Security-Policy (no inline <style>) allows.
import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { EditorState, Compartment, Prec } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { HighlightStyle, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";
import { python } from "@codemirror/lang-python";
import { oneDark } from "@codemirror/theme-one-dark";

// The frame around the code, from the page's CSS variables (they reach into the shadow root).
const frame = EditorView.theme({
  "&": { maxHeight: "34rem", fontSize: "0.9rem" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", lineHeight: "1.45" },
  "&.cm-focused": { outline: "2px solid var(--focus, #2563eb)", outlineOffset: "-2px" },
});

// One Dark on a darker background, with lighter line numbers and comments: every colour of its palette
// then reaches a 4.5:1 contrast (WCAG AA; on One Dark's #282c34, its red gives 4.4 and its grey 3.9).
const READABLE_GREY = "#a3abb9", BACKGROUND = "#1b1e24", ACTIVE_LINE = "#21252b";
const dark = [
  oneDark,
  Prec.highest(EditorView.theme({
    "&": { backgroundColor: BACKGROUND },
    ".cm-gutters": { color: READABLE_GREY, backgroundColor: BACKGROUND },
    ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: ACTIVE_LINE },
  }, { dark: true })),
  Prec.high(syntaxHighlighting(HighlightStyle.define([{ tag: [tags.comment, tags.meta], color: READABLE_GREY }]))),
];

function create(parent, options = {}) {
  const theme = new Compartment();
  const fromOutside = { value: false };
  const shadow = parent.attachShadow({ mode: "open" });
  const mount = document.createElement("div");
  shadow.append(mount);
  const view = new EditorView({
    parent: mount,
    root: shadow,
    state: EditorState.create({
      doc: options.doc || "",
      extensions: [
        keymap.of([
          { key: "Mod-s", preventDefault: true, run: () => { if (options.onSave) options.onSave(); return true; } },
          indentWithTab,
        ]),
        basicSetup,
        python(),
        frame,
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        theme.of(options.dark ? dark : []),
        // tabindex: the scrolling frame has focusable content, for the tools that check it (axe-core).
        EditorView.contentAttributes.of({ "aria-label": options.label || "Code", tabindex: "0" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && !fromOutside.value && options.onChange) options.onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    view,
    getText: () => view.state.doc.toString(),
    setText(text) {
      fromOutside.value = true;
      try {
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
      } finally {
        fromOutside.value = false;
      }
    },
    setDark(isDark) { view.dispatch({ effects: theme.reconfigure(isDark ? dark : []) }); },
    focus() { view.focus(); },
  };
}

window.AuroreEditor = { create };
