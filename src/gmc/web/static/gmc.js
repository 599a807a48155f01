/* Site-wide behaviour, no inline script needed:
   - the menu folds behind a "Menu" button on narrow screens;
   - a button or form with data-confirm="question" asks before submitting (destructive actions). */
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

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var button = ev.submitter;
    var question = (button && button.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) ev.preventDefault();
  }, true);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUpMenu);
  else setUpMenu();
})();
