"""Node-graph editor of the interaction graph: networks are nodes, colocalize/avoid are arrows.

Drag from a node's round port onto another node: the second network is then kept only near the
first (colocalize; the edge editor can switch it to avoid). Click an arrow to select it, Delete
removes it; the emit/absorb pills on a node toggle competition. Right-click for the same actions.
Every change goes through the Editor, so it is undoable and marks the project modified.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPainterPathStroker, QPen, QPolygonF
from PySide6.QtWidgets import (QGraphicsEllipseItem, QGraphicsItem, QGraphicsLineItem, QGraphicsPathItem,
                               QGraphicsRectItem, QGraphicsScene, QGraphicsSimpleTextItem, QGraphicsView, QMenu)

from ais_qt.controllers.tasks import coalescing_timer
from ais_qt.models.annotation.editing import Editor
from ais_qt.models.learning.interactions import Interaction

NODE_W, NODE_H = 118, 54
PORT_R = 7
COLUMNS, COLUMN_STEP, ROW_STEP = 2, 225, 110
KIND_STYLE = {"colocalize": (QColor("#2e9d4f"), Qt.SolidLine), "avoid": (QColor("#d0453b"), Qt.DashLine)}
MISSING = "#9a9a9a"  # a name the graph mentions but no network of the session has


def describe(edge: Interaction) -> str:
    verb = "colocalizes with" if edge.kind == "colocalize" else "avoids"
    return f"{edge.child} {verb} {edge.parent}"


class RolePill(QGraphicsRectItem):
    """A clickable emit/absorb toggle on a node."""

    def __init__(self, node: NodeItem, role: str, on: bool, x: float):
        super().__init__(x, NODE_H / 2 - 21, 52, 16, node)
        self.node, self.role = node, role
        colour = QColor(node.colour)
        self.setPen(QPen(colour, 1))
        self.setBrush(colour if on else Qt.NoBrush)
        text = QGraphicsSimpleTextItem(role, self)
        font = text.font()
        font.setPointSizeF(7.5)
        text.setFont(font)
        text.setBrush(QColor("white") if on and colour.lightness() < 170 else node.text_colour)
        box = text.boundingRect()
        text.setPos(x + (52 - box.width()) / 2, NODE_H / 2 - 21 + (16 - box.height()) / 2)
        verb = "emits" if role == "emit" else "absorbs"
        self.setToolTip(f"{node.name} {verb} ({'on' if on else 'off'}). Competition: an absorbing network is "
                        "set to zero wherever an emitting network is higher.")
        self.setCursor(Qt.PointingHandCursor)

    def mousePressEvent(self, event):
        if event.button() == Qt.LeftButton:
            self.node.view.toggle_role(self.node.name, self.role)
        event.accept()


class Port(QGraphicsEllipseItem):
    """The handle an interaction is dragged out of."""

    def __init__(self, node: NodeItem):
        super().__init__(NODE_W / 2 - PORT_R, -PORT_R, 2 * PORT_R, 2 * PORT_R, node)
        self.node = node
        self.setBrush(QColor(node.colour))
        self.setPen(QPen(node.text_colour, 1))
        self.setCursor(Qt.CrossCursor)
        self.setToolTip(f"Drag onto another network to make it colocalize with {node.name}")

    def mousePressEvent(self, event):
        if event.button() == Qt.LeftButton:
            self.node.view.begin_link(self.node)
            event.accept()
        else:
            event.ignore()

    def mouseMoveEvent(self, event):
        self.node.view.drag_link(event.scenePos())

    def mouseReleaseEvent(self, event):
        self.node.view.end_link(event.scenePos())


class NodeItem(QGraphicsRectItem):
    def __init__(self, view: InteractionGraphView, name: str, colour: str, present: bool, role: dict):
        super().__init__(-NODE_W / 2, -NODE_H / 2, NODE_W, NODE_H)
        self.view, self.name, self.colour = view, name, colour
        self.text_colour = view.palette().text().color()
        self.setFlag(QGraphicsItem.ItemIsMovable)
        self.setFlag(QGraphicsItem.ItemSendsGeometryChanges)
        self.setBrush(view.palette().base())
        self.setPen(QPen(QColor(colour), 2, Qt.SolidLine if present else Qt.DashLine))
        stripe = QGraphicsRectItem(-NODE_W / 2, -NODE_H / 2, 7, NODE_H, self)
        stripe.setBrush(QColor(colour))
        stripe.setPen(Qt.NoPen)
        label = QGraphicsSimpleTextItem(self)
        label.setText(QFontMetrics(label.font()).elidedText(name, Qt.ElideRight, NODE_W - 30))
        label.setBrush(self.text_colour)
        label.setPos(-NODE_W / 2 + 12, -NODE_H / 2 + 5)
        self.pills = {role_name: RolePill(self, role_name, bool(role.get(role_name)), x)
                      for role_name, x in (("emit", -NODE_W / 2 + 10), ("absorb", -NODE_W / 2 + 66))}
        self.port = Port(self)
        self.setToolTip(name if present else f"{name}: no network for this feature in the session; "
                                             "its interactions apply once one is loaded or trained")
        self.setCursor(Qt.OpenHandCursor)

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemPositionHasChanged:
            self.view.node_moved(self)
        return super().itemChange(change, value)

    def border_point(self, towards: QPointF) -> QPointF:
        """Where the line from this node's centre towards a point leaves the node's rectangle."""
        centre = self.scenePos()
        dx, dy = towards.x() - centre.x(), towards.y() - centre.y()
        if dx == 0 and dy == 0:
            return centre
        scale = min(NODE_W / 2 / abs(dx) if dx else math.inf, NODE_H / 2 / abs(dy) if dy else math.inf)
        return QPointF(centre.x() + dx * scale, centre.y() + dy * scale)


class EdgeItem(QGraphicsPathItem):
    def __init__(self, view: InteractionGraphView, edge: Interaction, order: int, selected: bool):
        super().__init__()
        self.view, self.edge = view, edge
        self.key = (edge.child, edge.parent)
        colour, style = KIND_STYLE[edge.kind]
        self.setPen(QPen(colour, 3.5 if selected else 2, style, Qt.RoundCap, Qt.RoundJoin))
        self.setZValue(-1)  # under the nodes
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip(f"{order}. {describe(edge)} (parent above {edge.threshold:g}, grown by "
                        f"{edge.radius_nm:g} nm). Click to edit, Delete to remove.")
        self.label_box = QGraphicsRectItem(self)
        self.label_box.setBrush(view.palette().base())
        self.label_box.setPen(QPen(colour, 1))
        self.label = QGraphicsSimpleTextItem(
            f"{order}. {edge.kind} >{edge.threshold:g}" + (f", {edge.radius_nm:g} nm" if edge.radius_nm else ""),
            self.label_box)
        font = self.label.font()
        font.setPointSizeF(7.5)
        font.setBold(selected)
        self.label.setFont(font)
        self.label.setBrush(colour.darker(130))
        self.arrow = QGraphicsPathItem(self)
        self.arrow.setBrush(colour)
        self.arrow.setPen(QPen(colour, 1))
        self.route()

    def route(self) -> None:
        parent, child = self.view.nodes[self.edge.parent], self.view.nodes[self.edge.child]
        start = parent.border_point(child.scenePos())
        end = child.border_point(parent.scenePos())
        line = QLineF(start, end)
        path = QPainterPath(start)
        path.lineTo(end)
        self.setPath(path)
        head = QPainterPath()
        if line.length() > 1:
            unit = line.unitVector()
            ux, uy = unit.dx(), unit.dy()
            size = 11
            back = QPointF(end.x() - size * ux, end.y() - size * uy)
            side = QPointF(size / 2 * uy, -size / 2 * ux)
            head.addPolygon(QPolygonF([end, back + side, back - side, end]))
        self.arrow.setPath(head)
        box = self.label.boundingRect()
        # Beside the line rather than over it, so short arrows stay visible.
        nx, ny = (-line.unitVector().dy(), line.unitVector().dx()) if line.length() > 1 else (0.0, -1.0)
        if nx < -1e-6 or (abs(nx) <= 1e-6 and ny > 0):
            nx, ny = -nx, -ny  # right of vertical arrows, above horizontal ones
        shift = abs(nx) * box.width() / 2 + abs(ny) * box.height() / 2 + 4
        middle = line.center() + QPointF(nx * shift, ny * shift)
        self.label_box.setRect(QRectF(middle.x() - box.width() / 2 - 3, middle.y() - box.height() / 2 - 1,
                                      box.width() + 6, box.height() + 2))
        self.label.setPos(middle.x() - box.width() / 2, middle.y() - box.height() / 2)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)  # easy to hit with the mouse
        shape = stroker.createStroke(self.path())
        shape.addRect(self.label_box.rect())
        return shape

    def mousePressEvent(self, event):
        if event.button() == Qt.LeftButton:
            self.view.select(self.key)
            event.accept()
        else:
            event.ignore()


class InteractionGraphView(QGraphicsView):
    selection_changed = Signal(object)  # (child, parent) of the selected interaction, or None

    def __init__(self, editor: Editor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.session = editor.session
        self.graph = self.session.interactions
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.Antialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # scaled to fit instead
        self.setFocusPolicy(Qt.StrongFocus)
        self.positions: dict[str, QPointF] = {}  # where the user left each node (for this session)
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple, EdgeItem] = {}
        self.selected: tuple | None = None
        self.linking: NodeItem | None = None
        self.rubber: QGraphicsLineItem | None = None
        # Changes often arrive from inside an item's mouse handler; rebuilding there would delete
        # the item Qt is delivering to, so rebuilds run from the event loop.
        self._timer = coalescing_timer(self, 0, self.rebuild)
        self._watched = []
        self.graph.changed.connect(self.schedule)
        self.session.networks.added.connect(self._networks_changed)
        self.session.networks.removed.connect(self._networks_changed)
        self._networks_changed()
        self.rebuild()

    def _networks_changed(self, *_):
        for network in self._watched:
            network.changed.disconnect(self.schedule)
        self._watched = list(self.session.networks)
        for network in self._watched:
            network.changed.connect(self.schedule)  # colour
        self.schedule()

    def schedule(self, *_):
        self._timer.start()

    def names(self) -> list[str]:
        names = [n.info.feature for n in self.session.networks]
        return names + [n for n in self.graph.nodes() if n not in names]

    def rebuild(self) -> None:
        self._timer.stop()
        self.scene().clear()
        self.nodes, self.edges, self.rubber, self.linking = {}, {}, None, None
        networks = {n.info.feature: n for n in self.session.networks}
        for index, name in enumerate(self.names()):
            if name not in self.positions:
                self.positions[name] = self._free_spot(index)
            network = networks.get(name)
            node = NodeItem(self, name, network.info.colour if network else MISSING, network is not None,
                            self.graph.roles.get(name, {}))
            self.scene().addItem(node)
            node.setPos(self.positions[name])
            self.nodes[name] = node
        if self.selected is not None and self.graph.find(*self.selected) is None:
            self.selected = None
        for order, edge in enumerate(self.graph.edges, 1):
            item = EdgeItem(self, edge, order, (edge.child, edge.parent) == self.selected)
            self.scene().addItem(item)
            self.edges[item.key] = item
        self.setSceneRect(self.scene().itemsBoundingRect().adjusted(-12, -12, 12, 12))
        self._fit()
        self.selection_changed.emit(self.selected)

    def _fit(self) -> None:
        """Shrink the graph to the panel's width (never enlarge); the height grows with the rows."""
        rect = self.sceneRect()
        scale = min(1.0, max(self.viewport().width() - 4, 50) / max(rect.width(), 1))
        self.resetTransform()
        self.scale(scale, scale)
        self.setFixedHeight(int(min(max(rect.height() * scale + 8, 150), 380)))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit()

    def _free_spot(self, index: int) -> QPointF:
        taken = {(round(p.x()), round(p.y())) for p in self.positions.values()}
        while True:
            spot = QPointF((index % COLUMNS) * COLUMN_STEP, (index // COLUMNS) * ROW_STEP)
            if (round(spot.x()), round(spot.y())) not in taken:
                return spot
            index += 1

    def node_moved(self, node: NodeItem) -> None:
        self.positions[node.name] = node.scenePos()
        for key, edge in self.edges.items():
            if node.name in key:
                edge.route()

    # -------------------------------------------------------------- editing
    def select(self, key: tuple | None) -> None:
        if key != self.selected:
            self.selected = key
            self.schedule()  # restyles the arrows and tells the edge editor
        self.setFocus()

    def toggle_role(self, name: str, role: str) -> None:
        now = not self.graph.roles.get(name, {}).get(role, False)
        self.editor.edit_interactions(f"{'Let' if now else 'Stop letting'} {name} {role}",
                                      lambda g: g.set_role(name, **{role: now}))

    def link(self, parent: str, child: str) -> None:
        """Make ``child`` colocalize with ``parent`` (threshold: the parent network's own)."""
        network = self.session.networks.for_feature(parent)
        threshold = network.info.threshold if network is not None else 0.5
        edge = Interaction(child, parent, "colocalize", threshold, 0.0)
        self.editor.edit_interactions(f"Add interaction: {describe(edge)}", lambda g: g.add(edge))
        self.selected = (child, parent)
        self.schedule()

    def remove_selected(self) -> None:
        if self.selected is not None:
            child, parent = self.selected
            edge = self.graph.find(child, parent)
            self.editor.edit_interactions(f"Remove '{describe(edge)}'", lambda g: g.remove(child, parent))

    def remove_node(self, name: str) -> None:
        self.editor.edit_interactions(f"Remove {name} from the interactions", lambda g: g.remove_network(name))

    def begin_link(self, node: NodeItem) -> None:
        self.linking = node
        self.rubber = QGraphicsLineItem(QLineF(node.port.sceneBoundingRect().center(),
                                               node.port.sceneBoundingRect().center()))
        self.rubber.setPen(QPen(QColor(node.colour), 2, Qt.DotLine))
        self.scene().addItem(self.rubber)

    def drag_link(self, scene_pos: QPointF) -> None:
        if self.rubber is not None:
            line = self.rubber.line()
            line.setP2(scene_pos)
            self.rubber.setLine(line)

    def end_link(self, scene_pos: QPointF) -> None:
        source = self.linking
        if self.rubber is not None:
            self.scene().removeItem(self.rubber)
        self.rubber, self.linking = None, None
        target = self.node_at(scene_pos)
        if source is not None and target is not None and target is not source:
            self.link(source.name, target.name)

    def node_at(self, scene_pos: QPointF) -> NodeItem | None:
        for item in self.scene().items(scene_pos):
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if item is not None:
                return item
        return None

    # ---------------------------------------------------------------- input
    def keyPressEvent(self, event):
        if event.key() in (Qt.Key_Delete, Qt.Key_Backspace) and self.selected is not None:
            self.remove_selected()
            event.accept()
            return
        if event.key() == Qt.Key_Escape and self.selected is not None:
            self.select(None)
            event.accept()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event):
        super().mousePressEvent(event)
        if self.itemAt(event.position().toPoint()) is None and self.selected is not None:
            self.select(None)  # a click on empty space deselects

    def contextMenuEvent(self, event):
        item = self.itemAt(event.pos())
        while item is not None and not isinstance(item, (EdgeItem, NodeItem)):
            item = item.parentItem()
        menu = QMenu(self)
        if isinstance(item, EdgeItem):
            self.select(item.key)
            child, parent = item.key
            for kind in ("colocalize", "avoid"):
                text = f"Make {child} {kind} {'with ' * (kind == 'colocalize')}{parent}"
                action = menu.addAction(kind.capitalize(), lambda k=kind, t=text: self.editor.edit_interactions(
                    t, lambda g: g.update(child, parent, kind=k)))
                action.setCheckable(True)
                action.setChecked(item.edge.kind == kind)
            menu.addSeparator()
            menu.addAction("Apply earlier", lambda: self.editor.edit_interactions(
                "Reorder interactions", lambda g: g.move(child, parent, -1)))
            menu.addAction("Apply later", lambda: self.editor.edit_interactions(
                "Reorder interactions", lambda g: g.move(child, parent, 1)))
            menu.addAction("Remove", self.remove_selected)
        elif isinstance(item, NodeItem):
            name = item.name
            for role in ("emit", "absorb"):
                action = menu.addAction(role.capitalize(), lambda r=role: self.toggle_role(name, r))
                action.setCheckable(True)
                action.setChecked(bool(self.graph.roles.get(name, {}).get(role)))
            menu.addSeparator()
            menu.addAction(f"Remove {name}'s interactions", lambda: self.remove_node(name))
        else:
            return
        menu.exec(event.globalPos())
