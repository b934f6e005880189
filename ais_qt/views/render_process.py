"""The 3D renderer, in a process of its own.

Why a process: Mesa's software OpenGL (and AMD's radeonsi) load LLVM as a shared library with
global symbols, and TensorFlow carries its own LLVM; in one process the two copies bind to each
other's symbols and the program crashes (whichever is loaded first). So VTK and OpenGL live here,
never in the application's process; a graphics-driver crash also cannot take annotations with it.

The application sends scene updates and mouse events through a pipe and gets RGB frames back
(``RenderClient``); ``serve`` is the other end, run with multiprocessing's spawn start method.
"""

from __future__ import annotations

import multiprocessing
import os
import sys

import numpy as np


class RenderError(RuntimeError):
    """The render process is gone (e.g. the graphics driver crashed)."""


class RenderClient:
    """Talks to the render process; starts it on first use."""

    def __init__(self):
        self.process = None
        self.conn = None

    def call(self, *message):
        if self.process is None or not self.process.is_alive():
            try:
                self._start()
            except (OSError, RuntimeError) as e:
                self.process, self.conn = None, None
                raise RenderError(f"the 3D renderer could not start ({e})") from None
        try:
            self.conn.send(message)
            reply = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as e:
            self.close()
            raise RenderError(f"the 3D renderer stopped ({e or 'no reply'})") from None
        if isinstance(reply, tuple) and reply and reply[0] == "error":
            raise RenderError(reply[1])
        return reply

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # a clean interpreter: no TensorFlow inside
        parent, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child,), name="ais-qt-render", daemon=True)
        self.process.start()
        child.close()
        self.conn = parent

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.send(("quit",))
            except (OSError, BrokenPipeError):
                pass
            self.conn.close()
        if self.process is not None:
            self.process.join(timeout=3)
            if self.process.is_alive():
                self.process.kill()
        self.process, self.conn = None, None


# ------------------------------------------------------------------ the render process
EVENTS = {"left_press": "LeftButtonPressEvent", "left_release": "LeftButtonReleaseEvent",
          "right_press": "RightButtonPressEvent", "right_release": "RightButtonReleaseEvent",
          "middle_press": "MiddleButtonPressEvent", "middle_release": "MiddleButtonReleaseEvent",
          "move": "MouseMoveEvent", "wheel_forward": "MouseWheelForwardEvent",
          "wheel_backward": "MouseWheelBackwardEvent"}
BACKGROUND = (0.11, 0.12, 0.14)


def serve(conn) -> None:
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        # No X server: go straight to EGL instead of VTK first trying X and printing a warning.
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text rendering backend)
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL backend)
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
    from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow
    from vtkmodules.vtkRenderingUI import vtkGenericRenderWindowInteractor

    from ais_qt.views.render_scene import RenderScene

    renderer = vtkRenderer()
    renderer.SetBackground(*BACKGROUND)
    markers = vtkRenderer()  # a layer on top: particle markers stay visible inside their surfaces
    markers.SetLayer(1)
    markers.SetActiveCamera(renderer.GetActiveCamera())
    markers.InteractiveOff()
    window = vtkRenderWindow()
    window.SetOffScreenRendering(True)
    window.SetNumberOfLayers(2)
    window.AddRenderer(renderer)
    window.AddRenderer(markers)
    window.SetSize(400, 400)
    interactor = vtkGenericRenderWindowInteractor()
    interactor.SetRenderWindow(window)
    interactor.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
    interactor.Initialize()
    scene = RenderScene(renderer, markers)

    def frame():
        window.Render()
        width, height = window.GetSize()
        pixels = vtkUnsignedCharArray()
        window.GetRGBACharPixelData(0, 0, width - 1, height - 1, 0, pixels)
        # RGB only: the background's alpha is 0, which would make saved screenshots transparent.
        rgb = np.flipud(vtk_to_numpy(pixels).reshape(height, width, 4))[..., :3]
        return width, height, np.ascontiguousarray(rgb).tobytes()

    def reset():
        camera = renderer.GetActiveCamera()
        camera.SetFocalPoint(0, 0, 0)
        camera.SetPosition(0, -1, 0.6)  # looking at the slab from a little above, z up
        camera.SetViewUp(0, 0, 1)
        renderer.ResetCamera()

    handlers = {
        "size": lambda w, h: window.SetSize(max(int(w), 16), max(int(h), 16)),
        "surface": scene.set_surface,
        "slice": scene.set_slice,
        "particles": scene.set_particles,
        "reset": reset,
        "event": lambda kind, x, y, ctrl, shift: (interactor.SetEventInformationFlipY(x, y, ctrl, shift),
                                                  getattr(interactor, EVENTS[kind])()),
        "camera": lambda: renderer.GetActiveCamera().GetPosition(),
        "frame": frame,
    }
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message[0] == "quit":
            break
        try:
            reply = handlers[message[0]](*message[1:])
            if message[0] not in ("frame", "camera"):
                reply = None
        except Exception as e:  # noqa: BLE001 - reported to the application, which shows it
            reply = ("error", f"{type(e).__name__}: {e}")
        conn.send(reply)
    window.Finalize()
