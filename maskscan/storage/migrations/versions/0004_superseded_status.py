"""superseded videos: a newer version of a file at the same path replaces the older one's results;
videos indexed by path

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD = "status IN ('pending', 'running', 'done', 'failed')"
NEW = "status IN ('pending', 'running', 'done', 'failed', 'superseded')"


def _replace_status_check(condition: str) -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_videos_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_videos_status"), sa.text(condition))


def upgrade() -> None:
    _replace_status_check(NEW)
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.create_index("ix_videos_path", ["path"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_index("ix_videos_path")
    op.execute("UPDATE videos SET status = 'failed' WHERE status = 'superseded'")
    _replace_status_check(OLD)
