#!/usr/bin/env sh
# Re-vendor the map libraries from the npm registry at the pinned versions (run from the repository root).
set -eu
LEAFLET=1.9.4
MARKERCLUSTER=1.5.3
tmp=$(mktemp -d)
(cd "$tmp" && npm pack --silent "leaflet@$LEAFLET" "leaflet.markercluster@$MARKERCLUSTER" >/dev/null \
  && tar xzf "leaflet-$LEAFLET.tgz" && mv package leaflet \
  && tar xzf "leaflet.markercluster-$MARKERCLUSTER.tgz" && mv package markercluster)
rm -rf static/vendor/leaflet static/vendor/leaflet.markercluster
mkdir -p static/vendor/leaflet static/vendor/leaflet.markercluster
cp -r "$tmp/leaflet/dist/leaflet.js" "$tmp/leaflet/dist/leaflet.css" "$tmp/leaflet/dist/images" static/vendor/leaflet/
cp "$tmp/leaflet/LICENSE" static/vendor/leaflet/LICENSE
cp "$tmp/markercluster/dist/leaflet.markercluster.js" "$tmp/markercluster/dist/MarkerCluster.css" \
   "$tmp/markercluster/dist/MarkerCluster.Default.css" static/vendor/leaflet.markercluster/
cp "$tmp/markercluster/MIT-LICENCE.txt" static/vendor/leaflet.markercluster/LICENSE
rm -rf "$tmp"
echo "vendored leaflet $LEAFLET and leaflet.markercluster $MARKERCLUSTER"
