"""`ais-qt`: the desktop application, and (in later versions) headless sub-commands on the same engine.

Qt is imported only when a window is opened, so --help and --version work without a display.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ais_qt import __version__


def gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ais-qt",
        description="Ais-Qt: segment cryo-electron tomograms. Opens the desktop application.",
        epilog="Examples:\n  ais-qt --demo\n  ais-qt tomo1.mrc tomo2.rec\n"
               "  ais-qt --demo --screenshot window.png   (works with QT_QPA_PLATFORM=offscreen)\n\n"
               "Headless commands (ais-qt COMMAND --help for each):\n"
               "  train    train a network for one feature from a label volume\n"
               "  segment  segment tomograms with trained networks (and their interactions)\n"
               "  pick     pick particles in segmented volumes (.star, .tsv, .tbl, copick .json)\n"
               "  mesh     export a segmented volume's surface as .obj\n"
               "  convert  convert a network between Ais-Qt (.aisnet) and the original Ais (.scnm)\n\n"
               "Networks from the original Ais (.scnm) are accepted wherever .aisnet files are.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", type=Path, help="tomograms to open (.mrc, .rec, .map, .mrc.gz)")
    parser.add_argument("--demo", action="store_true", help="open the built-in synthetic sample tomogram")
    parser.add_argument("--screenshot", type=Path, metavar="OUT.png",
                        help="open the window, render it once, save a PNG of it and exit")
    parser.add_argument("--tab", choices=TABS, type=str.lower,
                        help="open on this workflow tab (render: the 3D view, drawn in its own process)")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up messages too")
    parser.add_argument("--version", action="version", version=f"ais-qt {__version__}")
    return parser


COMMANDS = ("train", "segment", "pick", "mesh", "convert")
TABS = ("annotate", "models", "export", "pick", "render")


def command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ais-qt", description="Ais-Qt headless commands.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    from ais_qt.commands import convert, mesh, pick, segment, train

    for module in (train, segment, pick, mesh, convert):
        module.add_parser(subparsers)
    for command in subparsers.choices.values():
        command.add_argument("--verbose", action="store_true",
                             help="show TensorFlow's start-up messages (hidden by default; warnings always show)")
    return parser


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen (PyInstaller) build starts the 3D renderer through here
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:  # a sub-command; anything else is files for the GUI
        args = command_parser().parse_args(argv)
        if args.verbose:
            os.environ["AIS_QT_VERBOSE"] = "1"
        from importlib import import_module

        return import_module(f"ais_qt.commands.{args.command}").run(args)
    args = gui_parser().parse_args(argv)
    if args.verbose:
        os.environ["AIS_QT_VERBOSE"] = "1"
    return run_gui(args.files, demo=args.demo, screenshot=args.screenshot, tab=args.tab)


def run_gui(files: list[Path], demo: bool = False, screenshot: Path | None = None, tab: str | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from ais_qt.controllers.session_controller import SessionController
    from ais_qt.views.main_window import MainWindow, app_icon

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Ais-Qt")
    app.setOrganizationName("Ais-Qt")
    app.setWindowIcon(app_icon())
    controller = SessionController()
    if screenshot is not None:
        controller.error.connect(lambda text: print(text, file=sys.stderr))
    window = MainWindow(controller)
    if demo:  # files named on the command line stay in front of the sample, which arrives later
        controller.open_sample(make_current=not files)
    window.open_any(files)  # tomograms, a project, networks: what a file manager hands over
    if tab:
        window.workflow.setCurrentIndex(TABS.index(tab))
    window.show()
    if screenshot is None:
        return app.exec()
    return save_screenshot(app, window, controller, screenshot)


def save_screenshot(app, window, controller, path: Path) -> int:
    """Wait for background opening to finish, let the window lay itself out, then grab it."""
    controller.runner.wait()
    for _ in range(5):  # deliver the queued results and the paint events they cause
        app.processEvents()
    window.resize(max(window.width(), 1400), max(window.height(), 900))
    app.processEvents()
    # The 3D view draws in its renderer process (a spawned child): wait for its frame.
    if window.render_tab.view.isVisible() and window.render_tab.view.render() is None:
        print("the 3D view's renderer process did not answer", file=sys.stderr)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        print(f"{path}: could not write the PNG", file=sys.stderr)
        return 1
    print(f"Saved {path} ({window.width()}x{window.height()})")
    window.remember_layout = False
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
