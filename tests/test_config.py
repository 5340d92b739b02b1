"""Configuration layers and refusal of unsafe or broken settings."""

import pytest

from atlas import create_app
from atlas.db import ConfigError, database_url


def base(tmp_path, **extra):
    return {"INSTANCE_PATH": str(tmp_path / "inst"), "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"} | extra


def test_defaults_apply(tmp_path):
    app = create_app(base(tmp_path, TESTING=True))
    assert app.config["PER_PAGE"] == 25
    assert app.config["LANGUAGES"] == ["de", "en"]
    assert app.config["NOMINATIM_URL"] is None


def test_default_database_is_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("ATLAS_DATABASE_URL", raising=False)
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "inst")})
    assert database_url(app) == f"sqlite:///{tmp_path}/inst/atlas.sqlite"
    assert (tmp_path / "inst").is_dir()


def test_instance_file_then_environment_then_test_config(tmp_path, monkeypatch):
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "config.py").write_text("PER_PAGE = 7\nSITE_NAME = 'Atlas Datei'\nSECRET_KEY = 'from-file'\nAPI_MAX_PER_PAGE = 70\n")
    monkeypatch.setenv("ATLAS_SITE_NAME", "Atlas Umgebung")
    monkeypatch.setenv("ATLAS_API_MAX_PER_PAGE", "90")
    app = create_app(base(tmp_path, API_MAX_PER_PAGE=99))
    assert app.config["PER_PAGE"] == 7  # file beats default
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["SITE_NAME"] == "Atlas Umgebung"  # environment beats file
    assert app.config["API_MAX_PER_PAGE"] == 99  # explicit test config beats environment


def test_environment_secret_key_and_database_url(tmp_path, monkeypatch):
    monkeypatch.setenv("ATLAS_SECRET_KEY", "s3cr3t-from-env")
    monkeypatch.setenv("ATLAS_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.config["SECRET_KEY"] == "s3cr3t-from-env"
    assert database_url(app).endswith("/env.sqlite")


def test_refuses_default_secret_outside_debug_and_testing(tmp_path, monkeypatch):
    monkeypatch.delenv("ATLAS_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app(base(tmp_path))
    assert create_app(base(tmp_path, TESTING=True)).config["SECRET_KEY"] == "dev"
    assert create_app(base(tmp_path, DEBUG=True)).debug


def test_broken_instance_file_gives_clear_error(tmp_path):
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "config.py").write_text("SECRET_KEY = 'unterminated\n")
    with pytest.raises(ConfigError, match="config.py cannot be read"):
        create_app(base(tmp_path, TESTING=True))


@pytest.mark.parametrize("key,value", [("PER_PAGE", 0), ("API_MAX_PER_PAGE", "viele"), ("BABEL_DEFAULT_LOCALE", "fr"),
                                       ("IMPORT_NICE", "niedrig"), ("INDEXER_NICE", 40), ("IMPORT_NICE", 2.5),
                                       ("SEARCH_SEMANTIC_FEEDBACK", -1), ("SEARCH_SEMANTIC_FEEDBACK", "acht"),
                                       ("SEARCH_SEMANTIC_FEEDBACK_SHARE", 0), ("SEARCH_SEMANTIC_FEEDBACK_SHARE", 1.5),
                                       ("SEARCH_SEMANTIC_FEEDBACK_SHARE", "viel")])
def test_invalid_values_are_refused(tmp_path, key, value):
    with pytest.raises(ConfigError, match=key):
        create_app(base(tmp_path, TESTING=True, **{key: value}))


def test_invalid_database_url(tmp_path):
    with pytest.raises(ConfigError, match="not a valid SQLAlchemy URL"):
        create_app(base(tmp_path, TESTING=True, DATABASE_URL="kein url"))


def test_postgresql_url_uses_psycopg3(tmp_path):
    app = create_app(base(tmp_path, TESTING=True, DATABASE_URL="postgresql://u:pw@db.example:5432/atlas"))
    assert app.extensions["atlas.engine"].url.drivername == "postgresql+psycopg"


def test_factory_has_no_side_effects_on_the_database(tmp_path):
    create_app(base(tmp_path, TESTING=True))
    assert not (tmp_path / "x.sqlite").exists()


def test_the_production_entry_point_keeps_numpy_to_one_blas_thread_per_worker(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "OPENBLAS_", "OMP_"))}
    env |= {"ATLAS_SECRET_KEY": "entry-point-test-secret", "ATLAS_INSTANCE_PATH": str(tmp_path),
            "ATLAS_DATABASE_URL": f"sqlite:///{tmp_path / 'atlas.sqlite'}"}
    code = ("import os, wsgi, numpy\n"
            "numpy.ones((64, 64)) @ numpy.ones(64)\n"  # BLAS starts its threads by now
            "print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))")
    threads = {}
    for label, extra in (("entry point", {}), ("explicit setting", {"OPENBLAS_NUM_THREADS": "2"})):
        out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env | extra, capture_output=True, text=True,
                             timeout=60, check=True).stdout.split()
        threads[label] = (out[0], int(out[1]))
    assert threads["entry point"][0] == "1" and threads["explicit setting"][0] == "2"  # an explicit setting wins
    # With one BLAS thread no pool thread is started; with two, one is (on any machine: the count is explicit).
    assert threads["entry point"][1] < threads["explicit setting"][1]
