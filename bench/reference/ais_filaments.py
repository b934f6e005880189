"""Time Ais's own filament picking (`ais pick -filament`) on one segmented volume.

Run with Ais's interpreter:
    python ais_filaments.py SEGMENTATION.mrc THRESHOLD SPACING_NM MIN_LENGTH_NM OUT.npz
Calls Ais's pick_filament (no binning, no margin, no minimum blob size) and keeps its points
(z, y, x voxels), RELION angles and filament ids in OUT.npz; prints one JSON line (seconds, count).
"""

import json
import os
import sys
import tempfile
import time

import numpy as np


def main(path: str, threshold: str, spacing_nm: str, min_length_nm: str, out: str) -> None:
    import mrcfile
    import starfile
    from Ais.core.filaments import pick_filament

    pixel_nm = float(mrcfile.open(path, header_only=True).voxel_size.x) / 10.0
    with tempfile.TemporaryDirectory() as folder:
        star = os.path.join(folder, "picks.star")
        started = time.perf_counter()
        pick_filament(mrcpath=path, out_path=star, threshold=float(threshold), spacing_nm=float(spacing_nm),
                      size_nm=0.0, binning=1, margin=0, pixel_size=pixel_nm, min_length=float(min_length_nm))
        seconds = time.perf_counter() - started
        table = starfile.read(star)
    table = table.get("particles", table) if isinstance(table, dict) else table
    zyx = table[["rlnCoordinateZ", "rlnCoordinateY", "rlnCoordinateX"]].to_numpy(float)
    angles = table[["rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"]].to_numpy(float)
    np.savez(out, zyx=zyx, angles=angles, filament=table["aisFilamentID"].to_numpy(int) + 1)
    print(json.dumps({"seconds": seconds, "count": len(zyx)}))


if __name__ == "__main__":
    main(*sys.argv[1:6])
