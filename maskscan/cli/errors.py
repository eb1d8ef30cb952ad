"""One line per problem, tracebacks only with --debug."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from maskscan.cli.interrupts import EXIT_INTERRUPTED

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandError(click.ClickException):
    """A problem that ends the command with one line; `exit_code` 1 (failed) or 2 (usage)."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"maskscan: error: {self.format_message()}", err=True)


def debug_option(command: F) -> F:
    """Adds --debug and turns unexpected exceptions into one line unless it is given."""

    @click.option("--debug", is_flag=True, help="Show full tracebacks.")
    @functools.wraps(command)
    def wrapper(*args: Any, debug: bool, **kwargs: Any) -> Any:
        click.get_current_context().meta["debug"] = debug
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            raise CommandError("interrupted", EXIT_INTERRUPTED) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise
        except Exception as exc:  # noqa: BLE001 - the one place that hides tracebacks
            if debug:
                raise
            raise CommandError(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)") from exc

    return wrapper  # type: ignore[return-value]


def print_traceback_if_debug(exception: BaseException | None, debug: bool) -> None:
    """`debug`: the --debug flag, read by the caller (worker threads have no click context)."""
    if exception is not None and debug:
        traceback.print_exception(exception, file=sys.stderr)
