"""analysis settings per video (sampling rate, detector confidence, mask threshold); clip paths absolute

Revision ID: 0005
Revises: 0004

Clip paths stored relative (by maskscan before this revision) are made absolute: for SQLite
against the database file's folder (where `maskscan process` wrote `clips/` by default), for
PostgreSQL against the folder `maskscan db upgrade` runs in.
"""

import os

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _base_folder() -> str:
    url = op.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return os.path.dirname(os.path.abspath(url.database))
    return os.getcwd()


def upgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sample_fps", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("face_conf", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("mask_threshold", sa.Float(), nullable=True))
    clips = sa.table("clips", sa.column("id", sa.Integer), sa.column("path", sa.Text))
    connection = op.get_bind()
    base = _base_folder()
    for clip_id, path in connection.execute(sa.select(clips.c.id, clips.c.path)).all():
        if not os.path.isabs(path):
            connection.execute(clips.update().where(clips.c.id == clip_id)
                               .values(path=os.path.normpath(os.path.join(base, path))))


def downgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_column("mask_threshold")
        batch_op.drop_column("face_conf")
        batch_op.drop_column("sample_fps")
