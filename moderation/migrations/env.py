"""Alembic environment: the connection comes from the Store that runs the upgrade."""
from alembic import context

from moderation.review import login_throttle as models_login
from moderation.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=[Base.metadata, models_login.metadata],
                  render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
