"""The Pick tab through the real window: choose a segmentation, the count follows the settings,
click to add and right-click to remove particles, undo, save; batch picking in the queue."""

from __future__ import annotations

import numpy as np
import starfile
from PySide6.QtCore import QEvent, Qt

from tests.conftest import write_mrc
from tests.test_annotate_view import mouse
from tests.test_picking import ball


def click(window, x, y, button=Qt.LeftButton):
    mouse(window, QEvent.MouseButtonPress, x, y, button)
    mouse(window, QEvent.MouseButtonRelease, x, y, button, buttons=Qt.NoButton)


def test_pick_tab_counts_edits_and_saves(qtbot, window, tmp_path):
    tomogram = write_mrc(tmp_path / "TS_01.mrc", np.random.default_rng(0).normal(size=(20, 80, 96)).astype(np.float32))
    seg = np.zeros((20, 80, 96), np.uint8)
    ball(seg, (10, 20, 20), 4, 230)
    ball(seg, (10, 20, 28), 4, 160)  # 8 voxels from the first: gone at a spacing of 10 nm
    ball(seg, (10, 60, 70), 4, 230)
    folder = tmp_path / "segmented"
    folder.mkdir()
    write_mrc(folder / "TS_01__Ribosome.mrc", seg, voxel_size=10.0)
    write_mrc(folder / "TS_01__Wrong.mrc", np.zeros((5, 5, 5), np.uint8))
    (item,) = window.controller.open_paths([tomogram])
    item.z = 10
    window.workflow.export.folder.setText(str(folder))
    window.workflow.setCurrentWidget(window.workflow.pick)
    tab = window.workflow.pick
    window.controller.session.current_changed.emit(item)  # the combo lists the folder's segmentations
    assert [tab.segmentation.itemText(i) for i in range(1, tab.segmentation.count())] == [
        "TS_01__Ribosome.mrc", "TS_01__Wrong.mrc"]

    errors = []
    tab.problem.connect(errors.append)
    tab.segmentation.setFocus()
    qtbot.keyClick(tab.segmentation, Qt.Key_End)  # the wrong-shaped one is refused with a message
    assert errors and "TS_01__Wrong.mrc" in errors[0] and "not its segmentation" in errors[0]
    assert tab.state is None
    qtbot.keyClick(tab.segmentation, Qt.Key_Down)  # back on the placeholder after the refusal
    qtbot.waitUntil(lambda: tab.count.text() == "3 particles", timeout=10000)

    tab.min_spacing.setFocus()
    tab.min_spacing.selectAll()
    qtbot.keyClicks(tab.min_spacing, "10")
    qtbot.waitUntil(lambda: tab.count.text() == "2 particles", timeout=10000)
    layer = window.particle_layer
    assert sorted(map(tuple, layer.shown()[:, :2])) == [(20, 20), (70, 60)]  # x, y of the markers

    click(window, 50, 40)  # on the slice: a particle by hand
    assert tab.count.text() == "3 particles (1 added by hand)"
    assert tuple(np.round(tab.state.particles.zyx[-1])) == (10, 40, 50)
    click(window, 71, 61, Qt.RightButton)  # removes the nearest
    assert tab.count.text() == "2 particles (1 added, 1 removed by hand)"
    window.editor.undo()
    assert tab.count.text() == "3 particles (1 added by hand)"

    tab.threshold_spin.setValue(200)  # the heavier ball only... and the hand-placed one stays
    qtbot.waitUntil(lambda: tab.count.text() == "3 particles (1 added by hand)" and
                    tab.state.settings.threshold == 200, timeout=10000)
    tab.format.setCurrentIndex(tab.format.findData("star"))
    saved = tab.save(str(tmp_path / "picks.star"))
    table = starfile.read(saved)
    assert len(table) == 3 and set(table["rlnTomoName"]) == {"TS_01"}

    path = tmp_path / "pick_tab.png"
    window.grab().save(str(path))
    assert path.stat().st_size > 0

    # Batch: the same settings over several volumes, in the queue.
    tab.add_batch_files([str(folder / "TS_01__Ribosome.mrc"), str(tmp_path / "missing.mrc")])
    tab.batch_folder.setText(str(tmp_path / "batch"))
    qtbot.mouseClick(tab.batch_start, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.queue.running, timeout=20000)
    log = tab.progress.log.toPlainText()
    assert "TS_01__Ribosome_coords.star: 2 particles" in log and "missing.mrc" in log
    assert "1 of 2 volumes picked, 1 failed" in log
