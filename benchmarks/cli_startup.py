"""How fast the command line answers when it has no footage to analyse.

    python benchmarks/cli_startup.py FOLDER [--json]

Times, in fresh processes, `maskscan --help`, `maskscan process --help`, and `maskscan
process FOLDER` twice against a new SQLite database: the first run analyses the folder, the
second finds every file done (the nightly rerun) and should not load the models. Prints wall
seconds and peak resident memory of each. Targets: every --help under 1 s; the rerun a small
fraction of the first run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import measured_run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    maskscan = [sys.executable, "-m", "maskscan.cli"]
    with tempfile.TemporaryDirectory() as workdir:
        process = maskscan + ["process", str(args.folder.resolve()), "--db", f"sqlite:///{workdir}/b.db",
                              "--no-clips", "--settle", "0", "--quiet"]
        rows = {"maskscan --help": measured_run(maskscan + ["--help"], Path(workdir)),
                "maskscan process --help": measured_run(maskscan + ["process", "--help"], Path(workdir)),
                "process, first run": measured_run(process, Path(workdir)),
                "process, all files done": measured_run(process, Path(workdir))}
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for name, row in rows.items():
        print(f"{name:>24}: {row['seconds']:6.2f} s, peak RSS {row['peak_rss_mb']:6.0f} MB")


if __name__ == "__main__":
    main()
