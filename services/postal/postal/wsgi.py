"""The gunicorn entry point: `gunicorn postal.wsgi:app`."""
from .app import create_app

app = create_app()
