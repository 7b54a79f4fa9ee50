"""Alembic environment: runs on the connection driftloop hands over."""

from alembic import context

from driftloop.storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - driftloop always passes one
    raise RuntimeError("run migrations through 'driftloop db upgrade'")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
