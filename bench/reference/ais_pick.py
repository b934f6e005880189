"""Time Ais's own particle picking (`ais pick`'s blob mode) on one segmented volume.

Run with Ais's interpreter:  python ais_pick.py SEGMENTATION.mrc THRESHOLD MIN_SIZE_NM3 MIN_SPACING_NM OUT.npy
Prints one JSON line (seconds, count) and saves the picked coordinates (z, y, x voxels) to OUT.npy.
"""

import json
import sys
import time

import numpy as np


def main(path: str, threshold: str, min_size: str, min_spacing: str, out: str) -> None:
    import mrcfile
    from Ais.core.util import pick_particles

    pixel_nm = float(mrcfile.open(path, header_only=True).voxel_size.x) / 10.0
    started = time.perf_counter()
    coordinates = pick_particles(mrcpath=path, threshold=float(threshold), margin=0, min_spacing=float(min_spacing),
                                 min_size=float(min_size), pixel_size=pixel_nm, return_coords=True, verbose=False)
    seconds = time.perf_counter() - started
    zyx = np.array(coordinates, float).reshape(-1, 3)
    np.save(out, zyx)
    print(json.dumps({"seconds": seconds, "count": len(zyx)}))


if __name__ == "__main__":
    main(*sys.argv[1:6])
