"""Production entry point: `gunicorn wsgi:app` (see docs/operations.md)."""

from atlas import create_app

app = create_app()
