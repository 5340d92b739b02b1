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

  function dotIcon(color, size) {
    size = size || 22;
    return L.divIcon({
      className: "atlas-marker",
      html: colouredDot(color),
      iconSize: [size, size], iconAnchor: [size / 2, size / 2], popupAnchor: [0, -size / 2]
    });
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
    return box;
  }

  var instances = [];

  function markReady(map, count) {
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
    var labels = data.labels || {protected: "", distance: "%s km"};
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
      chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 45, disableClusteringAtZoom: 15,
      chunkProgress: function (processed, total) { if (processed === total) finish(); }
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
    marker.bindPopup(popupFor.bind(null, item, data.categories[p[2]], data, labels), {maxWidth: 280});
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

  function clusterIcon(count) {
    var size = count < 10 ? "small" : (count < 100 ? "medium" : "large");
    var box = el("div");
    box.appendChild(el("span", count.toLocaleString(document.documentElement.lang || "de")));
    return L.divIcon({html: box, className: "marker-cluster marker-cluster-" + size, iconSize: L.point(40, 40)});
  }

  function clustered(map, dataId) {
    var data = readData(dataId);
    if (!data) return;
    var labels = data.labels || {protected: "", distance: "%s km", cluster: "%s"};
    var layer = L.layerGroup().addTo(map);
    var container = map.getContainer();
    var latest = 0, ready = false;

    function zoomInto(c) {
      if (c[3] === c[5] && c[4] === c[6]) {
        map.setView([c[0], c[1]], Math.max(map.getZoom() + 2, 16));
      } else {
        map.fitBounds([[c[3], c[4]], [c[5], c[6]]], {padding: [30, 30]});
      }
    }

    function show(answer) {
      layer.clearLayers();
      answer.clusters.forEach(function (c) {
        var title = labels.cluster.replace("%s", String(c[2]));
        var marker = L.marker([c[0], c[1]], {icon: clusterIcon(c[2]), title: title, alt: title, keyboard: true});
        marker.on("click", zoomInto.bind(null, c));
        layer.addLayer(marker);
      });
      answer.points.forEach(function (p) { layer.addLayer(offerMarker(p, answer.items[p[3]], data, labels)); });
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
        L.marker([p.lat, p.lon], {icon: dotIcon(safeColor(data.color, "#073763"), 24), title: p.label, alt: p.label})
          .bindPopup(el("div", p.label)).addTo(group);
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

  /* Town names for orientation when no tile server is configured. */
  function placeLabels(map, dataId) {
    var data = readData(dataId);
    if (!data) return;
    var group = L.layerGroup();
    data.forEach(function (p) {
      L.marker([p[0], p[1]], {icon: L.divIcon({className: "atlas-place-label", html: el("span", p[2]), iconSize: null}),
                              interactive: false, keyboard: false}).addTo(group);
    });
    function toggle() {
      if (map.getZoom() >= 10) { group.addTo(map); } else { group.remove(); }
    }
    map.on("zoomend", toggle);
    toggle();
  }

  var layers = {markers: markers, clustered: clustered, offerLocations: offerLocations, coverage: coverage, placeLabels: placeLabels};

  /* Builds each map from its JSON settings (rendered by atlas/maps.py): no inline script on any page. */
  function boot(configEl) {
    var cfg = JSON.parse(configEl.textContent);
    if (!document.getElementById(cfg.id)) return;
    var map = L.map(cfg.id, {center: cfg.center, zoom: cfg.zoom, maxZoom: cfg.maxZoom, zoomControl: true});
    if (cfg.scale) L.control.scale().addTo(map);
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
