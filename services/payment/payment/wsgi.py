"""The gunicorn entry point: `gunicorn payment.wsgi:app`."""
from .app import create_app

app = create_app()
