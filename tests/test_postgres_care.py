"""PostgreSQL gets planner statistics right after a bulk import (not only when autovacuum comes by)."""

import pytest
import sqlalchemy as sa

HEADER = "Einrichtung;Träger;Straße;PLZ;Ort;Telefon;Kategorie\n"


def big_csv(path, rows: int):
    lines = [f"Beratung {n};Träger {n % 40} e. V.;Hauptstraße {n % 90 + 1};58452;Witten;02302 {10000 + n};"
             "Suchtberatung\n" for n in range(rows)]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def statistics(app, table: str) -> int:
    with app.extensions["atlas.engine"].connect() as conn:
        return conn.scalar(sa.text("SELECT count(*) FROM pg_stats WHERE tablename = :t"), {"t": table})


def test_bulk_import_analyzes_the_tables(app, tmp_path):
    if app.extensions["atlas.engine"].dialect.name != "postgresql":
        pytest.skip("PostgreSQL run only")
    small = app.test_cli_runner().invoke(args=["import", str(big_csv(tmp_path / "small.csv", 20))])
    assert small.exit_code == 0, small.output
    result = app.test_cli_runner().invoke(args=["import", str(big_csv(tmp_path / "big.csv", 300))])
    assert result.exit_code == 0, result.output
    assert statistics(app, "service") > 0 and statistics(app, "organization") > 0
