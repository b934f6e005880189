"""Time Ais's own headless segmentation (`ais segment`'s worker) of one volume with its UNet M.

Run with Ais's interpreter:  python ais_segment.py VOLUME.mrc OUT_DIR
Prints one JSON line: seconds spent in the segmentation call, peak RSS (MiB), output path.
Ais's UNet M is a depth-4 UNet with 32 base filters and batch normalisation; the weights are
Keras's initial ones (speed does not depend on them).
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # this comparison is about the CPU
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from runs import peak_mib  # noqa: E402  (bench/runs.py: the standard library only)


def main(volume: str, out_dir: str) -> None:
    import Ais.core.cli_fn as cli
    from Ais.core.se_model import SEModel
    from Ais.models import unet_m

    se_model = SEModel(no_glfw=True)
    se_model.model = unet_m.create((64, 64, 1))
    se_model.title, se_model.apix, se_model.box_size, se_model.arch = "Membrane", 10.0, 64, unet_m.title
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, "unet_m.scnm")
        se_model.save(model_path)
        os.makedirs(out_dir, exist_ok=True)
        started = time.perf_counter()
        # model_apix = the volume's own: no rescaling, as in our run; one preprocessing worker.
        cli._segmentation_thread(model_path, [volume], out_dir, "", overwrite=True, n_workers=1,
                                 model_apix=None, data_apix=0.0)
        seconds = time.perf_counter() - started
    output = os.path.join(out_dir, os.path.splitext(os.path.basename(volume))[0] + "__Membrane.mrc")
    peak = peak_mib()
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "output": output,
                      "parameters": int(se_model.model.count_params())}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
