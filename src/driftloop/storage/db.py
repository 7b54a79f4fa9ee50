"""Database access: one engine per URL, sessions as context managers, migrations."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from driftloop.errors import StorageError

__all__ = ["Database", "current_revision", "downgrade", "upgrade"]

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def _make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            db_path = url.split("///", 1)[-1]
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

            return engine
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise StorageError(
            f"database URL '{_safe(url)}' is not valid ({exc}); use sqlite:///PATH or "
            "postgresql+psycopg2://USER:PASS@HOST:PORT/DB (setting database_url or "
            "DRIFTLOOP_DATABASE_URL)"
        ) from None


def _safe(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


class Database:
    """An engine and a session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            detail = _one_line(exc.orig)
            if "no such table" in detail or "does not exist" in detail:
                detail += "; create the tables with 'driftloop db upgrade'"
            raise StorageError(f"database '{_safe(self.url)}' failed: {detail}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def check_ready(self) -> None:
        """Raise a clear error when the database is unreachable or not migrated."""
        try:
            with self.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
        except SQLAlchemyError as exc:
            raise StorageError(
                f"cannot connect to database '{_safe(self.url)}': "
                f"{_one_line(getattr(exc, 'orig', exc))}; check database_url / DRIFTLOOP_DATABASE_URL"
            ) from None
        if "monitoring_runs" not in tables:
            raise StorageError(
                f"database '{_safe(self.url)}' has no driftloop tables; "
                "create them with 'driftloop db upgrade'"
            )

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config(db: Database):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def _run(db: Database, action: str, revision: str) -> None:
    from alembic import command

    cfg = _alembic_config(db)
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            getattr(command, action)(cfg, revision)
    except OperationalError as exc:
        raise StorageError(
            f"cannot migrate database '{_safe(db.url)}': {_one_line(exc.orig)}; "
            "check database_url / DRIFTLOOP_DATABASE_URL and that the server is running"
        ) from None


def upgrade(db: Database, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision`` (idempotent)."""
    _run(db, "upgrade", revision)
    log.info("database %s at revision %s", _safe(db.url), current_revision(db))


def downgrade(db: Database, revision: str) -> None:
    """Migrate the schema down to ``revision`` (``base`` drops every table)."""
    _run(db, "downgrade", revision)


def current_revision(db: Database) -> str | None:
    """The schema revision the database is at, or None when it has none."""
    from alembic.runtime.migration import MigrationContext

    try:
        with db.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise StorageError(
            f"cannot reach database '{_safe(db.url)}': {_one_line(exc.orig)}; "
            "check database_url / DRIFTLOOP_DATABASE_URL and that the server is running"
        ) from None
