"""GeoJSON FeatureCollections: OSM exports (overpass turbo) use the OSM tag rules, others the table synonyms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .files import load_json, read_bytes
from .osm_format import element_record, licence, looks_like_osm
from .records import ImportFileError, ReadOptions, ReadResult
from .tabular import SYNONYM_INDEX, FIELD_LABELS, build_record, cell_text, header_key


def position(geometry: Any) -> tuple[float | None, float | None, str | None]:
    """A point for a geometry (the mean of its coordinates for lines and areas); GeoJSON order is lon, lat."""
    if not isinstance(geometry, dict):
        return None, None, None
    points: list[tuple[float, float]] = []

    def walk(c: Any) -> None:
        if isinstance(c, list | tuple) and len(c) >= 2 and all(isinstance(x, int | float) for x in c[:2]):
            points.append((float(c[1]), float(c[0])))
        elif isinstance(c, list | tuple):
            for item in c:
                walk(item)

    walk(geometry.get("coordinates"))
    if not points:
        return None, None, "Geometrie ohne Koordinaten."
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None, (f"Koordinaten außerhalb des gültigen Bereichs (Breite {lat:g}, Länge {lon:g}); "
                            "GeoJSON verlangt die Reihenfolge Länge, Breite.")
    return lat, lon, None


def read(path: Path, options: ReadOptions) -> ReadResult:
    """Read a GeoJSON FeatureCollection into records."""
    data, warnings = load_json(read_bytes(path, options.max_bytes), "GeoJSON-Datei")
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise ImportFileError("Das ist keine GeoJSON-FeatureCollection: die Liste „features“ fehlt.")
    user = {header_key(k): v for k, v in (options.mapping or {}).items()}
    records = []
    osm = False
    mapping: dict[str, str] = {}
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            continue
        if len(records) >= options.max_rows:
            raise ImportFileError(f"Die Datei hat mehr als {options.max_rows} Einträge; bitte aufteilen.")
        props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        lat, lon, problem = position(feature.get("geometry"))
        if looks_like_osm(props) and not any(SYNONYM_INDEX.get(header_key(k)) == "categories" for k in props):
            osm = True
            osm_ref = str(props.get("@id") or props.get("id") or "")
            osm_type, _, osm_id = osm_ref.partition("/")
            record = element_record(number, props, lat, lon, osm_type or None, osm_id or None)
        else:
            values: dict[str, str] = {}
            for key, value in props.items():
                target = user.get(header_key(key)) or SYNONYM_INDEX.get(header_key(key))
                if target and target != "ignore" and cell_text(value):
                    text = ", ".join(map(cell_text, value)) if isinstance(value, list) else cell_text(value)
                    values[target] = f"{values[target]}\n{text}" if target in values else text
                    mapping[key] = FIELD_LABELS[target]
            if lat is not None:
                values["latitude"], values["longitude"] = str(lat), str(lon)
            record = build_record(number, values, raw={k: cell_text(v) for k, v in props.items()})
            if feature.get("id") is not None and not record.source_id:
                record.source_id = str(feature["id"])
        if problem:
            record.errors.append(problem)
        records.append(record)
    if not records:
        raise ImportFileError("Die GeoJSON-Datei enthält keine Objekte (features).")
    result = ReadResult("geojson", records, warnings=warnings,
                        mapping={"(Format)": "GeoJSON" + (" mit OpenStreetMap-Merkmalen" if osm else ""), **mapping})
    if osm:
        result.licence = licence()
    return result
