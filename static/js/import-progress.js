/* Import job progress: polls the job's status and reloads the page when the worker is done.
   The state lives on the server, so a reload (or coming back later) shows the same progress. */
(function () {
  "use strict";

  var box = document.getElementById("import-progress");
  if (!box) return;
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  var url = box.getAttribute("data-status-url");

  function show(status) {
    if (status.total > 0) {
      bar.max = status.total;
      bar.value = status.done;
      text.textContent = status.phase + ": " + status.done.toLocaleString("de-DE") + " / " +
        status.total.toLocaleString("de-DE") + " (" + Math.floor(100 * status.done / status.total) + " %)";
    } else {
      bar.removeAttribute("value");
      text.textContent = status.phase;
    }
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (status.state === "queued" || status.state === "running") {
          show(status);
          window.setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }

  window.setTimeout(poll, 500);
}());
