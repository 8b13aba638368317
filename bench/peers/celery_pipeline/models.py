"""Three ORM tables in one database: dossiers, cases, sms."""
from __future__ import annotations

import os
from datetime import datetime, timezone

from sqlalchemy import DateTime, ForeignKey, Integer, String, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Dossier(Base):
    __tablename__ = "dossiers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    procedure_code: Mapped[str] = mapped_column(String(40))
    full_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), unique=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Sms(Base):
    __tablename__ = "sms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"))
    status: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def make_engine(url: str | None = None):
    url = url or os.environ.get("PEER_DATABASE_URL", "sqlite:///var/data/peer.db")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _record):  # what a team on SQLite would set after the first "database is locked"
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

        return engine
    return create_engine(url, pool_pre_ping=True)


engine = make_engine()
Session = sessionmaker(engine, expire_on_commit=False)


def create_all() -> None:
    Base.metadata.create_all(engine)
