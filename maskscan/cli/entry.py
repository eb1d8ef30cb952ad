"""The `maskscan` console entry point.

Signals are handled before anything heavy is imported, so that Ctrl-C or SIGTERM while torch
loads ends with the usual one line and exit code 130, not a traceback or a silent 143.
"""

from __future__ import annotations

import os
import signal
import sys

EXIT_INTERRUPTED = 130


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        import click

        from maskscan.cli.main import cli

        try:
            cli.main(prog_name="maskscan", standalone_mode=False)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort as exc:
            raise KeyboardInterrupt from exc
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("maskscan: error: interrupted", file=sys.stderr, flush=True)
        sys.stdout.flush()
        # Not sys.exit: when the signal lands during start-up, CPython can still end the process by
        # SIGINT after a clean SystemExit (exit status -2 instead of 130, about one run in three
        # here). Nothing is left to clean up: a command rolls its files back in its own handlers
        # before the interrupt reaches this point.
        os._exit(EXIT_INTERRUPTED)
