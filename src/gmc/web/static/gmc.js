// gmc's page behaviour, kept out of the templates: the Content-Security-Policy runs no inline script or on*=
// attribute, so each page marks its elements (ids, data-* attributes) and this one file wires them up:
// - the menu folds behind a "Menu" button on narrow screens;
// - a button or form with data-confirm="question" asks before submitting (destructive actions);
// - a search box with data-arrow-into="selector": the down arrow moves into its results (usable without a mouse);
// - a button with data-action="print" prints the page (shipment manifests);
// - the scanning station (form[data-scan-station]) works with a keyboard-wedge scanner.
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

  document.addEventListener("keydown", function (ev) {
    var from = ev.target;
    if (ev.key !== "ArrowDown" || !from.dataset || !from.dataset.arrowInto) return;
    var into = document.querySelector(from.dataset.arrowInto);
    if (into) { ev.preventDefault(); into.focus(); }
  });

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("[data-action='print']");
    if (button) { ev.preventDefault(); window.print(); }
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var button = ev.submitter;
    var question = (button && button.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) { ev.preventDefault(); ev.stopImmediatePropagation(); }
  }, true);

  // The scanning station with a keyboard-wedge scanner: the scanner types a barcode and presses Enter. Each scan is
  // posted in order (a fast scanner may send the next one before the answer arrives), the field is emptied and
  // focused at once for the next scan, and the answer is shown at the top of the list and read out through an
  // aria-live region. Without JavaScript the form posts and the server redirects back (PRG).
  function setUpScanStation() {
    var form = document.querySelector("form[data-scan-station]");
    if (!form) return;
    var field = form.querySelector("#barcode");
    var action = form.querySelector("#action");
    var results = document.getElementById("scan-results");
    var announce = document.getElementById("scan-announce");
    var barcodeLabel = form.querySelector("label[for=barcode]");
    var queue = Promise.resolve();

    function showFields() {
      form.querySelectorAll(".scan-fields").forEach(function (group) {
        group.hidden = group.dataset.for !== action.value;
      });
      var source = form.querySelector("#source").value;
      barcodeLabel.textContent = action.value === "ship" ? "Shipment reference"
        : (action.value === "extract" && source ? "New tube barcode for " + source : "Barcode");
    }

    function say(text) {
      // Clearing first makes screen readers announce a repeated message too.
      announce.textContent = "";
      window.setTimeout(function () { announce.textContent = text; }, 50);
    }

    function post(body) {
      // form.action would be the select named "action": read the attribute.
      return fetch(form.getAttribute("action"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "HX-Request": "true", "X-CSRF-Token": body.get("csrf_token") }
      }).then(function (resp) {
        if (!resp.ok) throw new Error("the server answered " + resp.status);
        return resp.text();
      }).then(function (html) {
        results.insertAdjacentHTML("afterbegin", html);
        var item = results.firstElementChild;
        if (item.dataset.action === "extract") form.querySelector("#source").value = item.dataset.source;
        if (item.dataset.action === "store" && item.dataset.position) form.querySelector("#position").value = item.dataset.position;
        showFields();
        say(item.querySelector(".scan-message").textContent);
      }).catch(function (err) {
        results.insertAdjacentHTML("afterbegin", '<li class="scan-result error"><span class="badge bad">Not sent</span> </li>');
        results.firstElementChild.appendChild(document.createTextNode("The scan did not reach the server (" + err.message + "). Scan it again."));
        say("The scan did not reach the server. Scan it again.");
      });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = new FormData(form);
      // Ready for the next scan before the answer arrives.
      field.value = "";
      form.querySelectorAll("[data-clear-after-scan]").forEach(function (input) { input.value = ""; });
      if (action.value === "qc") form.querySelector("[data-clear-after-scan]").focus(); else field.focus();
      queue = queue.then(function () { return post(body); });
    });
    action.addEventListener("change", function () {
      form.querySelector("#source").value = "";
      showFields();
      field.focus();
    });
    showFields();
    field.focus();
  }

  function setUp() { setUpMenu(); setUpScanStation(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
