"""A VTK 3D view inside a Qt widget, rendered off screen and shown frame by frame.

VTK's QVTKRenderWindowInteractor hands VTK a native window id: that needs an X11 or Win32
window, so it fails under Wayland and under Qt's offscreen platform (our tests, headless
screenshots). Here VTK renders into its own offscreen buffer (EGL/OSMesa without a display) and
the widget paints the frames; mouse and wheel events drive VTK's trackball camera through a
vtkGenericRenderWindowInteractor, so rotating and zooming behave as in any VTK viewer.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text rendering backend)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL backend)
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow
from vtkmodules.vtkRenderingUI import vtkGenericRenderWindowInteractor

BACKGROUND = (0.11, 0.12, 0.14)
if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
    # No X server: go straight to EGL instead of VTK first trying X and printing a warning.
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


class VtkView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setFocusPolicy(Qt.StrongFocus)
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(*BACKGROUND)
        self.window = vtkRenderWindow()
        self.window.SetOffScreenRendering(True)
        self.window.AddRenderer(self.renderer)
        self.window.SetSize(400, 400)
        self.interactor = vtkGenericRenderWindowInteractor()
        self.interactor.SetRenderWindow(self.window)
        self.interactor.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        self.interactor.Initialize()
        self.interactor.AddObserver("RenderEvent", lambda *_: self.schedule())  # the camera style asks
        self.frame: QImage | None = None
        self._timer = QTimer(self)  # many changes in one event-loop pass render once
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.render)

    # -------------------------------------------------------------- frames
    def schedule(self) -> None:
        self._timer.start()

    def render(self) -> QImage:
        """Render now and keep the frame for painting; returns it."""
        self._timer.stop()
        ratio = self.devicePixelRatioF()
        width, height = max(int(self.width() * ratio), 16), max(int(self.height() * ratio), 16)
        if tuple(self.window.GetSize()) != (width, height):
            self.window.SetSize(width, height)
        self.window.Render()
        pixels = vtkUnsignedCharArray()
        self.window.GetRGBACharPixelData(0, 0, width - 1, height - 1, 0, pixels)
        # RGB only: the background's alpha is 0, which would make saved screenshots transparent.
        rgb = np.ascontiguousarray(np.flipud(vtk_to_numpy(pixels).reshape(height, width, 4))[..., :3])
        self.frame = QImage(rgb.data, width, height, 3 * width, QImage.Format_RGB888).copy()
        self.frame.setDevicePixelRatio(ratio)
        self.update()
        return self.frame

    def array(self) -> np.ndarray:
        """The current frame as an (h, w, 3) uint8 array (rendered if needed)."""
        frame = self.render().convertToFormat(QImage.Format_RGB888)
        data = np.frombuffer(frame.constBits(), np.uint8, frame.sizeInBytes())
        return data.reshape(frame.height(), frame.bytesPerLine())[:, :frame.width() * 3].reshape(
            frame.height(), frame.width(), 3).copy()

    def save_png(self, path) -> bool:
        return self.render().save(str(path), "PNG")

    def reset_camera(self) -> None:
        camera = self.renderer.GetActiveCamera()
        camera.SetFocalPoint(0, 0, 0)
        camera.SetPosition(0, -1, 0.6)  # looking at the slab from a little above, z up
        camera.SetViewUp(0, 0, 1)
        self.renderer.ResetCamera()
        self.schedule()

    def paintEvent(self, event):
        painter = QPainter(self)
        if self.frame is None:
            painter.fillRect(self.rect(), Qt.black)
        else:
            painter.drawImage(0, 0, self.frame)
        painter.end()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.schedule()

    def showEvent(self, event):
        super().showEvent(event)
        self.schedule()

    # ---------------------------------------------------------------- input
    def _event_info(self, event) -> None:
        ratio = self.devicePixelRatioF()
        pos = event.position()
        modifiers = event.modifiers()
        self.interactor.SetEventInformationFlipY(int(pos.x() * ratio), int(pos.y() * ratio),
                                                 int(bool(modifiers & Qt.ControlModifier)),
                                                 int(bool(modifiers & Qt.ShiftModifier)))

    def mousePressEvent(self, event):
        self._event_info(event)
        button = event.button()
        if button == Qt.LeftButton:
            self.interactor.LeftButtonPressEvent()  # rotate; Shift: pan; Ctrl: spin
        elif button == Qt.RightButton:
            self.interactor.RightButtonPressEvent()  # zoom
        elif button == Qt.MiddleButton:
            self.interactor.MiddleButtonPressEvent()  # pan

    def mouseReleaseEvent(self, event):
        self._event_info(event)
        button = event.button()
        if button == Qt.LeftButton:
            self.interactor.LeftButtonReleaseEvent()
        elif button == Qt.RightButton:
            self.interactor.RightButtonReleaseEvent()
        elif button == Qt.MiddleButton:
            self.interactor.MiddleButtonReleaseEvent()

    def mouseMoveEvent(self, event):
        self._event_info(event)
        self.interactor.MouseMoveEvent()

    def wheelEvent(self, event):
        self._event_info(event)
        if event.angleDelta().y() > 0:
            self.interactor.MouseWheelForwardEvent()
        elif event.angleDelta().y() < 0:
            self.interactor.MouseWheelBackwardEvent()
        event.accept()

    def close_vtk(self) -> None:
        """Free the GL context explicitly (VTK complains if Python tears it down late)."""
        self.window.Finalize()
