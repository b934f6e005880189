"""The Render tab through the real window: an offscreen VTK isosurface, mouse rotation, level,
hide-dust, screenshot and .obj export."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from ais_qt.models.particles.meshes import read_obj
from tests.conftest import write_mrc
from tests.test_picking import ball


def test_render_tab_shows_a_sphere_rotates_and_exports(qtbot, window, tmp_path):
    tomogram = write_mrc(tmp_path / "TS_01.mrc", np.random.default_rng(0).normal(size=(40, 64, 72)).astype(np.float32))
    seg = np.zeros((40, 64, 72), np.uint8)
    ball(seg, (20, 32, 36), 12, 250)
    inner = ball(np.zeros_like(seg), (20, 32, 36), 6, 1)
    seg[inner.astype(bool)] = 255  # a brighter core: a higher level gives a smaller sphere
    seg[3, 3:5, 3:5] = 200  # dust: 4 voxels
    folder = tmp_path / "segmented"
    folder.mkdir()
    write_mrc(folder / "TS_01__Vesicle.mrc", seg, voxel_size=10.0)
    window.workflow.export.folder.setText(str(folder))
    (item,) = window.controller.open_paths([tomogram])
    tab = window.render_tab
    window.workflow.setCurrentWidget(tab)
    assert window.centre.currentWidget() is tab.view  # the 3D view takes the centre
    window.resize(1200, 800)
    window.show()
    qtbot.waitUntil(lambda: tab.layers.get("Vesicle") is not None and tab.layers["Vesicle"].mesh is not None,
                    timeout=20000)
    mesh = tab.layers["Vesicle"].mesh
    radii = np.linalg.norm(mesh.vertices - (36, 32, 20), axis=1)
    assert radii.max() > 20  # the dust at (3, 3, 3) is drawn too, for now

    frame = tab.view.array()
    background = np.array(frame[2, 2], int)
    lit = np.abs(frame.astype(int) - background).sum(axis=2) > 60
    assert lit.mean() > 0.05  # not blank: the sphere (and slice) cover part of the view
    colour = np.median(frame[lit], axis=0)
    assert colour.max() > 100

    # Hide dust: the 4-voxel blob disappears; a higher level shrinks the sphere to its core.
    tab.dust.setValue(10)  # nm³ = voxels at 10 Å
    qtbot.waitUntil(lambda: tab.layers["Vesicle"].key is not None and tab.layers["Vesicle"].key[2] == 10,
                    timeout=20000)
    radii = np.linalg.norm(tab.layers["Vesicle"].mesh.vertices - (36, 32, 20), axis=1)
    assert 11 < radii.max() < 13
    tab.level.setValue(252)
    qtbot.waitUntil(lambda: tab.layers["Vesicle"].key[1] == 252, timeout=20000)
    radii = np.linalg.norm(tab.layers["Vesicle"].mesh.vertices - (36, 32, 20), axis=1)
    assert 5 < radii.max() < 7.5

    # Picked particles show as spheres drawn over the surfaces (the sphere's centre is inside it).
    pick = window.workflow.pick
    window.workflow.setCurrentWidget(pick)
    pick.choose(str(folder / "TS_01__Vesicle.mrc"))
    pick.min_volume.setValue(10)
    qtbot.waitUntil(lambda: pick.state.picked and len(pick.state.particles) == 1, timeout=10000)
    window.workflow.setCurrentWidget(tab)
    assert np.allclose(tab.view.scene["particles"][1], [[20, 32, 36]])
    frame = tab.view.array().astype(int)
    gold = (frame[..., 0] > 200) & (frame[..., 1] > 160) & (frame[..., 2] < 90)  # the marker colour #ffd700
    assert gold.sum() > 20
    # Oriented, they show as arrows along their axes.
    window.workflow.setCurrentWidget(pick)
    pick.orient.setCurrentIndex(pick.orient.findData("disk"))
    qtbot.waitUntil(lambda: pick.state.settings.orient == "disk" and pick.state.particles.angles is not None,
                    timeout=10000)
    window.workflow.setCurrentWidget(tab)
    assert tab.view.scene["particles"][4].shape == (1, 3)
    frame = tab.view.array().astype(int)
    assert ((frame[..., 0] > 200) & (frame[..., 1] > 160) & (frame[..., 2] < 90)).sum() > 20

    # The mouse rotates the camera (VTK's trackball style).
    before = tab.view.camera_position()
    centre = QPoint(tab.view.width() // 2, tab.view.height() // 2)
    QTest.mousePress(tab.view, Qt.LeftButton, Qt.NoModifier, centre)
    QTest.mouseMove(tab.view, centre + QPoint(40, 0))
    QTest.mouseMove(tab.view, centre + QPoint(80, 10))
    QTest.mouseRelease(tab.view, Qt.LeftButton, Qt.NoModifier, centre + QPoint(80, 10))
    assert np.linalg.norm(np.subtract(tab.view.camera_position(), before)) > 1
    qtbot.mouseClick(tab.reset_button, Qt.LeftButton)

    shot = tmp_path / "render.png"
    assert tab.save_screenshot(str(shot)) and shot.stat().st_size > 1000
    tab.units.setCurrentIndex(tab.units.findData("angstrom"))
    obj = tab.export_obj(str(tmp_path / "vesicle.obj"))
    exported = read_obj(obj)
    assert len(exported.vertices) == len(tab.layers["Vesicle"].mesh.vertices) > 100
    assert 50 < np.linalg.norm(exported.vertices - (360, 320, 200), axis=1).max() < 75  # Å

    # TensorFlow and the renderer's OpenGL (Mesa's LLVM) crash when they share a process: rendering
    # lives in its own, so using a network after rendering (and rendering again) is safe.
    from ais_qt.models.backend import keras

    k = keras()
    model = k.Sequential([k.Input((8, 8, 1)), k.layers.Conv2D(1, 3, padding="same")])
    assert model.predict_on_batch(np.zeros((1, 8, 8, 1), np.float32)).shape == (1, 8, 8, 1)
    assert tab.view.array().mean() > 0

    # Untick: the surface leaves the scene.
    tab.tree.topLevelItem(0).setCheckState(0, Qt.Unchecked)
    assert "Vesicle" not in tab.view.surfaces
    window.workflow.setCurrentWidget(window.workflow.pick)
    assert window.centre.currentWidget() is window.ortho  # the slice views are back
