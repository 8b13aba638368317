"""One JSON loader for every HTTP door: bounded size, bounded nesting, and only text a database can store.

Python's own `json.loads` turns hostile input into exceptions that are not `ValueError` (a body nested
10,000 deep raises `RecursionError`) or into values that fail much later (a lone surrogate `\\ud800`
cannot be encoded as UTF-8, so it breaks the database driver, the log line or the answer; a NUL is
refused by PostgreSQL). Here each of those is a `JsonRejected` (a `ValueError`, so Flask's and webargs'
"malformed JSON" paths answer 400), and a body over the size limit is a 413.
"""
from __future__ import annotations

import json
import math
import re

from werkzeug.exceptions import RequestEntityTooLarge

MAX_DEPTH = 32  # a filing is 4 deep; nothing the suite accepts comes near this
MAX_BYTES = 1024 * 1024

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class JsonRejected(json.JSONDecodeError):
    """Malformed or hostile JSON; a JSONDecodeError so every caller's existing handler answers 400."""

    def __init__(self, reason: str):
        # A non-empty `doc`: webargs takes a JSONDecodeError whose doc is "" for "no body at all".
        super().__init__(reason, "<body>", 0)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason

    def __reduce__(self):
        return type(self), (self.reason,)


def _no_constant(name: str):
    raise JsonRejected(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JsonRejected(f"number {text[:20]} is out of range")
    return value


# What can only reach a str through an escape: NUL (a raw control character is malformed JSON) and
# surrogates (UTF-8 cannot encode them, so the bytes never decode to one).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, max_bytes: int | None = MAX_BYTES):
    """Parse `data` or raise JsonRejected (400) / RequestEntityTooLarge (413).

    The checks after parsing cost nothing on ordinary bodies: the walk over the value runs only when
    the text has more brackets than the depth allowed, or an escape that may hide a NUL or a surrogate.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise RequestEntityTooLarge(f"JSON body larger than {max_bytes} bytes")
    if isinstance(data, (bytes, bytearray)):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonRejected("body is not UTF-8") from None
    try:
        value = json.loads(data, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise JsonRejected(f"JSON nested deeper than {max_depth} levels") from None
    except JsonRejected:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRejected(f"malformed JSON: {exc.msg} at position {exc.pos}") from None
    except ValueError as exc:  # an integer longer than Python's int_max_str_digits
        raise JsonRejected(f"malformed JSON: {exc}") from None
    deep = data.count("[") + data.count("{") > max_depth
    suspect = "\\u" in data and _SUSPECT_ESCAPE.search(data) is not None
    if deep or suspect:
        check(value, max_depth)
    return value


def check(value, max_depth: int = MAX_DEPTH) -> None:
    """Walk a parsed value without recursion: depth, and text every backend stores (keys included)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _BAD_TEXT.search(item):
                raise JsonRejected("text contains a NUL character or a lone surrogate (not valid UTF-8 text)")
        elif isinstance(item, dict):
            if depth > max_depth:
                raise JsonRejected(f"JSON nested deeper than {max_depth} levels")
            for key, sub in item.items():
                stack.append((key, depth))
                stack.append((sub, depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                raise JsonRejected(f"JSON nested deeper than {max_depth} levels")
            stack.extend((sub, depth + 1) for sub in item)
