"""Mixed-precision training (an option): chosen by a setting, handed back as float32."""

from __future__ import annotations

import numpy as np
import pytest

from ais_qt.models.learning import precision
from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.learning.training import TrainSettings, dice_iou, train
from tests.test_networks import tiny_set


@pytest.fixture(scope="module")
def library():
    return ArchitectureLibrary()


def test_the_setting_decides_and_auto_uses_bfloat16_only_on_a_cpu_that_has_it(monkeypatch):
    for has_bf16 in (True, False):
        monkeypatch.setattr(precision, "cpu_has_bf16", lambda: has_bf16)
        for on_gpu in (True, False):
            assert precision.training_policy("float32", on_gpu) is None
            assert precision.training_policy("mixed_bfloat16", on_gpu) == "mixed_bfloat16"
            expected = "mixed_bfloat16" if has_bf16 and not on_gpu else None
            assert precision.training_policy("auto", on_gpu) == expected
    assert TrainSettings().precision == "float32"
    with pytest.raises(ValueError, match="precision must be one of"):
        precision.training_policy("half", False)


def test_the_cpu_flags_are_read_from_proc_cpuinfo(monkeypatch, tmp_path):
    import builtins

    cpuinfo = tmp_path / "cpuinfo"
    opened = builtins.open

    def fake_open(path, *args, **kwargs):
        return opened(cpuinfo if path == "/proc/cpuinfo" else path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(precision.sys, "platform", "linux")
    for flags, expected in (("fpu avx2 avx512f avx512_bf16 fma", True), ("fpu avx2 amx_bf16", True),
                            ("fpu avx2 avx512f fma", False)):
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        precision.cpu_has_bf16.cache_clear()
        assert precision.cpu_has_bf16() is expected
    precision.cpu_has_bf16.cache_clear()


def test_training_in_bfloat16_learns_and_hands_back_a_float32_network(library):
    ts = tiny_set()
    network = train(ts, TrainSettings(epochs=8, batch_size=8, validation_split=0, precision="mixed_bfloat16"), library)
    assert "bfloat16 mixed precision" in network.info.training["device"]
    assert network.info.training["precision"] == "mixed_bfloat16"
    assert {layer.dtype_policy.name for layer in network.model.layers} == {"float32"}
    out = network.predict(ts.x)
    assert out.dtype == np.float32
    dice, _ = dice_iou(ts.y, out, network.info.threshold)
    assert dice > 0.8
