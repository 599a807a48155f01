/* Site-wide behaviour, no inline script needed:
   - the menu folds behind a "Menu" button on narrow screens;
   - a button or form with data-confirm="question" asks before submitting (destructive actions);
   - data-arrow-into lets the down arrow move from a search box into its results. */
(function () {
  "use strict";

  function setUpMenu() {
    var toggle = document.querySelector(".menu-toggle");
    var nav = document.getElementById("mainnav");
    if (!toggle || !nav) return;
    toggle.hidden = false;
    document.documentElement.classList.add("js-menu");
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }

  // A search box with data-arrow-into="selector": the down arrow moves into its results (usable without a mouse).
  document.addEventListener("keydown", function (ev) {
    var from = ev.target;
    if (ev.key !== "ArrowDown" || !from.dataset || !from.dataset.arrowInto) return;
    var into = document.querySelector(from.dataset.arrowInto);
    if (into) { ev.preventDefault(); into.focus(); }
  });

  // A button with data-print prints the page (the printable manifest).
  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("[data-print]")) window.print();
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var button = ev.submitter;
    var question = (button && button.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) ev.preventDefault();
  }, true);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUpMenu);
  else setUpMenu();
})();
