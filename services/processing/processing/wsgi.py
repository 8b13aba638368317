"""The gunicorn entry point: `gunicorn processing.wsgi:app`."""
from .app import create_app

app = create_app()
