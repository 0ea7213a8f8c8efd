"""Engine, sessions and migrations of the store."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..files import exclusive_lock

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x6D6F6465  # any fixed number; PostgreSQL advisory locks are keyed by integers


class StoreUnavailable(Exception):
    """The database cannot be reached; callers answer 503 rather than pretend."""


def _unavailable(error: Exception) -> StoreUnavailable:
    """StoreUnavailable with the first line of the driver's message (SQLAlchemy wraps it in ``orig``)."""
    message = str(getattr(error, "orig", None) or error)
    return StoreUnavailable(message.splitlines()[0] if message else message)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """A database URL, its engine and a session factory."""

    def __init__(self, url: str):
        self.url = url
        options = {"pool_pre_ping": not url.startswith("sqlite")}  # a local file needs no liveness ping
        if url.startswith("sqlite"):
            if ":///" in url and not url.endswith(":memory:"):
                Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        else:
            options.update(pool_size=5, max_overflow=10, pool_timeout=5,
                           connect_args={"connect_timeout": 3} if url.startswith("postgresql") else {})
        self.engine = create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._compiled: dict[tuple, tuple[str, list[str], list]] = {}

    @contextmanager
    def session(self) -> Session:
        """A session committed on success and rolled back on error; connection failures become StoreUnavailable."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except OperationalError as error:
            session.rollback()
            raise _unavailable(error) from error
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def first_value(self, sql: str, params: tuple):
        """The first column of the first row of a read-only query (None if no row), on a raw DB-API connection.

        For the one query every scoring request runs: SQLAlchemy's statement handling costs about ten times
        the database's own work on it. ``sql`` marks parameters with ``?``.
        """
        if self.engine.dialect.paramstyle != "qmark":
            sql = sql.replace("?", "%s")
        with self._raw_connection() as connection:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, params)
                row = cursor.fetchone()
            finally:
                cursor.close()
        return None if row is None else row[0]

    def all_rows(self, queries: list[tuple[str, tuple]]) -> list[list[tuple]]:
        """The rows of each of several read-only queries, on one raw DB-API connection (as :meth:`first_value`)."""
        results = []
        with self._raw_connection() as connection:
            cursor = connection.cursor()
            try:
                for sql, params in queries:
                    if self.engine.dialect.paramstyle != "qmark":
                        sql = sql.replace("?", "%s")
                    cursor.execute(sql, params)
                    results.append(cursor.fetchall())
            finally:
                cursor.close()
        return results

    def execute_many(self, statement, rows: list[dict], *more: tuple) -> None:
        """Run a Core statement once for each of ``rows`` (dicts of the same keys) in one transaction, on a raw
        DB-API connection; ``more`` are further ``(statement, rows)`` pairs run after it in the same transaction.

        For the request path's one write, the held comments (and their authors' counts): the statement is
        compiled once per set of columns, and each value goes through its column type's own conversion (JSON,
        UTC datetimes), so the driver receives what SQLAlchemy would send it; executing through SQLAlchemy
        costs several times that.
        """
        batches = [(statement, rows), *more]
        prepared = []
        for each, each_rows in batches:
            if not each_rows:
                continue
            sql, names, converters = self._compile(each, tuple(each_rows[0]))
            if self.engine.dialect.positional:
                params = [tuple(convert(row[name]) if convert else row[name]
                                for name, convert in zip(names, converters)) for row in each_rows]
            else:
                params = [{name: convert(row[name]) if convert else row[name]
                           for name, convert in zip(names, converters)} for row in each_rows]
            prepared.append((sql, params))
        if not prepared:
            return
        with self._raw_connection() as connection:
            cursor = connection.cursor()
            try:
                for sql, params in prepared:
                    cursor.executemany(sql, params)
            finally:
                cursor.close()
            connection.commit()

    @contextmanager
    def _raw_connection(self):
        """A pooled DB-API connection (rolled back when returned uncommitted); a broken one is invalidated, and
        connection failures, the pool's liveness check included, become StoreUnavailable."""
        dbapi = self.engine.dialect.loaded_dbapi
        try:
            connection = self.engine.raw_connection()  # the pool's liveness check raises unwrapped errors too
            try:
                yield connection
            except (dbapi.OperationalError, dbapi.InterfaceError):
                connection.invalidate()
                raise
            finally:
                connection.close()
        except (OperationalError, DisconnectionError, dbapi.OperationalError, dbapi.InterfaceError) as error:
            raise _unavailable(error) from error

    def _compile(self, statement, columns: tuple[str, ...]) -> tuple[str, list[str], list]:
        """The SQL of ``statement`` for these columns, its parameter names in order, and each one's conversion."""
        compiled = self._compiled.get((statement, columns))
        if compiled is None:
            dialect = self.engine.dialect
            sql = statement.compile(dialect=dialect, column_keys=list(columns))
            names = list(sql.positiontup) if dialect.positional else list(sql.binds)
            converters = [sql.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
            compiled = self._compiled[(statement, columns)] = (sql.string, names, converters)
        return compiled

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except OperationalError:
            return False

    def upgrade(self) -> None:
        """Apply every pending migration, one process at a time (workers starting together must not race)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._migration_lock(), self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def _migration_lock(self):
        """An exclusive file lock beside a SQLite database; PostgreSQL uses an advisory lock instead."""
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        with exclusive_lock(f"{database}.migrate-lock"):
            yield

    def dispose(self) -> None:
        self.engine.dispose()
