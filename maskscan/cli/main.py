"""The `maskscan` command."""

from __future__ import annotations

import click

from maskscan.cli.db import db
from maskscan.cli.evaluate import evaluate
from maskscan.cli.process import process
from maskscan.cli.prune import prune
from maskscan.cli.report import report
from maskscan.cli.status import status
from maskscan.cli.train import train


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="maskscan")
def cli() -> None:
    """Mask-compliance analytics on recorded video.

    Exit codes: 0 all files done or skipped, 1 some files failed, 2 usage error, 130 interrupted
    (Ctrl-C or SIGTERM).
    """


cli.add_command(process)
cli.add_command(db)
cli.add_command(train)
cli.add_command(evaluate)
cli.add_command(report)
cli.add_command(status)
cli.add_command(prune)
