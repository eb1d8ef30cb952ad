"""Ultralytics, made safe for machines without internet.

Ultralytics reads its settings when it is first imported, may download fonts, weights
and packages, and pings GitHub. Every maskscan import of it goes through
:func:`import_ultralytics`, which first switches all of that off and gives it a
writable settings folder of maskscan's own.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType


def maskscan_cache_dir() -> Path:
    """Writable folder for maskscan's own state (`$MASKSCAN_CACHE` or the XDG cache)."""
    configured = os.environ.get("MASKSCAN_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "maskscan"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


def _bundled_font() -> Path | None:
    """A TTF that ships with an installed package (matplotlib is an ultralytics dependency)."""
    try:
        import matplotlib
    except ImportError:
        return None
    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return font if font.is_file() else None


def configure_offline() -> Path:
    """Set the environment so ultralytics never downloads or installs anything.

    Returns the config folder handed to ultralytics. Safe to call repeatedly.
    """
    config_dir = maskscan_cache_dir() / "ultralytics"
    if not _writable(config_dir):
        config_dir = Path(tempfile.gettempdir()) / f"maskscan-ultralytics-{os.getuid()}"
        config_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("YOLO_VERBOSE", "false")
    configured = Path(os.environ["YOLO_CONFIG_DIR"])
    font = _bundled_font()
    if font is not None:
        # Ultralytics keeps its fonts in <YOLO_CONFIG_DIR>/Ultralytics and downloads any that are missing.
        fonts_dir = configured / "Ultralytics"
        fonts_dir.mkdir(parents=True, exist_ok=True)
        for name in ("Arial.ttf", "Arial.Unicode.ttf"):
            if not (fonts_dir / name).exists():
                shutil.copyfile(font, fonts_dir / name)
    return configured


def import_ultralytics() -> ModuleType:
    """Import ultralytics after :func:`configure_offline`; the one way maskscan imports it."""
    if "ultralytics" not in sys.modules:
        configure_offline()
    import ultralytics

    ultralytics.settings.update({"sync": False})
    _undo_pillow_patch()
    return ultralytics


def _undo_pillow_patch() -> None:
    """Ultralytics replaces `PIL.Image.open` process-wide with a version that, on a file Pillow
    cannot identify, tries to install `pi-heif`; a corrupt image would then fail with an import
    error instead of Pillow's own. maskscan needs no HEIF, so Pillow's own `open` goes back."""
    from PIL import Image

    patches = importlib.import_module("ultralytics.utils.patches")
    original = getattr(patches, "_image_open", None)
    if original is not None:
        Image.open = original


def require_local_weights(path: str | os.PathLike[str]) -> Path:
    """Ultralytics downloads any `*.pt` name that is not a file; only real files get through."""
    weights = Path(path).expanduser()
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: weights file not found (maskscan never downloads weights)")
    return weights.resolve()
