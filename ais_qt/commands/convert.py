"""`ais-qt convert`: a network file in the other program's format (Ais-Qt .aisnet <-> Ais .scnm)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ais_qt.models.errors import AisError

EXAMPLE = ("examples:\n  ais-qt convert membrane.aisnet membrane.scnm   (for Ais 1.2)\n"
           "  ais-qt convert ribosome.scnm ribosome.aisnet    (an Ais model kept as an Ais-Qt network)")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("convert", help="convert a network between .aisnet and Ais's .scnm",
                              description="Write a network in the format its output name ends with: .scnm (the "
                                          "original Ais, 1.2) or .aisnet (Ais-Qt). Other commands read both.",
                              epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("network", type=Path, help="network file (.aisnet or .scnm)")
    p.add_argument("out", type=Path, help="output file: .scnm or .aisnet")
    p.add_argument("--plugins", type=Path, help="folder of architecture plugins")


def run(args) -> int:
    from ais_qt.models.formats.ais_models import has_ais_suffix, save_scnm
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.network import SUFFIX, Network

    try:
        if not (has_ais_suffix(args.out) or str(args.out).endswith(SUFFIX)):
            raise AisError(args.out, f"name it .scnm (for Ais) or {SUFFIX} (for Ais-Qt)")
        network = Network.load(args.network, ArchitectureLibrary(args.plugins))
        written = save_scnm(network, args.out) if has_ais_suffix(args.out) else network.save(args.out)
    except AisError as e:
        print(f"ais-qt convert: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"ais-qt convert: {args.out}: could not be written ({e})", file=sys.stderr)
        return 2
    print(f"{written}: {network.info.feature} ({network.info.architecture_title})")
    return 0
