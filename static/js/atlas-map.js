/* atlas maps: markers, popups and legends built with DOM methods and textContent only.
   Data comes from <script type="application/json"> elements rendered by the server; no user string is ever
   parsed as HTML or JavaScript. */
(function () {
  "use strict";

  var COLOR = /^#[0-9a-fA-F]{6}$/;

  function readData(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function el(tag, value, className) {
    var node = document.createElement(tag);
    if (value !== undefined && value !== null) node.textContent = value;
    if (className) node.className = className;
    return node;
  }

  function link(href, label) {
    var a = el("a", label);
    a.setAttribute("href", href);
    return a;
  }

  function safeColor(color, fallback) {
    return COLOR.test(color || "") ? color : fallback;
  }

  /* A span coloured through the CSSOM: style attributes in markup are blocked by the Content-Security-Policy. */
  function colouredDot(color) {
    var span = document.createElement("span");
    span.style.background = color;
    return span;
  }

  /* A 44 × 44 px touch target (WCAG 2.5.5) around a smaller visible dot (CSS). */
  var TARGET = 44;

  function dotIcon(color) {
    return L.divIcon({
      className: "atlas-marker",
      html: colouredDot(color),
      iconSize: [TARGET, TARGET], iconAnchor: [TARGET / 2, TARGET / 2], popupAnchor: [0, -12]
    });
  }

  /* Texts for controls and popups in the page's language (set by the server in each map's settings). */
  var TEXT = {zoomIn: "Vergrößern", zoomOut: "Verkleinern", closePopup: "Schließen"};

  /* Popups keep clear of the 44 px zoom buttons in the top left corner when the map pans them into view. */
  var POPUP = {maxWidth: 220, autoPanPaddingTopLeft: [60, 16], autoPanPaddingBottomRight: [8, 8]};

  var FOCUSABLE = "a[href], button, [tabindex='0']";

  function focusables(root) {
    return Array.prototype.slice.call(root.querySelectorAll(FOCUSABLE));
  }

  /* The marker or cluster icons of a map in reading (DOM) order: the keyboard walks them with Tab. */
  function markerIcons(map) {
    return focusables(map.getPane("markerPane"));
  }

  /* Keyboard use of a marker with a popup: Enter opens it (Leaflet), Tab moves into it, Shift+Tab from its first
     link back to the marker, Tab from its last control on to the next marker, Escape closes it and returns focus. */
  function keyboardPopup(marker) {
    marker.on("add", function () {
      var icon = marker.getElement();
      if (!icon || icon.getAttribute("data-keys")) return;
      icon.setAttribute("data-keys", "1");
      icon.addEventListener("keydown", function (ev) {
        if (ev.key === "Tab" && !ev.shiftKey && marker.isPopupOpen()) {
          var inside = focusables(marker.getPopup().getElement());
          if (inside.length) { ev.preventDefault(); inside[0].focus(); }
        } else if (ev.key === "Escape" && marker.isPopupOpen()) {
          ev.preventDefault();
          marker.closePopup();
        } else if (ev.key === " ") {
          ev.preventDefault();
          marker.openPopup();
        }
      });
    });
    marker.on("popupopen", function (e) {
      var box = e.popup.getElement();
      var close = box.querySelector(".leaflet-popup-close-button");
      if (close) {
        close.setAttribute("aria-label", TEXT.closePopup);
        close.setAttribute("title", TEXT.closePopup);
      }
      box.atlasMarker = marker;
      if (box.getAttribute("data-keys")) return;
      box.setAttribute("data-keys", "1");
      box.addEventListener("keydown", function (ev) { popupKey(ev, box); });
    });
    marker.on("popupclose", function (e) {
      var box = e.popup.getElement(), icon = marker.getElement();
      var active = document.activeElement;
      if (icon && (!active || active === document.body || (box && box.contains(active)))) icon.focus();
    });
  }

  function popupKey(ev, box) {
    var marker = box.atlasMarker;
    if (!marker) return;
    var inside = focusables(box), icon = marker.getElement();
    if (ev.key === "Escape") {
      ev.preventDefault();
      ev.stopPropagation();
      marker.closePopup();
      if (icon) icon.focus();
    } else if (ev.key === "Tab" && ev.shiftKey && ev.target === inside[0] && icon) {
      ev.preventDefault();
      icon.focus();
    } else if (ev.key === "Tab" && !ev.shiftKey && ev.target === inside[inside.length - 1] && icon) {
      var icons = markerIcons(marker._map), next = icons[icons.indexOf(icon) + 1];
      if (next) {
        ev.preventDefault();
        marker.closePopup();
        next.focus();
      }
    }
  }

  function formatKm(value) {
    return value.toLocaleString(document.documentElement.lang || "de", {maximumFractionDigits: 1});
  }

  /* item: [id, name, organisation, address, protected, phone, distance km or null] */
  function popupFor(item, category, data, labels) {
    var box = el("div", null, "atlas-popup");
    var title = el("strong");
    title.appendChild(link(data.url.replace("{id}", String(item[0])), item[1]));
    box.appendChild(title);
    if (item[2]) box.appendChild(el("div", item[2]));
    if (category) box.appendChild(el("div", category, "atlas-popup-category"));
    if (item[3]) box.appendChild(el("div", item[3]));
    if (item[4]) box.appendChild(el("div", labels.protected, "atlas-popup-note"));
    if (item[5]) {
      var line = el("div");
      line.appendChild(link("tel:" + item[5].replace(/[^+0-9]/g, ""), item[5]));
      box.appendChild(line);
    }
    if (item[6] !== null && item[6] !== undefined) {
      box.appendChild(el("div", labels.distance.replace("%s", formatKm(item[6]))));
    }
    /* The staff search's map: intake and waiting time with their dates, the last check (server-made text) */
    var facts = data.facts && data.facts[String(item[0])];
    if (facts) facts.split(" | ").forEach(function (line) { box.appendChild(el("div", line, "atlas-popup-facts")); });
    return box;
  }

  var instances = [];

  function markReady(map, count) {
    map.fire("atlas:markers");
    /* "markers visible" for DevTools and bench/public.py */
    if (window.performance && performance.mark) performance.mark("atlas-markers");
    instances.push(map);
    var container = map.getContainer();
    container.setAttribute("data-markers", String(count));
    container.setAttribute("data-ready", "1");
  }

  function showNear(map, data) {
    if (!data.near) return;
    if (data.radius_km) {
      L.circle(data.near, {radius: data.radius_km * 1000, color: "#073763", weight: 2, fill: false, interactive: false}).addTo(map);
    }
    L.circleMarker(data.near, {radius: 7, color: "#073763", fillColor: "#ffbf47", fillOpacity: 1, weight: 3,
                               interactive: false}).addTo(map);
  }

  /* Offers as markers clustered in the browser (the staff search's map of at most 5,000 hits). */
  function markers(map, dataId) {
    var data = readData(dataId);
    if (!data) return;
    var labels = data.labels || {protected: "", distance: "%s km", cluster: "%s", stack: "%s", stackHeading: "%s"};
    var layers = [];
    function finish() {
      showNear(map, data);
      if (data.fit) {
        map.fitBounds(data.fit, {maxZoom: 14, padding: [24, 24], animate: false});
      } else if (data.near) {
        map.setView(data.near, 11, {animate: false});
      }
      markReady(map, layers.length);
    }
    var cluster = L.markerClusterGroup({
      /* Clusters to the highest zoom, where they spread out ("spiderfy"): offers at one address stay reachable. */
      chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 45,
      chunkProgress: function (processed, total) { if (processed === total) finish(); },
      iconCreateFunction: function (c) {
        var count = c.getChildCount();
        return clusterIcon(count, clusterName(labels, count));
      }
    });
    /* Leaflet turns Enter on a marker into a click the cluster group never hears: zoom in from the keyboard too. */
    cluster.on("clusterkeypress", function (e) {
      var key = e.originalEvent && e.originalEvent.key;
      if (key === "Enter" || key === " ") {
        e.originalEvent.preventDefault();
        if (map.getZoom() >= map.getMaxZoom()) e.layer.spiderfy();
        else e.layer.zoomToBounds({padding: [24, 24]});
      }
    });
    for (var i = 0; i < data.points.length; i++) {
      layers.push(offerMarker(data.points[i], data.items[data.points[i][3]], data, labels));
    }
    map.addLayer(cluster);
    if (layers.length) {
      cluster.addLayers(layers);
    } else {
      finish();
    }
  }

  function offerMarker(p, item, data, labels) {
    var color = safeColor(data.colors[p[2]], data.fallback);
    var marker = L.marker([p[0], p[1]], {icon: dotIcon(color), title: item[1], alt: item[1], keyboard: true});
    marker.bindPopup(popupFor.bind(null, item, data.categories[p[2]], data, labels), POPUP);
    keyboardPopup(marker);
    return marker;
  }

  /* Markers closer than this on screen would cover each other (several offers at one address, neighbours a few
     metres apart); they share one marker whose popup lists them all, even at the highest zoom. */
  var STACK_PX = 24;

  /* The answer's points grouped by screen distance at the map's zoom: [{points: [...]}], in the answer's order. */
  function stacks(map, points) {
    var zoom = map.getZoom(), cells = {}, groups = [];
    points.forEach(function (p) {
      var at = map.project([p[0], p[1]], zoom), cx = Math.floor(at.x / STACK_PX), cy = Math.floor(at.y / STACK_PX);
      var near = null;
      for (var dx = -1; dx <= 1 && !near; dx++) {
        for (var dy = -1; dy <= 1 && !near; dy++) {
          (cells[(cx + dx) + ":" + (cy + dy)] || []).some(function (g) {
            if (g.at.distanceTo(at) < STACK_PX) { near = g; return true; }
            return false;
          });
        }
      }
      if (near) { near.points.push(p); return; }
      var group = {at: at, points: [p]}, key = cx + ":" + cy;
      (cells[key] = cells[key] || []).push(group);
      groups.push(group);
    });
    return groups;
  }

  /* One marker for offers at (nearly) the same place: "3 Angebote an diesem Ort – Liste öffnen"; its popup lists
     every offer as a single marker's popup would show it. */
  function stackMarker(points, items, data, labels) {
    var count = points.length, lat = 0, lon = 0;
    points.forEach(function (p) { lat += p[0] / count; lon += p[1] / count; });
    var title = labels.stack.replace("%s", formatCount(count));
    var icon = clusterIcon(count);
    icon.options.className += " marker-stack";
    var marker = L.marker([lat, lon], {icon: icon, title: title, alt: title, keyboard: true});
    marker.bindPopup(function () {
      var box = el("div", null, "atlas-popup-stack");
      box.appendChild(el("p", labels.stackHeading.replace("%s", formatCount(count)), "atlas-popup-heading"));
      var list = el("ul");
      points.forEach(function (p) {
        var entry = el("li");
        entry.appendChild(popupFor(items[p[3]], data.categories[p[2]], data, labels));
        list.appendChild(entry);
      });
      box.appendChild(list);
      return box;
    }, POPUP);
    marker.on("add", function () { marker.getElement().setAttribute("aria-label", title); });
    keyboardPopup(marker);
    return marker;
  }

  /* Big maps: the server clusters by zoom level; the browser asks for the visible section after every move.
     Answers carry an ETag, so the browser's cache revalidates instead of downloading a section again. */
  var MAX_LAT_SPAN = 39.9, MAX_LON_SPAN = 79.9;

  function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }

  function sectionOf(map) {
    var b = map.getBounds(), c = b.getCenter();
    var south = clamp(Math.max(b.getSouth(), c.lat - MAX_LAT_SPAN / 2), -90, 90);
    var north = clamp(Math.min(b.getNorth(), c.lat + MAX_LAT_SPAN / 2), -90, 90);
    var west = clamp(Math.max(b.getWest(), c.lng - MAX_LON_SPAN / 2), -180, 180);
    var east = clamp(Math.min(b.getEast(), c.lng + MAX_LON_SPAN / 2), -180, 180);
    return [south, west, north, east].map(function (v) { return v.toFixed(5); }).join(",");
  }

  function formatCount(count) {
    return count.toLocaleString(document.documentElement.lang || "de");
  }

  /* "12 Angebote – vergrößern" (the page's language comes from the server's labels). */
  function clusterName(labels, count) {
    return labels.cluster.replace("%s", formatCount(count));
  }

  /* The number is drawn by CSS (attr); the icon's name is "12 Angebote – vergrößern": an aria-label set on add
     (server clusters) or, given a title, a hidden text inside the icon (the browser's clusters, made internally). */
  function clusterIcon(count, title) {
    var size = count < 10 ? "small" : (count < 100 ? "medium" : "large");
    var box = el("div"), number = el("span");
    number.setAttribute("data-count", formatCount(count));
    box.appendChild(number);
    if (title) {
      number.setAttribute("aria-hidden", "true");
      box.appendChild(el("span", title, "visually-hidden"));
    }
    return L.divIcon({html: box, className: "marker-cluster marker-cluster-" + size, iconSize: L.point(TARGET, TARGET)});
  }

  function clustered(map, dataId) {
    var data = readData(dataId);
    if (!data) return;
    var labels = data.labels || {protected: "", distance: "%s km", cluster: "%s", stack: "%s", stackHeading: "%s"};
    var layer = L.layerGroup().addTo(map);
    var container = map.getContainer();
    var latest = 0, ready = false;

    /* Always at least one level deeper, so Enter on a cluster never leaves the keyboard where it was. */
    function zoomInto(c) {
      var bounds = L.latLngBounds([c[3], c[4]], [c[5], c[6]]);
      var zoom = Math.max(map.getBoundsZoom(bounds, false, L.point(60, 60)), map.getZoom() + 1);
      map.setView(bounds.getCenter(), Math.min(zoom, map.getMaxZoom()));
    }

    var shown = {}, focusFirst = false;

    function clusterMarker(c) {
      var title = clusterName(labels, c[2]);
      var marker = L.marker([c[0], c[1]], {icon: clusterIcon(c[2]), title: title, alt: title, keyboard: true});
      function activate() { focusFirst = true; zoomInto(c); }
      marker.on("click", activate);
      marker.on("add", function () {
        var icon = marker.getElement();
        icon.setAttribute("aria-label", title);
        icon.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); activate(); }
        });
      });
      return marker;
    }

    /* Markers that stay in the new answer are kept (same key), so focus and an open popup survive a reload. */
    function show(answer) {
      var next = {};
      answer.clusters.forEach(function (c) {
        var key = "c" + c.slice(0, 3).join(",");
        next[key] = shown[key] || clusterMarker(c);
      });
      stacks(map, answer.points).forEach(function (group) {
        var points = group.points;
        if (points.length > 1) {
          var ids = points.map(function (p) { return answer.items[p[3]][0] + "@" + p[0] + "," + p[1]; });
          var stackKey = "s" + ids.join(";");
          next[stackKey] = shown[stackKey] || stackMarker(points, answer.items, data, labels);
          return;
        }
        var p = points[0], item = answer.items[p[3]], key = "p" + [item[0], p[0], p[1]].join(",");
        next[key] = shown[key] || offerMarker(p, item, data, labels);
      });
      Object.keys(shown).forEach(function (key) { if (!next[key]) layer.removeLayer(shown[key]); });
      Object.keys(next).forEach(function (key) { if (!shown[key]) layer.addLayer(next[key]); });
      shown = next;
      if (focusFirst) {
        focusFirst = false;
        var icons = markerIcons(map);
        if (icons.length) icons[0].focus();
      }
      map.fire("atlas:markers");
      container.setAttribute("data-shown", String(answer.points.length + answer.clusters.length));
      if (!ready) {
        ready = true;
        markReady(map, answer.total);
      } else {
        container.setAttribute("data-markers", String(answer.total));
      }
      container.setAttribute("data-loaded", String(latest));
    }

    function load() {
      var mine = ++latest;
      var url = data.data + (data.data.indexOf("?") < 0 ? "?" : "&") + "bbox=" + sectionOf(map) + "&zoom=" + map.getZoom();
      fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error(String(r.status))); })
        .then(function (answer) { if (mine === latest) show(answer); })
        .catch(function () { container.setAttribute("data-error", "1"); });
    }

    showNear(map, data);
    if (data.fit) {
      map.fitBounds(data.fit, {maxZoom: 14, padding: [24, 24], animate: false});
    } else if (data.near) {
      map.setView(data.near, 11, {animate: false});
    }
    map.on("moveend", load);
    /* The page carries the opening section at the zooms it may open with: shown at once, no round trip first. */
    var first = data.first && data.first[String(map.getZoom())];
    if (first) show(first);
    load();
  }

  /* The locations of one offer; protected sites appear as an area around the Gemeinde, never as a pin. */
  function offerLocations(map, dataId) {
    var data = readData(dataId);
    if (!data) return;
    var group = L.featureGroup();
    data.points.forEach(function (p) {
      if (p.protected) {
        L.circle([p.lat, p.lon], {radius: 1500, color: "#5c2d91", weight: 2, fillOpacity: 0.1})
          .bindPopup(el("div", p.label)).addTo(group);
      } else {
        var marker = L.marker([p.lat, p.lon], {icon: dotIcon(safeColor(data.color, "#073763")), title: p.label, alt: p.label})
          .bindPopup(el("div", p.label), POPUP);
        keyboardPopup(marker);
        marker.addTo(group);
      }
    });
    group.addTo(map);
    if (data.points.length) map.fitBounds(group.getBounds(), {maxZoom: 14, padding: [30, 30]});
    markReady(map, data.points.length);
  }

  /* Coverage: one graduated circle per Gemeinde; size = number of offers, colour = distance to the nearest. */
  function coverage(map, dataId) {
    var data = readData(dataId);
    if (!data) return;
    var group = L.featureGroup();
    data.cells.forEach(function (c) {
      var color = c.count > 0 ? "#1e8449" : (c.gap ? "#b00020" : "#b9770e");
      var box = el("div", null, "atlas-popup");
      box.appendChild(el("strong", c.name));
      box.appendChild(el("div", c.count_label));
      box.appendChild(el("div", c.nearest_label));
      L.circleMarker([c.lat, c.lon], {radius: 7 + 3 * Math.sqrt(c.count), color: color, fillColor: color,
                                      fillOpacity: c.gap ? 0.25 : 0.6, weight: c.gap ? 3 : 1,
                                      dashArray: c.gap ? "4 3" : null})
        .bindPopup(box).bindTooltip(el("span", c.name)).addTo(group);
    });
    group.addTo(map);
    if (data.fit) {
      map.fitBounds(data.fit, {padding: [20, 20], animate: false});  /* the atlas's own region */
    } else if (data.cells.length) {
      map.fitBounds(group.getBounds(), {padding: [20, 20]});
    }
    markReady(map, data.cells.length);
  }

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  /* Where a town name may sit, tried in turn: on its centre, below, above, right, left; else it is hidden. */
  var LABEL_SPOTS = [[0, 0], [0, 30], [0, -30], [1, 0], [-1, 0]];

  /* Moves or hides every town name whose box would touch a marker, a cluster or an earlier name, so names never
     cover markers. */
  function declutter(map) {
    var pane = map.getPane("atlasLabels");
    if (!pane) return;
    var taken = markerIcons(map).map(function (m) { return m.getBoundingClientRect(); });
    Array.prototype.forEach.call(pane.querySelectorAll(".atlas-place-label span"), function (span) {
      span.style.visibility = "";
      span.style.transform = "";
      var home = span.getBoundingClientRect(), width = home.width, placed = null;
      for (var i = 0; i < LABEL_SPOTS.length && !placed; i++) {
        var dx = LABEL_SPOTS[i][0] * (width / 2 + 26), dy = LABEL_SPOTS[i][1];
        var box = {left: home.left + dx, right: home.right + dx, top: home.top + dy, bottom: home.bottom + dy};
        if (!taken.some(function (t) { return overlaps(box, t); })) placed = [dx, dy, box];
      }
      if (placed) {
        span.style.transform = "translate(calc(-50% + " + placed[0] + "px), calc(-50% + " + placed[1] + "px))";
        taken.push(placed[2]);
      }
      span.style.visibility = placed ? "" : "hidden";
      span.parentNode.setAttribute("data-hidden", placed ? "0" : "1");
    });
  }

  /* Town names for orientation when no tile server is configured: in a pane below the markers, and hidden where
     they would touch one. */
  function placeLabels(map, dataId) {
    var data = readData(dataId);
    if (!data) return;
    map.createPane("atlasLabels").style.zIndex = 450;  /* above shapes (400), below markers (600) */
    var group = L.layerGroup();
    data.forEach(function (p) {
      L.marker([p[0], p[1]], {icon: L.divIcon({className: "atlas-place-label", html: el("span", p[2]), iconSize: null}),
                              interactive: false, keyboard: false, pane: "atlasLabels"}).addTo(group);
    });
    function toggle() {
      if (map.getZoom() >= 10) { group.addTo(map); } else { group.remove(); }
      declutter(map);
    }
    map.on("zoomend", toggle);
    map.on("atlas:markers", function () { declutter(map); });
    toggle();
  }

  var layers = {markers: markers, clustered: clustered, offerLocations: offerLocations, coverage: coverage, placeLabels: placeLabels};

  /* Builds each map from its JSON settings (rendered by atlas/maps.py): no inline script on any page. */
  function boot(configEl) {
    var cfg = JSON.parse(configEl.textContent);
    if (!document.getElementById(cfg.id)) return;
    if (cfg.text) TEXT = cfg.text;
    var map = L.map(cfg.id, {center: cfg.center, zoom: cfg.zoom, maxZoom: cfg.maxZoom, zoomControl: false,
                             attributionControl: false});
    /* Controls labelled in the page's language; Leaflet's own labels are English. */
    L.control.zoom({zoomInTitle: TEXT.zoomIn, zoomOutTitle: TEXT.zoomOut}).addTo(map);
    L.control.attribution({prefix: '<a href="https://leafletjs.com" hreflang="en">Leaflet</a>'}).addTo(map);
    if (cfg.scale) L.control.scale({imperial: false}).addTo(map);
    cfg.tiles.forEach(function (t) {
      L.tileLayer(t.url, {attribution: t.attribution, maxZoom: t.maxZoom}).addTo(map);
    });
    cfg.layers.forEach(function (layer) {
      if (Object.prototype.hasOwnProperty.call(layers, layer[0])) layers[layer[0]](map, layer[1]);
    });
  }

  window.atlasMap = {markers: markers, clustered: clustered, offerLocations: offerLocations, coverage: coverage,
                     placeLabels: placeLabels,
                     instances: instances};
  document.querySelectorAll("script.atlas-map-config").forEach(boot);
}());
