// gmc's page behaviour, kept out of the templates: the Content-Security-Policy runs no inline script or on*=
// attribute, so each page marks its elements (ids, data-* attributes) and this file wires them up.
(function () {
  "use strict";

  // Buttons that print the page (shipment manifests).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action='print']");
    if (button) { event.preventDefault(); window.print(); }
  });

  // HPO capture: the down arrow from the search box moves to the chosen result, so the list works without a mouse.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" || !event.target.matches("#hpo-search")) return;
    var chosen = document.querySelector("#hpo-results input[name=hpo_id]:checked");
    if (chosen) { event.preventDefault(); chosen.focus(); }
  });

  // Scanning station: after each scan the barcode field is cleared and focused for the next one, and a put-away's
  // next free position is carried into the position field.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    if (!form || form.id !== "scan-form") return;
    var barcode = form.querySelector("#barcode");
    barcode.value = "";
    barcode.focus();
    var next = document.querySelector("#scan-results > :first-child .next-position");
    if (next) { form.querySelector("#position").value = next.dataset.position; }
  });
})();
