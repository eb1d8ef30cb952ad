"""The crop policy shared by classifier training and the pipeline.

A face box becomes a square around its centre, `1 + margin` times its longer side, and is
resampled to `size` pixels with `roi_align` (area-averaged, on whatever device the frames
are). Parts of the square outside the frame read as black. Training crops scene faces with
this very function, so the classifier sees at inference what it saw in training.
"""

from __future__ import annotations

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

    def crop(self, images: torch.Tensor, boxes: list[torch.Tensor], scale: float = 1.0,
             size: int | None = None) -> torch.Tensor:
        """Cut the faces of a batch of images.

        images: float (N, 3, H, W); boxes: one (K_i, 4) tensor of pixel boxes per image.
        Returns (sum K_i, 3, size, size) in the images' dtype and device, in image order.
        """
        side = size or self.size
        rois = [self.square_boxes(b.to(images.device, images.dtype), scale) for b in boxes]
        if sum(len(r) for r in rois) == 0:
            return images.new_zeros((0, images.shape[1], side, side))
        return roi_align(images, rois, output_size=(side, side), spatial_scale=1.0, sampling_ratio=-1, aligned=True)


def normalize(crops: torch.Tensor) -> torch.Tensor:
    """0..1 RGB crops to the ImageNet-normalised input all three architectures expect."""
    mean = torch.tensor(IMAGENET_MEAN, device=crops.device, dtype=crops.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=crops.device, dtype=crops.dtype).view(1, 3, 1, 1)
    return (crops - mean) / std
