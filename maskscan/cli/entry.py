"""The `maskscan` console entry point.

Signals are handled before anything heavy is imported, so that Ctrl-C or SIGTERM while torch
loads ends with the usual one line and exit code 130, not a traceback or a silent 143.
"""

from __future__ import annotations

import os
import signal
import sys

from maskscan.cli import interrupts


COMPLETION_VARIABLE = "_MASKSCAN_COMPLETE"
"""Set by the shell's completion script (`eval "$(_MASKSCAN_COMPLETE=bash_source maskscan)"`)."""


def _run_cli() -> int:
    """Runs the command line and gives its exit status.

    click's own `main` is not used: on an interrupt it writes a blank line to stderr before the
    error, which a log then shows as a stray empty line. So shell completion, which `main`
    would answer, is answered here.
    """
    import click
    from click.shell_completion import shell_complete

    from maskscan.cli.errors import EXIT_FAILED
    from maskscan.cli.main import cli

    if instruction := os.environ.get(COMPLETION_VARIABLE):
        return shell_complete(cli, {}, "maskscan", COMPLETION_VARIABLE, instruction)
    try:
        with cli.make_context("maskscan", sys.argv[1:]) as context:
            interrupts.install(interrupts.interrupt)  # from here on a command may have work to roll back
            cli.invoke(context)
    except click.UsageError as exc:
        # One line, like every other error, instead of click's usage, hint and error lines.
        command = exc.ctx.command_path if exc.ctx is not None else "maskscan"
        click.echo(f"maskscan: error: {exc.format_message()} (see '{command} --help')", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort as exc:
        raise KeyboardInterrupt from exc
    except BrokenPipeError:
        # The reader went away (`maskscan report --format csv | head`): nothing more to say, and
        # stdout now points nowhere so that the interpreter's last flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    return 0


def main() -> None:
    interrupts.install(interrupts.exit_during_start_up)
    try:
        status = _run_cli()
    except SystemExit as exc:  # a command that printed its own lines and chose its status
        status = exc.code  # type: ignore[assignment]
    except KeyboardInterrupt:
        interrupts.install(signal.SIG_IGN)
        print(interrupts.INTERRUPTED_LINE, end="", file=sys.stderr)
        status = interrupts.EXIT_INTERRUPTED
    if status == interrupts.EXIT_INTERRUPTED:
        interrupts.exit_interrupted()
    sys.exit(status)
