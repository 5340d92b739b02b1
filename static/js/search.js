/* atlas search page: suggestions (ARIA combobox) and the shortlist kept in sessionStorage only. No external requests. */
(function () {
  "use strict";

  function initCombobox(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var url = input.getAttribute("data-suggest-url");
    var timer = null;
    var active = -1;
    var options = [];
    var lastAsked = "";

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      options = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function mark(index) {
      options.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      input.value = options[index].getAttribute("data-value");
      close();
    }

    function render(items) {
      list.innerHTML = "";
      options = items.map(function (item, i) {
        var li = document.createElement("li");
        li.id = input.id + "-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-value", item.value);
        li.textContent = item.value;
        var kind = document.createElement("span");
        kind.className = "kind";
        kind.textContent = " · " + item.kind;
        li.appendChild(kind);
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        list.appendChild(li);
        return li;
      });
      list.hidden = options.length === 0;
      input.setAttribute("aria-expanded", options.length ? "true" : "false");
      active = -1;
    }

    function ask() {
      var value = input.value;
      if (value.trim().length < 2) { close(); return; }
      if (value === lastAsked) { return; }
      lastAsked = value;
      fetch(url + "?q=" + encodeURIComponent(value), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (data) { if (input.value === value) { render(data.suggestions || []); } })
        .catch(function () { close(); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden || !options.length) { return; }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        mark((active + 1) % options.length);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        mark(active <= 0 ? options.length - 1 : active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    // On a slow phone the script may load after the first letters were typed: suggest for them too.
    if (document.activeElement === input) { ask(); }
  }

  function initShortlist(form) {
    var key = form.getAttribute("data-storage-key");
    var countEl = form.querySelector("[data-shortlist-count]");
    var listEl = form.querySelector("[data-shortlist-items]");
    var removeLabel = form.getAttribute("data-remove-label");
    var emptyLabel = form.getAttribute("data-empty-label");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[type=checkbox][name=ids]"));

    function load() {
      try { return JSON.parse(sessionStorage.getItem(key) || "[]"); } catch (e) { return []; }
    }
    function save(items) {
      try { sessionStorage.setItem(key, JSON.stringify(items)); } catch (e) { /* storage full or blocked: keep the page state */ }
    }
    function render() {
      var items = load();
      countEl.textContent = String(items.length);
      listEl.innerHTML = "";
      if (!items.length) {
        var empty = document.createElement("li");
        empty.className = "hint";
        empty.textContent = emptyLabel;
        listEl.appendChild(empty);
      }
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.appendChild(document.createTextNode(item.name + " "));
        var button = document.createElement("button");
        button.type = "button";
        button.className = "secondary small";
        button.textContent = removeLabel;
        button.setAttribute("aria-label", item.name + ": " + removeLabel);
        button.addEventListener("click", function () {
          save(load().filter(function (other) { return other.id !== item.id; }));
          sync();
        });
        li.appendChild(button);
        listEl.appendChild(li);
      });
    }
    function sync() {
      var ids = load().map(function (item) { return item.id; });
      boxes.forEach(function (box) { box.checked = ids.indexOf(box.value) >= 0; });
      render();
    }
    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        var items = load().filter(function (item) { return item.id !== box.value; });
        if (box.checked) { items.push({ id: box.value, name: box.getAttribute("data-name") }); }
        save(items);
        render();
      });
    });
    form.querySelector("[data-shortlist-clear]").addEventListener("click", function () { save([]); sync(); });
    form.addEventListener("submit", function () {
      // Send the whole shortlist in its order: stored ids as hidden fields, the page's boxes left out once.
      form.querySelectorAll("input[data-added]").forEach(function (el) { el.remove(); });
      load().forEach(function (item) {
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "ids";
        hidden.value = item.id;
        hidden.setAttribute("data-added", "1");
        form.appendChild(hidden);
      });
      boxes.forEach(function (box) { box.disabled = true; });
      setTimeout(function () { boxes.forEach(function (box) { box.disabled = false; }); }, 0);
    });
    window.addEventListener("pageshow", function () { boxes.forEach(function (box) { box.disabled = false; }); sync(); });
    sync();
  }

  document.querySelectorAll("input[role=combobox][data-suggest-url]").forEach(initCombobox);
  var shortlist = document.getElementById("merkliste-form");
  if (shortlist) { initShortlist(shortlist); }
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
}());
