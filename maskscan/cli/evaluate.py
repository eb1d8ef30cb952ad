"""`maskscan evaluate`: measure the models on labelled data."""

from __future__ import annotations

import click


@click.group()
def evaluate() -> None:
    """Evaluate the face detector or a mask classifier."""
