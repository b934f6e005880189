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


def test_pick_tab_traces_filaments_removes_points_and_whole_filaments(qtbot, window, tmp_path):
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from tests.test_annotate_view import widget_pos

    shape = (30, 96, 96)
    tomogram = write_mrc(tmp_path / "TS_02.mrc", np.random.default_rng(1).normal(size=shape).astype(np.float32))
    z, y, x = np.mgrid[0:30, 0:96, 0:96]
    seg = np.zeros(shape, np.uint8)
    for centre_y in (30, 70):  # two straight filaments along x, 3 voxels in radius
        seg[(np.hypot(z - 15, y - centre_y) <= 3) & (x > 10) & (x < 86)] = 220
    folder = tmp_path / "segmented"
    folder.mkdir()
    write_mrc(folder / "TS_02__Actin.mrc", seg, voxel_size=10.0)
    (item,) = window.controller.open_paths([tomogram])
    item.z = 15
    window.workflow.export.folder.setText(str(folder))
    window.workflow.setCurrentWidget(window.workflow.pick)
    tab = window.workflow.pick
    window.controller.session.current_changed.emit(item)
    tab.choose(str(folder / "TS_02__Actin.mrc"))
    qtbot.waitUntil(lambda: tab.count.text().endswith("particles"), timeout=10000)
    tab.mode.setFocus()
    qtbot.keyClick(tab.mode, Qt.Key_Down)  # Filaments
    assert not tab.form.isRowVisible(tab.min_spacing) and tab.form.isRowVisible(tab.spacing)
    qtbot.waitUntil(lambda: "on 2 filaments" in tab.count.text(), timeout=10000)
    points = len(tab.state.particles)
    layer = window.particle_layer
    assert len(layer.segments()) > 10 and len(layer.shown()) == points  # every point lies on this slice

    click(window, 48, 50)  # a left click adds nothing to filaments
    assert len(tab.state.particles) == points
    click(window, 48, 31, Qt.RightButton)  # one point of the first filament
    assert tab.count.text() == f"{points - 1} points on 2 filaments (1 removed by hand)"

    def shift_right_click(x, y):
        viewport = window.slice_view.graphics.viewport()
        pos = widget_pos(window, x, y)
        for kind, buttons in ((QEvent.MouseButtonPress, Qt.RightButton), (QEvent.MouseButtonRelease, Qt.NoButton)):
            QApplication.sendEvent(viewport, QMouseEvent(kind, pos, viewport.mapToGlobal(pos), Qt.RightButton,
                                                         buttons, Qt.ShiftModifier))

    shift_right_click(60, 70)  # the whole second filament
    assert "on 1 filament (" in tab.count.text() and "1 filament removed by hand" in tab.count.text()
    window.editor.undo()
    assert "on 2 filaments" in tab.count.text()
    tab.spacing.setValue(6)  # picking again keeps the hand edit
    qtbot.waitUntil(lambda: tab.state.settings.spacing_nm == 6 and "1 removed by hand" in tab.count.text(),
                    timeout=10000)
    tab.format.setCurrentIndex(tab.format.findData("star"))
    table = starfile.read(tab.save(str(tmp_path / "actin.star")))
    assert set(table["rlnHelicalTubeID"]) == {1, 2} and np.allclose(table["rlnAngleTilt"], 90, atol=3)
    window.grab().save(str(tmp_path / "pick_filaments.png"))
    render = window.render_tab  # in 3D: arrows along the filaments and their centre lines as tubes
    window.workflow.setCurrentWidget(render)
    message = render.view.scene["particles"]
    assert len(message[4]) == len(tab.state.particles) and len(message[5]) == 2
    np.testing.assert_allclose(np.abs(message[4][:, 0]), 1, atol=0.05)  # x y z: along x
    assert render.save_screenshot(str(tmp_path / "filaments_3d.png"))


def test_pick_tab_orients_proteins_by_the_membrane_beside_them(qtbot, window, tmp_path):
    shape = (40, 64, 64)
    z, y, x = np.mgrid[0:40, 0:64, 0:64]
    tomogram = write_mrc(tmp_path / "TS_04.mrc", np.random.default_rng(2).normal(size=shape).astype(np.float32))
    folder = tmp_path / "segmented"
    folder.mkdir()
    membrane = np.zeros(shape, np.uint8)
    membrane[19:22] = 250
    proteins = np.zeros(shape, np.uint8)
    proteins[np.hypot(np.hypot(z - 27, y - 32), x - 32) <= 3] = 220
    write_mrc(folder / "TS_04__Membrane.mrc", membrane, voxel_size=10.0)
    write_mrc(folder / "TS_04__Protein.mrc", proteins, voxel_size=10.0)
    (item,) = window.controller.open_paths([tomogram])
    window.workflow.export.folder.setText(str(folder))
    window.workflow.setCurrentWidget(window.workflow.pick)
    tab = window.workflow.pick
    window.controller.session.current_changed.emit(item)
    tab.choose(str(folder / "TS_04__Protein.mrc"))
    qtbot.waitUntil(lambda: tab.count.text() == "1 particle", timeout=10000)
    assert tab.state.particles.angles is None and not tab.form.isRowVisible(tab.membrane)
    tab.orient.setFocus()
    qtbot.keyClick(tab.orient, Qt.Key_End)  # "Normal of a membrane…"
    assert tab.form.isRowVisible(tab.membrane) and tab.membrane.currentText() == "Membrane"
    qtbot.waitUntil(lambda: tab.state.settings.orient == "membrane" and tab.count.text() == "1 particle",
                    timeout=10000)
    from ais_qt.models.particles.orientations import z_axis

    np.testing.assert_allclose(z_axis(tab.state.particles.angles), [[0, 0, 1]], atol=0.05)
    table = starfile.read(tab.save(str(tmp_path / "p.star")))
    assert {"rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi"} <= set(table.columns)


def test_a_pick_that_ends_after_the_window_closed_reaches_nobody(qtbot, settings, tmp_path):
    from PySide6.QtCore import QCoreApplication

    from ais_qt.controllers.session_controller import SessionController
    from ais_qt.views.main_window import MainWindow

    window = MainWindow(SessionController(settings=settings))  # not qtbot's: this test deletes it
    shape = (20, 64, 64)
    tomogram = write_mrc(tmp_path / "TS_03.mrc", np.zeros(shape, np.float32))
    seg = np.zeros(shape, np.uint8)
    ball(seg, (10, 30, 30), 4, 230)
    write_mrc(tmp_path / "TS_03__Ribosome.mrc", seg, voxel_size=10.0)
    (item,) = window.controller.open_paths([tomogram])
    window.controller.session.current_changed.emit(item)
    window.workflow.pick.choose(str(tmp_path / "TS_03__Ribosome.mrc"))  # starts a pick in the pool
    runner = window.controller.runner
    assert runner.running
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)  # the widgets are gone now
    assert runner.wait(10000)
    qtbot.wait(100)  # queued results arrive here; pytest-qt fails the test if a slot raises
    assert not runner.running
