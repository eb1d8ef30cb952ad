"""people: tracks (one row per person per video), detections.track_id referring to them,
clip_tracks (the no-mask people a clip shows), videos.tracker

Revision ID: 0006
Revises: 0005

Footage processed before this revision keeps NULL tracks (videos.tracker is NULL) and is
reported as untracked.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("first_s", sa.Float(), nullable=False),
        sa.Column("last_s", sa.Float(), nullable=False),
        sa.Column("first_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detections", sa.Integer(), nullable=False),
        sa.Column("mask_votes", sa.Integer(), nullable=False),
        sa.Column("no_mask_votes", sa.Integer(), nullable=False),
        sa.Column("mask_prob", sa.Float(), nullable=True),
        sa.Column("label", sa.String(length=8), nullable=False),
        sa.CheckConstraint("label IN ('mask', 'no_mask', 'unknown')", name=op.f("ck_tracks_label")),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], name=op.f("fk_tracks_video_id_videos"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracks")),
    )
    op.create_index("ix_tracks_video_id", "tracks", ["video_id"], unique=False)
    op.create_index(op.f("ix_tracks_first_recorded_at"), "tracks", ["first_recorded_at"], unique=False)
    op.create_table(
        "clip_tracks",
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"], name=op.f("fk_clip_tracks_clip_id_clips"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["track_id"], ["tracks.id"], name=op.f("fk_clip_tracks_track_id_tracks"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("clip_id", "track_id", name=op.f("pk_clip_tracks")),
    )
    op.create_index(op.f("ix_clip_tracks_track_id"), "clip_tracks", ["track_id"], unique=False)
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.create_foreign_key(op.f("fk_detections_track_id_tracks"), "tracks", ["track_id"], ["id"],
                                    ondelete="SET NULL")
        batch_op.create_index(op.f("ix_detections_track_id"), ["track_id"], unique=False)
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracker", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_column("tracker")
    op.execute("UPDATE detections SET track_id = NULL")
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_detections_track_id"))
        batch_op.drop_constraint(op.f("fk_detections_track_id_tracks"), type_="foreignkey")
    op.drop_index(op.f("ix_clip_tracks_track_id"), table_name="clip_tracks")
    op.drop_table("clip_tracks")
    op.drop_index(op.f("ix_tracks_first_recorded_at"), table_name="tracks")
    op.drop_index("ix_tracks_video_id", table_name="tracks")
    op.drop_table("tracks")
