"""authors and their decisions' window, word lists, articles' author policy, rejection reasons

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'authors',
        sa.Column('id', sa.String(length=200), nullable=False),
        sa.Column('scored', sa.Integer(), nullable=False),
        sa.Column('held', sa.Integer(), nullable=False),
        sa.Column('approved', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.Column('auto_rejected', sa.Integer(), nullable=False),
        sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'author_events',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('author_id', sa.String(length=200), nullable=False),
        sa.Column('comment_id', sa.String(length=200), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('by_person', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_author_events_author', 'author_events', ['author_id', 'id'])
    op.create_table(
        'wordlists',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('entries', sa.JSON(), nullable=False),
        sa.Column('article_ids', sa.JSON(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_policy', sa.JSON(), nullable=True))
    for table in ('comments', 'decisions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('rejection_reason', sa.JSON(), nullable=True))


def downgrade():
    for table in ('decisions', 'comments'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('rejection_reason')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_column('author_policy')
    op.drop_table('wordlists')
    op.drop_index('ix_author_events_author', table_name='author_events')
    op.drop_table('author_events')
    op.drop_table('authors')
