"""Drawing results on frames: green boxes for masks, red for faces without."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from maskscan.detections import FaceDetections
from maskscan.pipeline.anonymize import FaceAnonymizer

MASK_COLOUR = (0, 200, 0)
NO_MASK_COLOUR = (230, 0, 0)


class BoxAnnotator:
    """Boxes labelled `mask 0.97` / `no mask 0.88` (the probability of the label shown), after the
    person's number within the file when the face is tracked (`#3 no mask 0.88`)."""

    def __init__(self, thickness: int | None = None, font_size: int | None = None,
                 anonymizer: FaceAnonymizer | None = None) -> None:
        self.thickness = thickness
        self.font_size = font_size
        self.anonymizer = anonymizer

    def annotate(self, image: np.ndarray, faces: FaceDetections) -> np.ndarray:
        """A copy of the (H, W, 3) RGB image with the faces drawn on it, over the anonymised
        regions (`faces.regions_to_hide`) when there is an anonymizer."""
        if self.anonymizer is not None:
            image = self.anonymizer.anonymize(image, faces.regions_to_hide)
        canvas = Image.fromarray(image)
        if len(faces) == 0:
            return np.asarray(canvas).copy()
        draw = ImageDraw.Draw(canvas)
        scale = max(image.shape[:2]) / 640
        thickness = self.thickness or max(1, round(2 * scale))
        font = ImageFont.load_default(size=self.font_size or max(10, round(12 * scale)))
        for box, masked, probability, person in zip(faces.boxes, faces.masked, faces.mask_probs, faces.track_ids):
            colour = MASK_COLOUR if masked else NO_MASK_COLOUR
            x1, y1, x2, y2 = (float(v) for v in box)
            draw.rectangle((x1, y1, x2, y2), outline=colour, width=thickness)
            text = f"mask {probability:.2f}" if masked else f"no mask {1 - probability:.2f}"
            text = f"#{person + 1} {text}" if person >= 0 else text
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
            label_h = bottom - top + 2 * thickness
            label_y = y1 - label_h if y1 - label_h >= 0 else y2
            draw.rectangle((x1, label_y, x1 + right - left + 2 * thickness, label_y + label_h), fill=colour)
            draw.text((x1 + thickness, label_y + thickness - top), text, fill=(255, 255, 255), font=font)
        return np.asarray(canvas).copy()
