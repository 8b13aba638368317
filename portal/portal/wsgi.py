"""gunicorn entry point: `gunicorn portal.wsgi:app`."""
from .app import create_app

app = create_app()
