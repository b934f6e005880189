"""Which device Keras computes on, in the user's words, for each Keras backend (no GPU needed:
the backends' device queries are stood in for)."""

from __future__ import annotations

import sys
import types

import pytest

from ais_qt.models import backend


def fake_keras(name: str):
    return types.SimpleNamespace(backend=types.SimpleNamespace(backend=lambda: name))


@pytest.mark.parametrize("gpus", [0, 1, 2])
def test_a_jax_gpu_is_named_as_the_driver_names_it(monkeypatch, gpus):
    device = types.SimpleNamespace(device_kind="NVIDIA H100 80GB HBM3")
    jax = types.SimpleNamespace(default_backend=lambda: "gpu" if gpus else "cpu", devices=lambda kind=None: [device] * gpus)
    monkeypatch.setattr(backend, "keras", lambda: fake_keras("jax"))
    monkeypatch.setitem(sys.modules, "jax", jax)
    expected = {0: f"the CPU ({__import__('os').cpu_count()} cores)", 1: "GPU 0 (NVIDIA H100 80GB HBM3)",
                2: "GPU 0 (NVIDIA H100 80GB HBM3), one of 2"}[gpus]
    assert backend.has_gpu() == bool(gpus)
    assert backend.device_description() == expected


def test_a_torch_gpu_is_named_as_the_driver_names_it(monkeypatch):
    cuda = types.SimpleNamespace(is_available=lambda: True, device_count=lambda: 1, get_device_name=lambda i: "NVIDIA A10")
    monkeypatch.setattr(backend, "keras", lambda: fake_keras("torch"))
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    assert backend.device_description() == "GPU 0 (NVIDIA A10)"
