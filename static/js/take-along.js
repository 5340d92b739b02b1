// Take the result list or an offer along: print it, or copy it as plain text. Nothing is stored anywhere.
(function () {
  "use strict";
  function textOf(node) {
    var lines = [];
    node.querySelectorAll("h1, h2, h3, p, li, dt, dd").forEach(function (el) {
      if (el.closest("[data-take-along]") || el.closest(".tags") && el.tagName === "LI") { return; }
      if (el.querySelector("h3, p, li, dt, dd")) { return; }
      var text = el.textContent.replace(/\s+/g, " ").trim();
      if (text) { lines.push(el.tagName === "H3" || el.tagName === "H2" ? "\n" + text : text); }
    });
    return lines.join("\n").trim() + "\n";
  }
  function copy(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    var status = document.querySelector("[data-copy-status]");
    if (!target) { return; }
    var text = textOf(target);
    var done = function () { if (status) { status.textContent = button.getAttribute("data-done") || "✓"; } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else { fallback(text); done(); }
  }
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* the text stays selectable */ }
    document.body.removeChild(area);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    if (button.hasAttribute("data-print")) { window.print(); }
    if (button.hasAttribute("data-copy")) { copy(button); }
  });
}());
