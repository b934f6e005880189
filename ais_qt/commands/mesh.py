"""`ais-qt mesh`: an isosurface of a segmented volume as a Wavefront .obj (Blender, ChimeraX)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ais_qt.commands.segment import Bar, add_voxel_size, apply_voxel_size
from ais_qt.models.errors import AisError
from ais_qt.models.progress import Progress

EXAMPLE = ("example:\n  ais-qt mesh TS_01__Membrane.mrc --level 128 --min-volume 5000 --units angstrom "
           "--out membrane.obj")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("mesh", help="export a segmented volume's surface as .obj",
                              description="Marching-cubes isosurface of a segmented volume (0..255), dust removed.",
                              epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("segmentation", type=Path, help="segmented .mrc file")
    p.add_argument("--level", type=float, default=128, help="isosurface level on the 0..255 scale (default 128)")
    p.add_argument("--min-volume", default="0", help="hide blobs smaller than this: nm³, or voxels with a vx suffix")
    p.add_argument("--units", choices=("voxels", "angstrom"), default="voxels", help="vertex units (default voxels)")
    p.add_argument("--step", type=int, default=1, help="sample every n-th voxel: fewer triangles (default 1)")
    p.add_argument("--smooth", type=float, default=0.0, help="Gaussian smoothing sigma in voxels (default 0)")
    p.add_argument("--out", type=Path, required=True, help="output .obj file")
    add_voxel_size(p)


def run(args) -> int:
    from ais_qt.models.particles.meshes import surface, write_obj
    from ais_qt.models.particles.picking import PickSettings, parse_volume
    from ais_qt.models.learning.segmentation import open_segmentation, split_output_name

    try:
        amount, unit = parse_volume(args.min_volume)
        volume = open_segmentation(args.segmentation)
        try:
            apply_voxel_size(volume, args.voxel_size)
            min_voxels = PickSettings(min_volume=amount, volume_unit=unit).min_voxels(volume.voxel_size)
            if args.units == "angstrom" and not volume.voxel_size:
                raise AisError(None, "vertices in Å need the voxel size: the header gives none, so give --voxel-size")
        except AisError as e:
            raise AisError(args.segmentation, e.problem) from None
        bar = Bar(args.segmentation.name)
        mesh = surface(volume.data, args.level, min_voxels, args.step, args.smooth, Progress(bar))
        bar.close()
        if args.units == "angstrom":
            mesh = mesh.in_angstrom(volume.grid)
        tomogram, feature = split_output_name(args.segmentation)
        name = feature or tomogram
        write_obj(mesh, args.out, name, args.units)
    except AisError as e:
        print(f"ais-qt mesh: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"ais-qt mesh: {args.out}: could not be written ({e})", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(mesh.vertices)} vertices, {len(mesh.faces)} triangles ({args.units})")
    return 0 if len(mesh.faces) else 1
