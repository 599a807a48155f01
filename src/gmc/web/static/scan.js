/* The scanning station with a keyboard-wedge scanner: the scanner types a barcode and presses Enter.
   Each scan is posted in order (a fast scanner may send the next one before the answer arrives), the field is
   emptied and focused at once for the next scan, and the answer is shown at the top of the list and read out
   through an aria-live region. Without JavaScript the form posts and the server redirects back (PRG). */
(function () {
  "use strict";
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
})();
