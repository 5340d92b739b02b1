"""Production entry point: `gunicorn wsgi:app` (see docs/operations.md)."""

import os

# Each worker computes one small matrix product per search (semantic search). A BLAS thread pool in every worker
# spins on every core and the workers slow each other down (API search p50 with 4 workers on 2 cores: 25 ms
# instead of 9.5 ms, docs/performance.md). It must be set before numpy loads; an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from atlas import create_app  # noqa: E402

app = create_app()
