"""Headless sub-commands of `ais-qt`; each module defines add_parser(subparsers) and run(args) -> int."""
