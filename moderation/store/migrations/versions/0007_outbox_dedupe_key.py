"""outbox: a dedupe key, so that a comment entering the queue is one event however often its request is retried

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=300), nullable=True))
        batch_op.create_unique_constraint('uq_outbox_dedupe_key', ['dedupe_key'])


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('uq_outbox_dedupe_key', type_='unique')
        batch_op.drop_column('dedupe_key')
