"""`ais-qt segment`: apply networks (and their interactions) to tomograms, writing uint8 .mrc volumes."""

from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

from ais_qt.commands.cluster_args import add_cluster_arguments, cluster_settings, exit_status, run_on_cluster
from ais_qt.models.cluster import ClusterSpec
from ais_qt.models.errors import AisError
from ais_qt.models.learning.inference import DEFAULT_TILE, ORIENTATIONS, ORIENTATIONS_HELP
from ais_qt.models.progress import Progress
from ais_qt.models.volumes.volume_writer import DEFAULT_DTYPE, DTYPE_HELP, DTYPES

EXAMPLE = ("example:\n  ais-qt segment --model membrane.aisnet --model ribosome.aisnet "
           "--interactions graph.json 'tomos/*.mrc' --out segmented/")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("segment", help="segment tomograms with trained networks",
                              description="Apply networks to whole tomograms; writes <tomogram>__<feature>.mrc "
                                          "(0..255, the tomogram's shape, voxel size and origin) for each network.",
                              epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tomograms", nargs="+", help="tomogram files or glob patterns")
    p.add_argument("--model", action="append", required=True, type=Path,
                   help="network file (.aisnet, or the original Ais's .scnm), repeatable")
    p.add_argument("--interactions", type=Path, help="interaction graph (.json, exported from the app)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: skip them)")
    p.add_argument("--roi", help="only this box, z0:z1,y0:y1,x0:x1 (parts may be empty: 40:80,,)")
    p.add_argument("--tile", type=int, default=DEFAULT_TILE,
                   help=f"largest tile side for fully convolutional networks (default {DEFAULT_TILE})")
    p.add_argument("--dtype", choices=list(DTYPES), default=DEFAULT_DTYPE, help=DTYPE_HELP)
    p.add_argument("--orientations", type=int, choices=ORIENTATIONS, default=1, metavar="N", help=ORIENTATIONS_HELP)
    add_voxel_size(p)
    p.add_argument("--plugins", type=Path, help="folder of architecture plugins")
    add_cluster_arguments(p)
    p.add_argument("--gpu", metavar="IDS", help="segment on these GPUs, one worker each, e.g. 0,1 (instead of --cluster)")


def add_voxel_size(parser) -> None:
    parser.add_argument("--voxel-size", type=float, metavar="Å",
                        help="voxel size in Å for volumes whose header gives none (0); overrides the header")


def apply_voxel_size(volume, voxel_size: float | None) -> None:
    """Set a Tomogram's voxel size from --voxel-size (an AisError naming the file when it is not positive)."""
    if voxel_size is not None:
        volume.voxel_size = voxel_size


def expand(patterns: list[str]) -> list[Path]:
    paths = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        paths += [Path(m) for m in matches]
    return list(dict.fromkeys(paths))


class Bar:
    """A one-line progress bar (like tqdm) on a terminal; sparse lines when piped to a log."""

    def __init__(self, label: str, show_message: bool = False):
        self.label, self.tty, self.started, self.shown = label, sys.stdout.isatty(), time.perf_counter(), -1
        self.show_message = show_message

    def __call__(self, fraction: float, message: str) -> None:
        elapsed = time.perf_counter() - self.started
        left = elapsed / fraction * (1 - fraction) if fraction > 0 else 0
        bar = "#" * int(fraction * 30)
        text = f"{self.label} [{bar:<30s}] {fraction * 100:5.1f}% {left:5.0f} s left"
        if self.show_message:
            text += f", {message}"
        if self.tty:
            print(f"\r{text}\033[K", end="", flush=True)
        elif int(fraction * 10) > self.shown:  # every 10 % in logs
            self.shown = int(fraction * 10)
            print(text, flush=True)

    def close(self) -> None:
        if self.tty:
            print()


def run(args) -> int:
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.interactions import InteractionGraph
    from ais_qt.models.learning.network import Network
    from ais_qt.models.learning.segmentation import parse_roi, segment_volume

    try:
        library = ArchitectureLibrary(args.plugins)
        networks = [Network.load(path, library) for path in args.model]
        graph = InteractionGraph.load(args.interactions) if args.interactions else None
        if args.roi:
            parse_roi(args.roi, (10**9,) * 3)  # syntax check before any work
        if args.gpu and args.cluster:
            raise AisError(None, "--gpu and --cluster: choose one (on a cluster, ask for GPUs with --gpus)")
        cluster = cluster_settings(args) if args.cluster else (ClusterSpec.for_gpus(args.gpu), None) if args.gpu \
            else None
    except AisError as e:
        print(f"ais-qt segment: {e}", file=sys.stderr)
        return 2
    tomograms = expand(args.tomograms)
    if not tomograms:
        print("ais-qt segment: no tomogram matches", file=sys.stderr)
        return 2
    if cluster:
        from ais_qt.models.cluster import segment_task

        kwargs = dict(models=[str(m) for m in args.model], folder=str(args.out),
                      interactions=str(args.interactions) if args.interactions else None, overwrite=args.overwrite,
                      roi=args.roi, tile=args.tile, dtype=args.dtype, voxel_size=args.voxel_size,
                      orientations=args.orientations, plugins=str(args.plugins) if args.plugins else None)
        return run_on_cluster("ais-qt segment", cluster, segment_task, tomograms, kwargs, "tomograms segmented",
                              lambda label: Bar(label, show_message=True))
    for network in networks:  # which engine predicts, and why when it is the slower one
        print(f"{network.info.feature}: {network.engine().describe()}", flush=True)
    failed = 0
    for n, tomogram in enumerate(tomograms, start=1):
        bar = Bar(f"[{n}/{len(tomograms)}] {tomogram.name}")
        try:
            outputs = segment_volume(tomogram, networks, args.out, graph, args.overwrite, args.roi, args.tile,
                                     library, Progress(bar), args.dtype, args.voxel_size, args.orientations)
            bar.close()
            print("  " + "\n  ".join(str(p) for p in outputs))
        except AisError as e:  # one bad tomogram does not stop the rest
            bar.close()
            print(f"ais-qt segment: {e}", file=sys.stderr)
            failed += 1
    print(f"{len(tomograms) - failed} of {len(tomograms)} tomograms segmented")
    return exit_status(failed)
