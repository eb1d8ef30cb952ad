"""The crop policy shared by classifier training and the pipeline.

A face box becomes a square around its centre, `1 + margin` times its longer side, and is
resampled to `size` pixels with `roi_align` (area-averaged, on whatever device the frames
are). Parts of the square outside the frame read as black. Training crops scene faces with
this very function, so the classifier sees at inference what it saw in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torchvision.ops import roi_align

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class CropPolicy:
    size: int = 128
    margin: float = 0.2

    def square_boxes(self, boxes: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """Square boxes (x1, y1, x2, y2) around the faces; `scale` widens them further."""
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        side = (boxes[:, 2:] - boxes[:, :2]).amax(dim=1, keepdim=True) * (1 + self.margin) * scale
        return torch.cat([centre - side / 2, centre + side / 2], dim=1)

    def crop(self, images: Sequence[torch.Tensor], boxes: list[torch.Tensor], scale: float = 1.0,
             size: int | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Cut the faces of a batch of images.

        images: (3, H, W) each (or one (N, 3, H, W) tensor), uint8 0..255 or float 0..1, on one
        device; boxes: one (K_i, 4) tensor of pixel boxes per image. Returns (sum K_i, 3, size,
        size) 0..1 crops in `dtype`, on the images' device, in image order.

        Only the patch of each image that holds its squares (and the pixels their bilinear
        samples touch) is converted to `dtype`: converting whole 1080p frames to float costs
        more on a CPU than cutting the faces. The result equals `roi_align` on the whole image.
        """
        side = size or self.size
        crops = []
        device = images[0].device if len(images) else torch.device("cpu")
        # torchvision's CPU roi_align has no bfloat16 kernel: cut in float32, convert the crops
        cut_dtype = torch.float32 if device.type == "cpu" else dtype
        for image, image_boxes in zip(images, boxes):
            if len(image_boxes) == 0:
                continue
            height, width = image.shape[-2:]
            squares = self.square_boxes(image_boxes.to(image.device, torch.float32), scale)
            left, top = squares[:, :2].amin(dim=0).floor().sub(1).tolist()
            right, bottom = squares[:, 2:].amax(dim=0).ceil().add(1).tolist()
            x1, y1 = min(max(0, int(left)), width - 1), min(max(0, int(top)), height - 1)
            x2, y2 = max(min(width, int(right)), x1 + 1), max(min(height, int(bottom)), y1 + 1)
            patch = image[:, y1:y2, x1:x2].to(cut_dtype)
            if not image.is_floating_point():
                patch = patch / 255
            shifted = (squares - squares.new_tensor([x1, y1, x1, y1])).to(cut_dtype)
            crops.append(roi_align(patch[None], [shifted], output_size=(side, side), spatial_scale=1.0,
                                   sampling_ratio=-1, aligned=True))
        if not crops:
            return torch.zeros((0, 3, side, side), dtype=dtype, device=device)
        return torch.cat(crops).to(dtype)


def normalize(crops: torch.Tensor) -> torch.Tensor:
    """0..1 RGB crops to the ImageNet-normalised input all three architectures expect."""
    mean = torch.tensor(IMAGENET_MEAN, device=crops.device, dtype=crops.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=crops.device, dtype=crops.dtype).view(1, 3, 1, 1)
    return (crops - mean) / std
