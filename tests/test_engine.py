"""The CPU inference engine (models/learning/engine.py) against its reference, the Keras model."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ais_qt.models.learning import engine as engine_module
from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.learning.engine import Engine, weights_digest
from ais_qt.models.learning.network import Network, new_info

pytest.importorskip("openvino")


def _network(params=None, tile=64) -> Network:
    library = ArchitectureLibrary()
    arch = library.get("unet")
    network = Network(new_info("Membrane", "#e69f00", arch, params or {}, tile), arch.create(tile, params or {}))
    network.info.history = {"loss": [1.0]}
    return network


def test_the_engine_gives_the_keras_answer_on_any_tile_size_and_batch(tmp_path, monkeypatch):
    monkeypatch.setenv("AIS_QT_CACHE_DIR", str(tmp_path))
    network = _network()
    rng = np.random.default_rng(0)
    fast = Engine(network.model, "openvino")
    assert fast.name == "openvino" and fast.fallback is None
    for shape in ((1, 64, 64, 1), (3, 160, 96, 1), (2, 640, 640, 1)):
        x = rng.normal(size=shape).astype(np.float32)
        reference = np.asarray(network.model.predict_on_batch(x))
        assert np.abs(fast.predict_on_batch(x) - reference).max() < 1 / 255  # within one output level
    # Network.predict goes through it; the converted model is cached under the weights' digest.
    assert network.engine().name == "openvino"
    assert (tmp_path / "engines" / f"{weights_digest(network.model)}.xml").exists()


def test_the_converted_model_is_reused_and_rebuilt_when_the_weights_change(tmp_path, monkeypatch):
    monkeypatch.setenv("AIS_QT_CACHE_DIR", str(tmp_path))
    network = _network()
    Engine(network.model, "openvino")
    converts = []
    import openvino

    real = openvino.convert_model
    monkeypatch.setattr(openvino, "convert_model", lambda *a, **k: converts.append(1) or real(*a, **k))
    Engine(network.model, "openvino")  # the same weights: read from the cache
    assert converts == []
    bias = network.model.layers[-1].bias
    bias.assign(np.asarray(bias) + 0.5)  # as calibration or retraining would change it: a new digest
    x = np.random.default_rng(1).normal(size=(1, 64, 64, 1)).astype(np.float32)
    fresh = Engine(network.model, "openvino")
    assert converts == [1]
    assert np.abs(fresh.predict_on_batch(x) - np.asarray(network.model.predict_on_batch(x))).max() < 1 / 255
    assert len(list((tmp_path / "engines").glob("*.xml"))) == 2



def test_the_check_against_keras_is_made_once_per_network_and_openvino(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("AIS_QT_CACHE_DIR", str(tmp_path))
    network = _network()
    first = Engine(network.model, "openvino")
    verdict = tmp_path / "engines" / f"{weights_digest(network.model)}.checked.json"
    kept = json.loads(verdict.read_text())
    assert kept["precision"] == first.precision and kept["openvino"]

    def no_check(model, compiled):
        raise AssertionError("checked again")

    monkeypatch.setattr(engine_module, "_worst_difference", no_check)
    again = Engine(network.model, "openvino")  # the kept verdict: no Keras prediction at all
    assert (again.name, again.precision) == ("openvino", first.precision)
    x = np.random.default_rng(2).normal(size=(1, 64, 64, 1)).astype(np.float32)
    assert np.abs(again.predict_on_batch(x) - np.asarray(network.model.predict_on_batch(x))).max() < 1 / 255

    # Another OpenVINO (or a damaged file): checked again; a failed check is kept too.
    for stale in (dict(kept, openvino="0.0"), "{not json"):
        verdict.write_text(stale if isinstance(stale, str) else json.dumps(stale))
        monkeypatch.setattr(engine_module, "_worst_difference", lambda model, compiled: 3 / 255)
        refused = Engine(network.model, "openvino")
        assert refused.name == "keras" and "3.0 of 255 levels" in refused.fallback
    monkeypatch.setattr(engine_module, "_worst_difference", no_check)
    assert "3.0 of 255 levels" in Engine(network.model, "openvino").fallback

def test_the_precision_said_is_the_precision_computed(tmp_path, monkeypatch):
    """A network refused in bfloat16 runs in float32, not in the CPU's bfloat16 default (OpenVINO
    2026 names that type "bfloat16", which an earlier check read as float32)."""
    from ais_qt.models.learning.engine import is_reduced

    assert is_reduced("<Type: 'bfloat16'>") and is_reduced("bf16") and is_reduced("f16")
    assert not is_reduced("<Type: 'float32'>") and not is_reduced("f32")
    monkeypatch.setenv("AIS_QT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(engine_module, "_worst_difference", lambda model, compiled: 3 / 255 if is_reduced(
        compiled.get_property("INFERENCE_PRECISION_HINT")) else 0.0)
    fast = Engine(_network().model, "openvino")
    assert (fast.name, fast.precision) == ("openvino", "float32")
    assert not is_reduced(fast._compiled.get_property("INFERENCE_PRECISION_HINT"))


def test_the_check_tiles_look_like_tomogram_slices():
    from ais_qt.models.learning.engine import check_tiles

    tiles = check_tiles(64)
    assert tiles.shape == (4, 64, 64, 1) and tiles.dtype == np.float32
    np.testing.assert_allclose(tiles.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(tiles.std(axis=(1, 2, 3)), 1, atol=1e-4)
    # neighbouring pixels: unrelated in white noise, ever more alike with smoothing
    correlation = [np.corrcoef(t[:, :-1].ravel(), t[:, 1:].ravel())[0, 1] for t in tiles[..., 0]]
    assert abs(correlation[0]) < 0.05 and correlation[1] < correlation[2] < correlation[3]


def test_threads_predict_at_once_and_keras_is_the_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("AIS_QT_CACHE_DIR", str(tmp_path))
    network = _network()
    fast = Engine(network.model, "openvino")
    inputs = [np.random.default_rng(i).normal(size=(1, 96, 96, 1)).astype(np.float32) for i in range(4)]
    expected = [fast.predict_on_batch(x) for x in inputs]
    results = [None] * 4

    def work(i):
        for _ in range(5):
            results[i] = fast.predict_on_batch(inputs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)

    monkeypatch.setenv("AIS_QT_ENGINE", "keras")
    assert Engine(network.model).name == "keras"

    def broken(model):
        raise RuntimeError("Cannot convert the custom layer")

    monkeypatch.setattr(engine_module, "_worst_difference", lambda model, compiled: 3 / 255)
    monkeypatch.setenv("AIS_QT_CACHE_DIR", str(tmp_path / "other"))
    checked = Engine(network.model, "openvino")  # a network OpenVINO answers differently: not used
    assert checked.name == "keras" and "differ from Keras' by 3.0 of 255 levels" in checked.fallback

    monkeypatch.setattr(engine_module, "_compile", broken)
    slow = Engine(network.model, "openvino")
    assert slow.name == "keras" and "could not convert" in slow.fallback
    np.testing.assert_allclose(slow.predict_on_batch(inputs[0]), network.model.predict_on_batch(inputs[0]))


def test_a_trained_network_segments_a_volume_the_same_with_either_engine(tmp_path, monkeypatch):
    """Whole-volume outputs (0..255) of the default UNet, trained, within one level of Keras'."""
    from ais_qt.models.learning.segmentation import segment_volume
    from ais_qt.models.volumes.tomogram import Tomogram
    from ais_qt.models.learning.training import TrainSettings, train
    from tests.conftest import write_mrc
    from tests.test_networks import tiny_set

    monkeypatch.setenv("AIS_QT_CACHE_DIR", str(tmp_path / "cache"))
    network = train(tiny_set(), TrainSettings(epochs=2, batch_size=8), ArchitectureLibrary())
    volume = write_mrc(tmp_path / "v.mrc", np.random.default_rng(3).normal(size=(3, 200, 150)).astype(np.float32))
    outputs = {}
    for name in ("keras", "openvino"):
        network._engine = (network._weights, Engine(network.model, name))
        path, = segment_volume(volume, [network], tmp_path / name, dtype="float32")
        outputs[name] = np.asarray(Tomogram.open(path).data)
    assert np.abs(outputs["openvino"] - outputs["keras"]).max() < 1 / 255


def test_the_live_overlay_never_waits_for_the_engine(tmp_path, monkeypatch):
    """Live prediction asks without waiting: Keras answers until the engine, made in the background,
    is ready; a batch job waits for it. New weights start over."""
    import time

    from ais_qt.models.learning.engine import KerasOnly

    monkeypatch.setenv("AIS_QT_CACHE_DIR", str(tmp_path))
    network = _network()
    first = network.engine(wait=False)
    assert isinstance(first, KerasOnly) and first.model is network.model
    deadline = time.monotonic() + 60
    while isinstance(network.engine(wait=False), KerasOnly) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert network.engine(wait=False).name == "openvino"
    network.model = _network().model  # retrained
    assert isinstance(network.engine(wait=False), KerasOnly)
    assert network.engine().name == "openvino"  # a batch job waits for it


def test_a_network_converted_before_segments_without_tensorflow(tmp_path, monkeypatch):
    """A batch worker whose network was converted and checked before never loads TensorFlow (600 MiB)."""
    import subprocess
    import sys

    from tests.conftest import write_mrc

    monkeypatch.setenv("AIS_QT_CACHE_DIR", str(tmp_path / "cache"))
    network = _network(tile=32)
    path = network.save(tmp_path / "membrane.aisnet")
    network.engine()  # converted and checked here, as a first run does
    volume = write_mrc(tmp_path / "v.mrc", np.random.default_rng(3).normal(size=(2, 64, 80)).astype(np.float32))
    script = (
        "import sys, numpy as np\n"
        "from ais_qt.models.learning.architectures import ArchitectureLibrary\n"
        "from ais_qt.models.learning.network import Network\n"
        "from ais_qt.models.learning.segmentation import segment_volume\n"
        f"n = Network.load({str(path)!r}, ArchitectureLibrary())\n"
        "assert n.trained and n.has_weights and n.weights_version == 0  # (what the GUI's caches ask)\n"
        f"(out,) = segment_volume({str(volume)!r}, [n], {str(tmp_path / 'out')!r})\n"
        "print(n.engine().describe(), 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
        "n.model  # asked for, the Keras model is loaded then\n"
        "print('tensorflow' in sys.modules)\n")
    env = dict(__import__("os").environ, CUDA_VISIBLE_DEVICES="", AIS_QT_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    first, second = result.stdout.strip().splitlines()[-2:]
    assert first.startswith("OpenVINO") and first.endswith("False False")
    assert second == "True"
    from ais_qt.models.learning.segmentation import segment_volume

    (ours,) = segment_volume(volume, [network], tmp_path / "here")  # the same numbers as with Keras loaded
    import mrcfile

    with mrcfile.open(ours) as a, mrcfile.open(tmp_path / "out" / ours.name) as b:
        assert np.array_equal(a.data, b.data)


def test_a_cancelled_scope_stops_the_call_under_way_and_every_later_one(tmp_path, monkeypatch):
    from ais_qt.models.learning.engine import Cancelled, CancelScope

    monkeypatch.setenv("AIS_QT_CACHE_DIR", str(tmp_path))
    network = _network()
    fast = Engine(network.model, "openvino")
    big = np.random.default_rng(0).normal(size=(4, 1024, 1024, 1)).astype(np.float32)  # seconds of work
    outcome = {}

    def guess():
        with CancelScope() as scope:
            outcome["scope"] = scope
            try:
                fast.predict_on_batch(big)
                outcome["result"] = "finished"
            except Cancelled:
                outcome["result"] = "cancelled"

    thread = threading.Thread(target=guess)
    thread.start()
    while "scope" not in outcome or not outcome["scope"]._requests:  # the request is under way
        threading.Event().wait(0.005)
    outcome["scope"].cancel()
    thread.join()
    assert outcome["result"] == "cancelled"
    with CancelScope() as scope:  # cancelled before it starts: nothing runs, on either engine
        scope.cancel()
        for engine in (fast, Engine(network.model, "keras")):
            with pytest.raises(Cancelled):
                engine.predict_on_batch(big[:1, :64, :64])
    # Outside a scope, and on the same pooled request after a cancel, predictions are whole and right.
    x = big[:1, :128, :128]
    assert np.abs(fast.predict_on_batch(x) - np.asarray(network.model.predict_on_batch(x))).max() < 1 / 255
