// A first-time reader has no colour mode saved, so the theme would start from an empty mode and
// report it as invalid in the console. Start such readers on "auto" (follow the system setting),
// and pick the matching palette before the page paints, so dark-mode readers see no light flash.
(function () {
  var root = document.documentElement;
  if (!root.dataset.mode) {
    root.dataset.mode = "auto";
  }
  if (!root.dataset.theme || root.dataset.theme === "auto") {
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "dark" : "light";
  }
})();
