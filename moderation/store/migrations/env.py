"""Alembic environment: the connection comes from the Store that runs the upgrade."""
from alembic import context

from moderation.store.models import Base, login_metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=[Base.metadata, login_metadata],
                  render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
