"""The node-graph editor: networks as nodes, edges drawn with the mouse, edited, removed, undone."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ais_qt.models.learning.architectures import ArchitectureLibrary
from ais_qt.models.learning.interactions import Interaction
from ais_qt.models.learning.network import Network, new_info


def add_networks(session, *names):
    library = ArchitectureLibrary()
    colours = ["#e69f00", "#56b4e9", "#009e73"]
    for name, colour in zip(names, colours):
        network = Network(new_info(name, colour, library.get("unet"), {}, 64))
        network.info.threshold = 0.6
        session.networks.add(network)


def settle(qtbot, view):
    qtbot.waitUntil(lambda: not view._timer.isActive(), timeout=2000)
    QApplication.processEvents()


def on_screen(view, scene_point) -> QPoint:
    return view.mapFromScene(scene_point)


def test_draw_an_edge_with_the_mouse_then_edit_and_remove_it(qtbot, window, tmp_path):
    session = window.controller.session
    add_networks(session, "Membrane", "Protein")
    panel = window.workflow.models.interactions
    window.workflow.setCurrentWidget(window.workflow.models)
    window.workflow.models.ensureWidgetVisible(panel)
    view = panel.view
    settle(qtbot, view)
    assert set(view.nodes) == {"Membrane", "Protein"}

    # Drag from Membrane's port onto the Protein node.
    start = on_screen(view, view.nodes["Membrane"].port.sceneBoundingRect().center())
    end = on_screen(view, view.nodes["Protein"].sceneBoundingRect().center())
    port = view.viewport()
    QTest.mousePress(port, Qt.LeftButton, Qt.NoModifier, start)
    for t in (0.25, 0.5, 0.75, 1.0):
        QTest.mouseMove(port, start + (end - start) * t)
    assert view.rubber is not None  # the link being drawn follows the mouse
    QTest.mouseRelease(port, Qt.LeftButton, Qt.NoModifier, end)
    assert session.interactions.edges == [Interaction("Protein", "Membrane", "colocalize", 0.6, 0.0)]
    assert session.history.undo_text == "Add interaction: Protein colocalizes with Membrane"
    settle(qtbot, view)
    assert view.selected == ("Protein", "Membrane") and panel.kind.isEnabled()
    assert "Protein colocalizes with Membrane" in panel.edge_label.text()

    # The edge editor changes the selected edge; a radius shows in pixels of the current tomogram.
    panel.kind.setCurrentText("avoid")
    panel.radius.setValue(3.0)
    edge = session.interactions.edges[0]
    assert (edge.kind, edge.radius_nm) == ("avoid", 3.0)
    settle(qtbot, view)

    # Emit/absorb pills toggle competition roles.
    pill = view.nodes["Membrane"].pills["emit"]
    QTest.mouseClick(port, Qt.LeftButton, Qt.NoModifier, on_screen(view, pill.sceneBoundingRect().center()))
    assert session.interactions.roles["Membrane"]["emit"] is True
    settle(qtbot, view)
    path = tmp_path / "graph.png"
    panel.grab().save(str(path))
    assert path.stat().st_size > 0

    # Click empty space deselects; click the arrow selects; Delete removes it; undo brings it back.
    corner = view.mapFromScene(view.sceneRect().topLeft()) + QPoint(3, 3)
    QTest.mouseClick(port, Qt.LeftButton, Qt.NoModifier, corner)
    settle(qtbot, view)
    assert view.selected is None and not panel.kind.isEnabled()
    arrow = view.edges[("Protein", "Membrane")]
    QTest.mouseClick(port, Qt.LeftButton, Qt.NoModifier, on_screen(view, arrow.label_box.sceneBoundingRect().center()))
    settle(qtbot, view)
    assert view.selected == ("Protein", "Membrane")
    QTest.keyClick(view, Qt.Key_Delete)
    assert session.interactions.edges == []
    window.editor.undo()
    assert session.interactions.edges[0].kind == "avoid"
    settle(qtbot, view)
    assert ("Protein", "Membrane") in view.edges


def test_graph_lists_names_without_networks_and_loads_json(qtbot, window, tmp_path):
    session = window.controller.session
    add_networks(session, "Membrane")
    panel = window.workflow.models.interactions
    (tmp_path / "bad.json").write_text("{")
    errors = []
    panel.problem.connect(errors.append)
    panel.load(str(tmp_path / "bad.json"))
    assert errors and "bad.json" in errors[0] and not session.interactions.edges
    from ais_qt.models.learning.interactions import InteractionGraph
    graph = InteractionGraph()
    graph.add(Interaction("Ribosome", "Membrane", "avoid", 0.4, 5.0))
    graph.save(tmp_path / "g.json")
    panel.load(str(tmp_path / "g.json"))
    settle(qtbot, panel.view)
    assert set(panel.view.nodes) == {"Membrane", "Ribosome"}  # Ribosome has no network yet: a dashed node
    assert panel.view.nodes["Ribosome"].pen().style() == Qt.DashLine
    panel.save(str(tmp_path / "copy.json"))
    assert InteractionGraph.load(tmp_path / "copy.json") == graph
    panel.clear_button.click()
    assert not session.interactions.edges
