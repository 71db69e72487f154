/* Keyboard shortcuts, declared by the pages themselves with aria-keyshortcuts (which screen
   readers announce): Ctrl+Enter (or ⌘+Enter) clicks the visible, enabled element that declares
   "Control+Enter" (write, check, run), Ctrl+S the one that declares "Control+S" (save), Escape the one that declares "Escape" (stop, cancel).
   Each page lists its shortcuts in its "Raccourcis clavier" line. */
"use strict";
(function () {
  function shortcutOf(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) return "Control+Enter";
    if ((event.key === "s" || event.key === "S") && (event.ctrlKey || event.metaKey) && !event.altKey) return "Control+S";
    if (event.key === "Escape" && !event.ctrlKey && !event.metaKey && !event.altKey) return "Escape";
    return null;
  }

  function usable(element) {
    return !element.disabled && element.getClientRects().length > 0;
  }

  function declares(element, shortcut) {
    return element.getAttribute("aria-keyshortcuts").split(" ").includes(shortcut);
  }

  function elementFor(shortcut) {
    return Array.from(document.querySelectorAll("[aria-keyshortcuts]"))
      .find((element) => declares(element, shortcut) && usable(element));
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.repeat || event.isComposing) return;
    const shortcut = shortcutOf(event);
    const element = shortcut && elementFor(shortcut);
    if (!element) return;
    event.preventDefault();
    element.click();
  });
})();
