"""The service's store: SQLite by default, PostgreSQL for several instances; schema managed by Alembic."""
from .database import Store, StoreUnavailable

__all__ = ["Store", "StoreUnavailable"]
