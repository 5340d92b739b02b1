/* Loads Leaflet and the map script only when a small map (an offer's sites) comes near the screen, so an offer
   page costs no map bytes until the map is wanted (issue 10: ≤ 50 kB on a cheap phone). Same-origin files only. */
(function () {
  "use strict";

  function load(frame) {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = frame.getAttribute("data-leaflet-css");
    document.head.appendChild(css);
    var scripts = JSON.parse(frame.getAttribute("data-scripts"));
    (function next(i) {
      if (i >= scripts.length) return;
      var s = document.createElement("script");
      s.src = scripts[i];
      s.onload = function () { next(i + 1); };
      document.body.appendChild(s);
    }(0));
  }

  document.querySelectorAll(".map-frame[data-scripts]").forEach(function (frame) {
    if (!("IntersectionObserver" in window)) { load(frame); return; }
    var seen = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) {
        seen.disconnect();
        load(frame);
      }
    }, {rootMargin: "300px"});
    seen.observe(frame);
  });
}());
