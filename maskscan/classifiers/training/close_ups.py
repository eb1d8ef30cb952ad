"""Close-ups for detector training: crops around a photo's larger faces and the faces they cut."""

from __future__ import annotations

import random

from maskscan.classifiers.datasets.voc import FaceBox, ScenePhoto

CLOSE_UP_KEPT_SHARE = 0.5
"""A face cut by a close-up's border stays a (clipped) label when at least this share of it is inside;
a smaller part is painted out, neither a face to find nor background."""


def close_up_boxes(photo: ScenePhoto, count: int, rng: random.Random, min_share: float = 0.3,
                   max_share: float = 0.6) -> list[tuple[int, int, int, int]]:
    """`count` whole-pixel regions of the photo (none if it has no face), with its aspect ratio, each
    around one of its larger faces (at least half as wide as its widest).

    Upscaled to full size they show crowds' larger faces at the sizes of close-ups: crowd photos have
    few faces of 64 px or more, and a detector trained on them at their native size learns the small
    ones at the large ones' expense.
    """
    if not photo.faces:
        return []
    widest = max(face.width for face in photo.faces)
    larger = [face for face in photo.faces if face.width >= widest / 2]
    boxes = []
    for _ in range(count):
        face = rng.choice(larger)
        share = min(1.0, max(rng.uniform(min_share, max_share), face.width / photo.width,
                             (face.y2 - face.y1) / photo.height))
        w, h = photo.width * share, photo.height * share
        x = rng.uniform(max(0.0, face.x2 - w), max(0.0, min(face.x1, photo.width - w)))
        y = rng.uniform(max(0.0, face.y2 - h), max(0.0, min(face.y1, photo.height - h)))
        boxes.append((round(x), round(y), min(photo.width, round(x + w)), min(photo.height, round(y + h))))
    return boxes


def faces_in_region(photo: ScenePhoto, region: tuple[int, int, int, int],
                    kept_share: float = CLOSE_UP_KEPT_SHARE) -> tuple[list[FaceBox], list[FaceBox]]:
    """The photo's faces inside `region`, in the region's pixels, clipped to it: those kept as labels
    (at least `kept_share` of the face inside) and those to paint out (a smaller part inside)."""
    rx1, ry1, rx2, ry2 = region
    kept, cut = [], []
    for face in photo.faces:
        x1, y1 = max(face.x1, rx1), max(face.y1, ry1)
        x2, y2 = min(face.x2, rx2), min(face.y2, ry2)
        if x2 <= x1 or y2 <= y1:
            continue
        inside = FaceBox(x1 - rx1, y1 - ry1, x2 - rx1, y2 - ry1, face.label)
        share = (x2 - x1) * (y2 - y1) / max((face.x2 - face.x1) * (face.y2 - face.y1), 1e-9)
        (kept if share >= kept_share else cut).append(inside)
    return kept, cut
