"""Ais model files made and used by the original Ais, for checking Ais-Qt's .scnm import and export.

Run with Ais's interpreter (see README.md here):
    python ais_interop.py model ARCH BOX OUT.scnm [NORMALIZATION] [TRAIN.npz]
        an Ais model of a library architecture (e.g. "UNet S") made by Ais's SEModel (compile, save);
        with TRAIN.npz (x: boxes N x BOX x BOX, y: labels 0/1) it is first fitted for one epoch, so its
        weights are not just the initial ones. NORMALIZATION: "none" (Ais's legacy per-slice) or global_mad.
    python ais_interop.py tiny OUT.scnm [lambda]
        a tiny 2D network (a few KB) saved by Ais's SEModel.save: the test fixture; "lambda" adds a
        Lambda layer, which Ais-Qt must refuse to load.
    python ais_interop.py scnt BOXES.npz OUT.scnt
        an Ais training set written by Ais's write_training_set from BOXES.npz (x: N x D x S x S input
        boxes, y: N x S x S labels 0/1/2, apix).
    python ais_interop.py segment MODEL.scnm VOLUME.mrc OUT_DIR
        `ais segment`'s worker on one volume; prints {"output": path}.
Prints one JSON line. No Ais code is copied; only its public classes and functions are called.
"""

import json
import os
import sys

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _model(arch, box, out, normalization="none", train=None):
    import numpy as np
    from Ais.core.se_model import SEModel

    model = SEModel(no_glfw=True)
    model.model_enum = SEModel.AVAILABLE_MODELS.index(arch)
    model.compile(int(box))
    if train:
        data = np.load(train)
        model.model.fit(data["x"][..., None].astype("float32"), data["y"][..., None].astype("float32"),
                        batch_size=8, epochs=1, verbose=0)
    model.title, model.apix, model.threshold = "Membrane", 10.0, 0.5
    model.normalization = None if normalization == "none" else normalization
    model.save(out)
    return {"output": out, "parameters": int(model.model.count_params())}


def _tiny(out, with_lambda=""):
    import numpy as np
    from Ais.core.se_model import SEModel
    from tensorflow.keras import layers, models

    inputs = layers.Input((32, 32, 1))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    if with_lambda:
        x = layers.Lambda(lambda t: t * 2.0)(x)
    skip = x
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.UpSampling2D(2)(x)
    x = layers.Concatenate()([x, skip])
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(x)
    net = models.Model(inputs, outputs)
    rng = np.random.default_rng(7)
    net.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in net.get_weights()])
    model = SEModel(no_glfw=True)
    model.model, model.compiled, model.box_size, model.n_parameters = net, True, 32, int(net.count_params())
    model.title, model.apix, model.threshold, model.colour = "Tiny", 10.0, 0.4, (1.0, 0.5, 0.0)
    model.emit, model.absorb, model.arch = True, False, "Tiny test net"
    model.save(out)
    return {"output": out, "parameters": int(net.count_params())}


def _scnt(boxes, out):
    import numpy as np
    from Ais.core.se_scnt import make_id, write_training_set

    data = np.load(boxes)
    samples = [{"hash": make_id("test", "Membrane", i, 0, 0), "inputs": {"x_main": x}, "label": y,
                "source": {"aisTomogramName": "test", "aisFeatureName": "Membrane"}}
               for i, (x, y) in enumerate(zip(data["x"].astype("float32"), data["y"].astype("float32")))]
    write_training_set(out, samples, float(data["apix"]), ["Membrane"])
    return {"output": out, "samples": len(samples)}


def _segment(model, volume, out_dir):
    import Ais.core.cli_fn as cli
    from Ais.core.se_model import SEModel

    os.makedirs(out_dir, exist_ok=True)
    cli._segmentation_thread(model, [volume], out_dir, "", overwrite=True, n_workers=1)
    title = SEModel.load_metadata(model)["title"]
    return {"output": os.path.join(out_dir, os.path.splitext(os.path.basename(volume))[0] + f"__{title}.mrc")}


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    result = {"model": _model, "tiny": _tiny, "scnt": _scnt, "segment": _segment}[command](*args)
    print(json.dumps(result))
