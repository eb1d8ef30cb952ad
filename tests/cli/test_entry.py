"""The console entry point as users meet it: a fresh `maskscan` process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def maskscan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maskscan.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args, message", [
    (("process", "clip.mp4", "--sample-fps", "-1"),
     "maskscan: error: Invalid value for '--sample-fps': -1.0 is not in the range x>=0. "
     "(see 'maskscan process --help')"),
    (("proces",), "maskscan: error: No such command 'proces'. Did you mean 'process'? (see 'maskscan --help')"),
    (("process",), "maskscan: error: Missing argument 'PATHS...'. (see 'maskscan process --help')"),
])
def test_a_usage_error_is_one_line_with_where_to_look_and_exit_2(args: tuple[str, ...], message: str) -> None:
    result = maskscan(*args)
    assert (result.returncode, result.stderr, result.stdout) == (2, message + "\n", "")


def test_the_shell_completion_script_completes_commands_and_options() -> None:
    source = maskscan(env={"_MASKSCAN_COMPLETE": "bash_source"})
    assert source.returncode == 0 and "complete -o nosort -F _maskscan_completion maskscan" in source.stdout
    commands = maskscan(env={"_MASKSCAN_COMPLETE": "bash_complete", "COMP_WORDS": "maskscan pro", "COMP_CWORD": "1"})
    assert commands.stdout.splitlines() == ["plain,process"]
    options = maskscan(env={"_MASKSCAN_COMPLETE": "bash_complete", "COMP_WORDS": "maskscan process --sample",
                            "COMP_CWORD": "2"})
    assert options.stdout.splitlines() == ["plain,--sample-fps"]
