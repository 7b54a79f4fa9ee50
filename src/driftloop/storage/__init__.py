"""Database (SQLAlchemy 2 + Alembic) and the artifact store."""

from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database, upgrade

__all__ = ["ArtifactStore", "Database", "Layout", "upgrade"]
