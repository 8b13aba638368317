"""Server-side sessions in SQLite: the browser holds only a random id, the wizard's answers and the access
tokens stay on the server (shared by every worker process of this machine)."""
from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time

from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, sid: str | None = None, new: bool = False):
        def on_update(this):
            this.modified = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.new = new
        self.modified = False
        self.replaced: str | None = None

    def regenerate(self) -> None:
        """A new id for the same data (after a sign-in or a lookup), so an id planted beforehand is worthless."""
        self.replaced, self.sid = self.replaced or self.sid, secrets.token_urlsafe(32)
        self.modified = True


class SqliteSessionInterface(SessionInterface):
    def __init__(self, path: str, lifetime_seconds: int):
        self.path = path
        self.lifetime = lifetime_seconds
        self._local = threading.local()
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with self._conn() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS portal_session (sid TEXT PRIMARY KEY, data TEXT NOT NULL,"
                         " expires REAL NOT NULL)")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def open_session(self, app, request):
        if request.endpoint == "static":  # assets load in parallel with the page: they must never write a session
            return self.make_null_session(app)
        sid = request.cookies.get(self.get_cookie_name(app))
        if sid and len(sid) < 100:
            row = self._conn().execute("SELECT data, expires FROM portal_session WHERE sid = ?", (sid,)).fetchone()
            if row and row[1] > time.time():
                return ServerSession(json.loads(row[0]), sid=sid)
        return ServerSession(sid=secrets.token_urlsafe(32), new=True)

    def save_session(self, app, session, response):
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        conn = self._conn()
        if session.replaced and not session.new:
            conn.execute("DELETE FROM portal_session WHERE sid = ?", (session.replaced,))
        if not session:
            if session.modified and not session.new:
                conn.execute("DELETE FROM portal_session WHERE sid = ?", (session.sid,))
                response.delete_cookie(name, domain=domain, path=path)
            return
        expires = time.time() + self.lifetime
        if session.modified or session.new:
            conn.execute("INSERT INTO portal_session (sid, data, expires) VALUES (?, ?, ?) ON CONFLICT(sid) DO UPDATE"
                         " SET data = excluded.data, expires = excluded.expires",
                         (session.sid, json.dumps(dict(session), ensure_ascii=False), expires))
        else:
            # Only what a request changed is written: a request that merely read the session (two tabs, a slow
            # page) must not put back the data it read over what another request wrote meanwhile.
            conn.execute("UPDATE portal_session SET expires = ? WHERE sid = ?", (expires, session.sid))
        if secrets.randbelow(200) == 0:  # now and then, forget sessions nobody came back to
            conn.execute("DELETE FROM portal_session WHERE expires < ?", (time.time(),))
        response.set_cookie(name, session.sid, max_age=self.lifetime, httponly=True, domain=domain, path=path,
                            secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app) or "Lax")
