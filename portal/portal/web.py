"""Helpers the pages share: the API clients, the error summary's list, form values."""
from __future__ import annotations

from flask import current_app


def apis():
    return current_app.extensions["portal.apis"]


def settings():
    return current_app.extensions["portal.settings"]


def summary(errors: dict[str, str], order: list[str] | None = None) -> list[dict]:
    """The error summary's items, in the order the fields appear on the page, each linking to its field."""
    keys = [k for k in (order or []) if k in errors] + [k for k in errors if k not in (order or [])]
    return [{"text": errors[k], "href": f"#{k}"} for k in keys]
