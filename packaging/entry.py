"""The frozen app's entry point, one script for both executables: `ais-qt` (the window; no console
on Windows) and `ais-qt-cli` (a console program for the sub-commands). Which one runs is told by
the executable's name, so both share one analysis and one set of libraries."""

import multiprocessing
import sys
from pathlib import Path


def main() -> int:
    # First, before any import: the 3D renderer is a spawned child that starts through this executable.
    multiprocessing.freeze_support()
    from ais_qt.cli import COMMANDS, command_parser, main as ais_qt_main

    if Path(sys.executable).stem.lower().endswith("-cli"):
        argv = sys.argv[1:]
        if argv[:1] == ["--version"]:
            return ais_qt_main(["--version"])
        if not argv:
            command_parser().print_help()
            return 2
        if argv[0] not in COMMANDS:  # --help, or a mistake: argparse says which commands there are
            command_parser().parse_args(argv)
    return ais_qt_main()


if __name__ == "__main__":
    sys.exit(main())
