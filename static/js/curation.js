// Coordinator area: searchable multi-selects, "unsaved changes" in the save bar, select-all on lists.
// Everything here only improves pages that work without JavaScript (plain checkboxes, a plain save button).
(function () {
  "use strict";
  var lang = document.documentElement.lang === "en" ? "en" : "de";
  var words = {
    de: { filter: "In der Liste suchen", chosen: " gewählt", none: "Kein Eintrag passt." },
    en: { filter: "Search the list", chosen: " selected", none: "Nothing matches." }
  }[lang];

  function countChecked(box) {
    return box.querySelectorAll("input[type=checkbox]:checked").length;
  }

  function enhanceMulti(box, index) {
    var list = box.querySelector(".multi-box");
    var count = box.querySelector("[data-count]");
    if (!list) { return; }
    var items = Array.prototype.slice.call(list.querySelectorAll("li"));
    if (items.length > 8) {
      var id = (box.id || "multi-" + index) + "-filter";
      var label = document.createElement("label");
      label.className = "multi-filter-label";
      label.htmlFor = id;
      label.textContent = words.filter;
      var input = document.createElement("input");
      input.type = "search";
      input.id = id;
      input.className = "multi-filter";
      input.autocomplete = "off";
      var empty = document.createElement("p");
      empty.className = "help";
      empty.hidden = true;
      empty.textContent = words.none;
      list.parentNode.insertBefore(label, list);
      list.parentNode.insertBefore(input, list);
      list.parentNode.insertBefore(empty, list);
      input.addEventListener("input", function () {
        var needle = input.value.trim().toLowerCase();
        var shown = 0;
        items.forEach(function (li) {
          var hit = !needle || li.textContent.toLowerCase().indexOf(needle) !== -1;
          li.hidden = !hit;
          if (hit) { shown += 1; }
        });
        Array.prototype.forEach.call(list.querySelectorAll(".group"), function (group) {
          group.hidden = !group.querySelector("li:not([hidden])");
        });
        empty.hidden = shown > 0;
      });
      // Enter in the search box filters; it must not submit the whole form.
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); }
      });
    }
    if (count) {
      box.addEventListener("change", function () {
        count.textContent = countChecked(box) + words.chosen;
      });
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-multi]"), enhanceMulti);

  var form = document.querySelector("form[data-edit-form]");
  if (form) {
    var dirty = form.querySelector("[data-dirty]");
    var mark = function (event) {
      if (dirty && !(event.target.classList && event.target.classList.contains("multi-filter"))) { dirty.hidden = false; }
    };
    form.addEventListener("input", mark);
    form.addEventListener("change", mark);
  }

  // A link to a field inside a folded group opens the group first.
  function openTarget(hash) {
    if (!hash || hash.length < 2) { return; }
    var target = document.getElementById(decodeURIComponent(hash.slice(1)));
    var details = target && target.closest ? target.closest("details") : null;
    if (details && !details.open) { details.open = true; }
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
    if (link) { openTarget(link.getAttribute("href")); }
  });
  openTarget(window.location.hash);

  // "Select all" exists only with JavaScript: without it, the boxes are ticked one by one.
  Array.prototype.forEach.call(document.querySelectorAll("[data-select-all]"), function (slot) {
    var name = slot.getAttribute("data-select-all");
    var all = document.createElement("input");
    all.type = "checkbox";
    all.className = "select-all";
    all.setAttribute("aria-label", slot.getAttribute("data-label") || "");
    slot.appendChild(all);
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll("input[name='" + name + "']"), function (box) {
        box.checked = all.checked;
      });
    });
  });
}());
