"""`maskscan train`: reproduce the shipped models."""

from __future__ import annotations

import click


@click.group()
def train() -> None:
    """Train the face detector or a mask classifier."""
