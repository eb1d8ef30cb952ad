"""Options that say which scene faces become classifier crops (training and evaluation alike)."""

from __future__ import annotations

import click

from maskscan.classifiers.datasets.voc import UNLABELLED_MIN_WIDTH

UNLABELLED_AS_NO_MASK = click.option(
    "--unlabelled-as-no-mask", is_flag=True,
    help="Also take the faces whose mask state is not labelled (WIDER FACE's `face`), as no_mask: WIDER FACE's "
         "photos predate 2020, and nearly nobody in them wears a mask.")
UNLABELLED_MIN_WIDTH = click.option(
    "--unlabelled-min-width", type=click.FloatRange(0), default=UNLABELLED_MIN_WIDTH, show_default=True,
    help="With --unlabelled-as-no-mask: leave out the unlabelled faces narrower than this many pixels (WIDER FACE "
         "boxes faces a few pixels wide, where no mask can be seen).")
