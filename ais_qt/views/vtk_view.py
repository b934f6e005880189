"""The 3D view widget: shows frames from the render process and sends it the mouse.

VTK renders in a process of its own (render_process.py explains why) into an offscreen buffer;
this widget paints the frames. VTK's QVTKRenderWindowInteractor is not used: it needs a native
X11/Win32 window id, so it fails under Wayland and under Qt's offscreen platform (tests, headless
screenshots). Mouse and wheel events drive VTK's trackball camera in the render process, so
rotating and zooming behave as in any VTK viewer.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from ais_qt.controllers.tasks import coalescing_timer
from ais_qt.views.render_process import RenderClient, RenderError

BUTTONS = {Qt.LeftButton: "left", Qt.RightButton: "right", Qt.MiddleButton: "middle"}


def rgb(colour: str) -> tuple[float, float, float]:
    c = QColor(colour)
    return c.redF(), c.greenF(), c.blueF()


class VtkView(QWidget):
    problem = Signal(str)
    shown = Signal()  # the view came on screen: time to bring what it shows up to date

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setFocusPolicy(Qt.StrongFocus)
        self.client = RenderClient()
        self.scene: dict[str, tuple] = {}  # what the render process should show, replayed if it restarts
        self.surfaces: set[str] = set()
        self.frame: QImage | None = None
        self._timer = coalescing_timer(self, 0, self.render)  # many changes in one pass: one frame

    # ---------------------------------------------------------------- scene
    def _send(self, key: str, *message) -> None:
        self.scene[key] = message
        if self.client.running:
            self._call(*message)
        self.schedule()

    def set_surface(self, name: str, mesh, colour: str) -> None:
        visible = mesh is not None and len(mesh) > 0
        self.surfaces.discard(name)
        if visible:
            self.surfaces.add(name)
        self._send(f"surface:{name}", "surface", name, mesh.vertices if visible else None,
                   mesh.faces if visible else None, rgb(colour))

    def set_slice(self, image: np.ndarray | None, z: float, shape: tuple) -> None:
        self._send("slice", "slice", image, z, tuple(shape))

    def set_particles(self, zyx: np.ndarray | None, colour: str, radius: float, axes: np.ndarray | None = None,
                      lines: list | None = None) -> None:
        self._send("particles", "particles", zyx, rgb(colour) if colour else (1, 1, 1), radius, axes, lines)

    def reset_camera(self) -> None:
        self._send("camera", "reset")

    def camera_position(self) -> tuple:
        return self._call("camera") or (0, 0, 0)

    # --------------------------------------------------------------- frames
    def _call(self, *message):
        try:
            if not self.client.running:
                self.client.call("size", *self._pixels())
                for key, replay in list(self.scene.items()):  # a fresh process: rebuild the scene,
                    if key != "camera":
                        self.client.call(*replay)
                if "camera" in self.scene:  # and frame it once everything is there
                    self.client.call("reset")
            return self.client.call(*message)
        except RenderError as e:
            self.problem.emit(f"3D view: {e}")
            return None

    def _pixels(self) -> tuple[int, int]:
        ratio = self.devicePixelRatioF()
        return max(int(self.width() * ratio), 16), max(int(self.height() * ratio), 16)

    def schedule(self) -> None:
        if self.isVisible():
            self._timer.start()

    def render(self) -> QImage | None:
        """Render now and keep the frame for painting; returns it."""
        self._timer.stop()
        self._call("size", *self._pixels())
        reply = self._call("frame") if self.client.running else None
        if reply is None:
            return None
        width, height, data = reply
        self.frame = QImage(data, width, height, 3 * width, QImage.Format_RGB888).copy()
        self.frame.setDevicePixelRatio(self.devicePixelRatioF())
        self.update()
        return self.frame

    def array(self) -> np.ndarray:
        """The current frame as an (h, w, 3) uint8 array (rendered now)."""
        frame = self.render()
        if frame is None:
            return np.zeros((1, 1, 3), np.uint8)
        data = np.frombuffer(frame.constBits(), np.uint8, frame.sizeInBytes())
        return data.reshape(frame.height(), frame.bytesPerLine())[:, :frame.width() * 3].reshape(
            frame.height(), frame.width(), 3).copy()

    def save_png(self, path) -> bool:
        frame = self.render()
        return frame is not None and frame.save(str(path), "PNG")

    def paintEvent(self, event):
        painter = QPainter(self)
        if self.frame is None:
            painter.fillRect(self.rect(), QColor(28, 31, 36))
        else:
            painter.drawImage(0, 0, self.frame)
        painter.end()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.schedule()

    def showEvent(self, event):
        super().showEvent(event)
        self.shown.emit()
        self.schedule()

    def shutdown(self) -> None:
        self.client.close()

    # ---------------------------------------------------------------- input
    def _event(self, kind: str, event) -> None:
        ratio = self.devicePixelRatioF()
        pos = event.position()
        modifiers = event.modifiers()
        self._call("event", kind, int(pos.x() * ratio), int(pos.y() * ratio),
                   int(bool(modifiers & Qt.ControlModifier)), int(bool(modifiers & Qt.ShiftModifier)))
        self.schedule()

    def mousePressEvent(self, event):
        if event.button() in BUTTONS:  # left: rotate (Shift: pan, Ctrl: spin); right: zoom; middle: pan
            self._event(f"{BUTTONS[event.button()]}_press", event)

    def mouseReleaseEvent(self, event):
        if event.button() in BUTTONS:
            self._event(f"{BUTTONS[event.button()]}_release", event)

    def mouseMoveEvent(self, event):
        self._event("move", event)

    def wheelEvent(self, event):
        delta = event.angleDelta().y()
        if delta:
            self._event("wheel_forward" if delta > 0 else "wheel_backward", event)
        event.accept()
