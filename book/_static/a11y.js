// Accessible names and roles the theme and the HTML writer get wrong, so what a screen reader
// announces matches what a sighted reader sees (WCAG 2.5.3 "label in name"), no control is
// nameless and every list holds list items (4.1.2).
(function () {
  var MODES = { light: "Light", dark: "Dark", auto: "System Settings" };

  function nameThemeSwitch() {
    // The button shows the icon of the current mode, titled Light, Dark or System Settings.
    var mode = MODES[document.documentElement.dataset.mode] || MODES.auto;
    document.querySelectorAll(".theme-switch-button").forEach(function (button) {
      button.setAttribute("aria-label", "Color mode: " + mode);
    });
  }

  function fix() {
    // Search buttons read "Search Ctrl+K"; a bare aria-label "Search" hid the shortcut.
    document.querySelectorAll(".search-button-field[aria-label]").forEach(function (button) {
      button.removeAttribute("aria-label");
    });
    // Collapsible cells say "Show code cell source"; the generic label hid that.
    document.querySelectorAll('summary[aria-label="Toggle hidden content"]').forEach(function (s) {
      s.removeAttribute("aria-label");
    });
    // The chevron that folds a section of the table of contents has no text of its own.
    document.querySelectorAll(".bd-sidenav details > summary").forEach(function (summary) {
      if (summary.textContent.trim() || summary.hasAttribute("aria-label")) {
        return;
      }
      var link = summary.parentElement.parentElement.querySelector(":scope > a");
      var title = link ? link.textContent.trim() : "this section";
      summary.setAttribute("aria-label", "Show or hide the pages of " + title);
    });
    // Bibliography entries are items of a role="list"; their deprecated DPUB roles
    // (doc-biblioentry, doc-endnote) no longer count as list items.
    document.querySelectorAll('[role="list"] > [role="doc-biblioentry"], '
                              + '[role="list"] > [role="doc-endnote"]').forEach(function (item) {
      item.setAttribute("role", "listitem");
    });
    nameThemeSwitch();
    new MutationObserver(nameThemeSwitch).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-mode"],
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fix);
  } else {
    fix();
  }
})();
