"""Default settings; instance/config.py and ATLAS_* environment variables override them."""

from __future__ import annotations

DEV_SECRET_KEY = "dev"


class Defaults:
    """Every setting atlas reads, with its default."""

    # Signs sessions and CSRF tokens. The default only works in debug or testing mode.
    SECRET_KEY = DEV_SECRET_KEY
    # Any SQLAlchemy URL; None means the embedded SQLite file instance/atlas.sqlite.
    DATABASE_URL: str | None = None
    # UI languages, the first is the default.
    LANGUAGES = ["de", "en"]
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"
    # Entries per page in lists and the API (the API clamps `per_page` to API_MAX_PER_PAGE).
    PER_PAGE = 25
    API_MAX_PER_PAGE = 200
    # Name of this atlas, shown in the page header.
    SITE_NAME = "Netzwerkatlas"
    # Public base URL, used in printed handouts and e-mails (None: the request's host).
    PUBLIC_BASE_URL: str | None = None
    # Street-level geocoding through a Nominatim server; None disables it (offline gazetteer only).
    NOMINATIM_URL: str | None = None
    NOMINATIM_USER_AGENT = "Netzwerkatlas/0.1 (+https://atlas.example/kontakt)"
    NOMINATIM_TIMEOUT = 5.0
    # Minimum seconds between two Nominatim requests (the public server allows 1/s).
    NOMINATIM_MIN_DELAY = 1.0
    # Maps: start view, and the tile server (None: no tiles, markers and town names still show).
    # Point MAP_TILE_URL at your own tile server for privacy, e.g. "https://tiles.example.org/{z}/{x}/{y}.png".
    MAP_CENTER = (51.33, 7.55)
    MAP_ZOOM = 10
    MAP_TILE_URL: str | None = None
    MAP_TILE_ATTRIBUTION = "© OpenStreetMap-Mitwirkende"
    MAP_TILE_MAX_ZOOM = 18
    # Coverage view: a Gemeinde without an offer of a category whose nearest one is farther than this is a gap.
    COVERAGE_GAP_KM = 10
    # Imports: largest file (bytes) and most rows accepted, by the CLI and the upload page alike.
    IMPORT_MAX_BYTES = 20 * 1024 * 1024
    IMPORT_MAX_ROWS = 20_000
    # Zip-bomb guards for .xlsx and zipped HSDS packages: total unpacked size, packing ratio, member count.
    IMPORT_XLSX_MAX_UNCOMPRESSED = 100 * 1024 * 1024
    IMPORT_XLSX_MAX_RATIO = 200
    IMPORT_XLSX_MAX_MEMBERS = 2_000
    # Hours an uploaded file waits in instance/imports/ for its "Übernehmen" click.
    IMPORT_UPLOAD_TTL_HOURS = 24
    # Session cookie hardening.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # Maximum request body (bytes); uploads above it get a 413 with a German message.
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    # Time limit for a CSRF token (seconds); None ties it to the session.
    WTF_CSRF_TIME_LIMIT: int | None = None
