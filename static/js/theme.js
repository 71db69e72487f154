/* The theme: light, dark, or the system's (prefers-color-scheme), the default.
   Loaded in <head> without `defer`, on purpose: it sets <html data-theme="light|dark"> before
   the first paint, so a page never flashes in the other theme. The header's select changes the
   choice, which this browser remembers (localStorage); the CSS reads only data-theme. */
"use strict";
(function () {
  const KEY = "aurore.theme";
  const CHOICES = ["system", "light", "dark"];
  const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function storedChoice() {
    try {
      const choice = localStorage.getItem(KEY);
      return CHOICES.includes(choice) ? choice : "system";
    } catch (error) {
      return "system";            // storage disabled: follow the system
    }
  }

  function remember(choice) {
    try {
      if (choice === "system") localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, choice);
    } catch (error) {
      /* storage disabled: the choice lasts for this page only */
    }
  }

  function themeFor(choice) {
    if (choice === "system") return systemDark.matches ? "dark" : "light";
    return choice;
  }

  function apply(choice) {
    document.documentElement.dataset.theme = themeFor(choice);
  }

  function connectSelect() {
    const select = document.getElementById("theme-choice");
    if (!select) return;
    select.value = storedChoice();
    select.addEventListener("change", () => {
      remember(select.value);
      apply(select.value);
    });
  }

  apply(storedChoice());
  systemDark.addEventListener("change", () => apply(storedChoice()));
  window.addEventListener("storage", (event) => {      // chosen in another tab
    if (event.key === KEY) {
      apply(storedChoice());
      const select = document.getElementById("theme-choice");
      if (select) select.value = storedChoice();
    }
  });
  document.addEventListener("DOMContentLoaded", connectSelect);
})();
