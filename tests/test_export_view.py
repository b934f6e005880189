"""The Export tab: a background queue that segments several tomograms, goes on after an error."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.learning.segmentation import segment_volume
from ais_qt.models.volumes.tomogram import Tomogram
from ais_qt.models.learning.training import TrainSettings, train
from tests.conftest import write_mrc
from tests.test_networks import tiny_set


def test_queue_segments_logs_and_survives_a_bad_file(qtbot, window, tmp_path):
    network = train(tiny_set(), TrainSettings(architecture="eman2", epochs=1, batch_size=8), ArchitectureLibrary())
    window.controller.session.networks.add(network)
    good = [write_mrc(tmp_path / f"t{i}.mrc", np.random.default_rng(i).normal(size=(4, 48, 64)).astype(np.float32))
            for i in range(2)]
    window.controller.open_paths([good[0]])
    bad = tmp_path / "broken.mrc"
    bad.write_bytes(b"\0" * 200)
    tab = window.workflow.export
    tab.add_files([str(bad), str(good[1])])
    assert tab.tomograms.count() == 3 and tab.networks.count() == 1
    tab.folder.setText(str(tmp_path / "out"))
    qtbot.mouseClick(tab.start_button, Qt.LeftButton)
    assert tab.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not window.queue.running, timeout=60000)
    log = tab.log.toPlainText()
    assert "FAILED" in log and "broken.mrc" in log and "2 of 3 tomograms segmented, 1 failed" in log
    for path in good:
        seg = Tomogram.open(tmp_path / "out" / f"{path.stem}__Membrane.mrc")
        assert seg.shape == (4, 48, 64) and seg.dtype == np.uint16  # 0..255 that every tool reads the same
    assert tab.overall.value() == 1000 and tab.start_button.isEnabled()

    # Probabilities instead: the next choice in the Values box, and overwrite what is there.
    tab.dtype.setFocus()
    qtbot.keyClick(tab.dtype, Qt.Key_Down)
    assert tab.dtype.currentData() == "float32"
    tab.overwrite.click()
    tab.tomograms.item(1).setCheckState(Qt.Unchecked)  # the broken file
    qtbot.mouseClick(tab.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.queue.running, timeout=60000)
    seg = Tomogram.open(tmp_path / "out" / f"{good[1].stem}__Membrane.mrc")
    values = np.asarray(seg.data)
    assert seg.dtype == np.float32 and 0 <= values.min() and values.max() <= 1

    # Test-time augmentation: all 8 orientations, the last choice, give what segment_volume gives with 8.
    tab.orientations.setFocus()
    qtbot.keyClick(tab.orientations, Qt.Key_End)
    assert tab.orientations.currentData() == 8
    qtbot.mouseClick(tab.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.queue.running, timeout=60000)
    averaged = np.asarray(Tomogram.open(tmp_path / "out" / f"{good[1].stem}__Membrane.mrc").data)
    (direct,) = segment_volume(good[1], [network], tmp_path / "direct", dtype="float32", orientations=8)
    np.testing.assert_allclose(averaged, np.asarray(Tomogram.open(direct).data), atol=1e-6)
    assert np.abs(averaged - values).max() > 1e-3  # not the one-orientation answer
    tab.grab().save(str(tmp_path / "export_tab.png"))


def test_queue_runs_on_a_dask_scheduler_chosen_in_the_tab(qtbot, window, tmp_path):
    from distributed import LocalCluster

    network = train(tiny_set(), TrainSettings(architecture="eman2", epochs=1, batch_size=8), ArchitectureLibrary())
    window.controller.session.networks.add(network)
    paths = [write_mrc(tmp_path / f"t{i}.mrc", np.random.default_rng(i).normal(size=(4, 48, 64)).astype(np.float32))
             for i in range(3)]
    bad = tmp_path / "broken.mrc"
    bad.write_bytes(b"\0" * 200)
    tab = window.workflow.export
    tab.add_files([str(p) for p in paths] + [str(bad)])
    tab.folder.setText(str(tmp_path / "out"))
    assert not tab.scheduler.isEnabled()
    tab.where.setFocus()
    qtbot.keyClick(tab.where, Qt.Key_Down)  # "A Dask scheduler"
    assert tab.scheduler.isEnabled()
    qtbot.mouseClick(tab.start_button, Qt.LeftButton)  # no address yet: said, nothing started
    assert not window.queue.running and "scheduler's address" in tab.log.toPlainText()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=None) as cluster:
        qtbot.keyClicks(tab.scheduler, cluster.scheduler_address)
        qtbot.mouseClick(tab.start_button, Qt.LeftButton)
        assert tab.cancel_button.isEnabled()
        qtbot.waitUntil(lambda: not window.queue.running, timeout=120000)
    log = tab.log.toPlainText()
    assert f"on the Dask scheduler {cluster.scheduler_address}" in log and "FAILED" in log and "broken.mrc" in log
    assert "3 of 4 tomograms segmented, 1 failed" in log
    for path in paths:
        assert Tomogram.open(tmp_path / "out" / f"{path.stem}__Membrane.mrc").shape == (4, 48, 64)
    assert network.path is None  # saved for the workers without becoming the session's network file
    assert tab.overall.value() == 1000 and tab.start_button.isEnabled()
    tab.grab().save(str(tmp_path / "export_tab_dask.png"))


def test_gpus_chosen_in_the_tab_run_one_worker_per_gpu(qtbot, window, tmp_path, monkeypatch):
    """On this CPU machine the GPU workers compute on the CPU, but the path is the real one:
    a worker per listed device, CUDA_VISIBLE_DEVICES each, outputs written, the log says where."""
    import ais_qt.views.export_tab as export_tab

    network = train(tiny_set(), TrainSettings(architecture="eman2", epochs=1, batch_size=8), ArchitectureLibrary())
    window.controller.session.networks.add(network)
    path = write_mrc(tmp_path / "t.mrc", np.random.default_rng(0).normal(size=(4, 48, 64)).astype(np.float32))
    tab = window.workflow.export
    tab.add_files([str(path)])
    tab.folder.setText(str(tmp_path / "out"))
    tab.where.setCurrentIndex(tab.where.findData("gpus"))
    assert tab.scheduler.isEnabled() and tab.scheduler.text() == "0"
    monkeypatch.setattr(export_tab, "gpus_present", lambda: False)
    qtbot.mouseClick(tab.start_button, Qt.LeftButton)
    assert not window.queue.running and "No GPU is visible" in tab.log.toPlainText()
    monkeypatch.setattr(export_tab, "gpus_present", lambda: True)
    tab.scheduler.setText("0,x")
    qtbot.mouseClick(tab.start_button, Qt.LeftButton)
    assert not window.queue.running and "GPUs 0,x: give the GPU numbers" in tab.log.toPlainText()
    tab.scheduler.setText("0")
    qtbot.mouseClick(tab.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.queue.running, timeout=120000)
    log = tab.log.toPlainText()
    assert "on this computer's GPU 0" in log and "1 of 1 tomograms segmented" in log, log
    assert Tomogram.open(tmp_path / "out" / "t__Membrane.mrc").shape == (4, 48, 64)
