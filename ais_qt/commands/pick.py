"""`ais-qt pick`: particle coordinates from segmented volumes, for subtomogram averaging."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ais_qt.commands.cluster_args import add_cluster_arguments, cluster_settings, exit_status, run_on_cluster
from ais_qt.commands.segment import Bar, add_voxel_size, expand
from ais_qt.models.errors import AisError
from ais_qt.models.progress import Progress

EXAMPLE = ("examples:\n  ais-qt pick 'segmented/*__Ribosome.mrc' --threshold 128 --min-volume 2000 "
           "--min-spacing 20 --format star --out picks/\n"
           "  (--min-volume in nm³; 300vx for voxels)\n"
           "  ais-qt pick 'segmented/*__Microtubule.mrc' --mode filament --spacing 8 --min-length 100 --out picks/\n"
           "  (points along each filament with RELION angles whose Z axis follows it, rlnHelicalTubeID)")


def add_parser(subparsers) -> None:
    from ais_qt.models.particles.filaments import FilamentSettings
    from ais_qt.models.formats.particle_io import FORMATS
    from ais_qt.models.particles.picking import ORIENTATIONS, SIGNS

    p = subparsers.add_parser("pick", help="pick particles in segmented volumes",
                              description="Blobs: threshold, distance transform, watershed, minimum volume and "
                                          "spacing (the Ais procedure). Filaments: centre lines (hollow ones "
                                          "filled), points at a spacing with orientations. Writes "
                                          "<segmentation>_coords.<ext> per volume.",
                              epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("segmentations", nargs="+", help="segmented .mrc files (0..255) or glob patterns")
    p.add_argument("--threshold", type=float, default=128, help="level on the 0..255 scale (default 128)")
    p.add_argument("--min-volume", default="0", help="smallest particle: nm³, or voxels with a vx suffix (default 0)")
    p.add_argument("--min-spacing", type=float, default=0, help="smallest distance between particles in nm")
    p.add_argument("--orient", choices=ORIENTATIONS, default="none",
                   help="blobs: give each particle a Z axis (RELION angles in the output): disk = the normal of a "
                        "flat blob, rod = a long blob's axis, membrane = the normal of another feature's segmentation "
                        "where it is nearest (--membrane-feature), pointing towards the particle (default none)")
    p.add_argument("--orient-sign", choices=SIGNS, default="+z",
                   help="which way disk and rod axes point: +z, out (away from the volume centre), in (default +z)")
    p.add_argument("--membrane-feature", default="",
                   help="with --orient membrane: the feature whose segmentation of the same tomogram, beside the "
                        "one picked (<tomogram>__<feature>.mrc), is the membrane")
    p.add_argument("--mode", choices=("blob", "filament"), default="blob",
                   help="blob: one particle per blob (default); filament: points along each filament's axis")
    f = FilamentSettings()
    p.add_argument("--spacing", type=float, default=f.spacing_nm, help=f"filament: nm between points ({f.spacing_nm:g})")
    p.add_argument("--min-length", type=float, default=f.min_length_nm,
                   help=f"filament: shorter pieces are dropped, nm ({f.min_length_nm:g})")
    p.add_argument("--twist", type=float, default=f.twist_deg, help="filament: psi added per point, degrees (0)")
    p.add_argument("--prune", type=float, default=f.prune_nm,
                   help=f"filament: side branches shorter than this are removed, nm ({f.prune_nm:g})")
    p.add_argument("--lumen", type=float, default=f.lumen_nm,
                   help=f"filament: hollow filaments up to this inner radius are filled, nm ({f.lumen_nm:g})")
    p.add_argument("--format", choices=list(FORMATS), default="star", help="output format (default star)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: skip them)")
    add_voxel_size(p)
    add_cluster_arguments(p)


def run(args) -> int:
    from ais_qt.models.particles.filaments import FilamentSettings
    from ais_qt.models.formats.particle_io import pick_to_file
    from ais_qt.models.particles.picking import PickSettings, parse_volume

    try:
        if args.mode == "filament":
            settings = FilamentSettings(args.threshold, args.min_length, args.spacing, args.twist, args.prune,
                                        args.lumen)
        else:
            volume, unit = parse_volume(args.min_volume)
            settings = PickSettings(args.threshold, volume, unit, args.min_spacing, args.orient, args.orient_sign,
                                    args.membrane_feature)
        cluster = cluster_settings(args) if args.cluster else None
    except AisError as e:
        print(f"ais-qt pick: {e}", file=sys.stderr)
        return 2
    paths = expand(args.segmentations)
    if not paths:
        print("ais-qt pick: no segmentation matches", file=sys.stderr)
        return 2
    if cluster:
        from ais_qt.models.cluster import pick_task

        kwargs = dict(folder=str(args.out), settings=settings, fmt=args.format, overwrite=args.overwrite,
                      voxel_size=args.voxel_size)
        return run_on_cluster("ais-qt pick", cluster, pick_task, paths, kwargs, "volumes picked",
                              lambda label: Bar(label, show_message=True))
    failed, total = 0, 0
    for n, path in enumerate(paths, start=1):
        bar = Bar(f"[{n}/{len(paths)}] {Path(path).name}")
        try:
            target, count = pick_to_file(path, args.out, settings, args.format, args.overwrite, Progress(bar),
                                         args.voxel_size)
            bar.close()
            print(f"  {target}: " + ("exists, skipped" if count is None else f"{count} particles"))
            total += count or 0
        except AisError as e:
            bar.close()
            print(f"ais-qt pick: {e}", file=sys.stderr)
            failed += 1
    print(f"{len(paths) - failed} of {len(paths)} volumes picked, {total} particles")
    return exit_status(failed)
