"""camera and recording time: every file a camera and a wall-clock start, every frame a wall-clock time

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("camera", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recorded_at_source", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_videos_camera", ["camera"], unique=False)
    with op.batch_alter_table("frames", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_frames_recorded_at", ["recorded_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("frames", schema=None) as batch_op:
        batch_op.drop_index("ix_frames_recorded_at")
        batch_op.drop_column("recorded_at")
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_index("ix_videos_camera")
        batch_op.drop_column("recorded_at_source")
        batch_op.drop_column("recorded_at")
        batch_op.drop_column("camera")
