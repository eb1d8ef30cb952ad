"""The ways `--anonymize` can hide faces (importable without NumPy, for the command line)."""

from typing import Literal

AnonymizeMode = Literal["none", "blur", "pixelate", "solid"]
ANONYMIZE_MODES: tuple[AnonymizeMode, ...] = ("none", "blur", "pixelate", "solid")
